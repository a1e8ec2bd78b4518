import Foundation

/// How a call to `PriorTrainer.run` ended.
public enum PriorTrainingOutcome: Sendable {
  /// All updates are done; `summary.json`, the final checkpoint and the sample grid are written.
  case completed(PriorSummary)
  /// Stopped on request at `update`; `checkpoint` holds the weights (nil before the first update).
  case interrupted(update: Int, checkpoint: String?)
}

/// The final figures of a prior's run, as written to `summary.json`.
public struct PriorSummary: Sendable {
  public let updates: Int
  public let epochs: Int
  public let wallSeconds: Double
  /// The last log interval's training averages.
  public let train: PriorMetricsRecord?
  /// The final evaluation, over the whole test split.
  public let test: PriorEvaluation
  /// log2 K: the bits per latent of a uniform guess.
  public let uniformBitsPerLatent: Double
  /// Latent positions per grid.
  public let gridSize: Int
  public let checkpointPath: String
  /// The sample grid, when a VQ-VAE to decode with was found.
  public let samplesPath: String?

  var json: String {
    var fields: [(String, JSONScalar)] = [
      ("updates", .integer(updates)), ("epochs", .integer(epochs)), ("wall_seconds", .rounded(wallSeconds)),
    ]
    if let train {
      fields += [
        ("train_bits_per_latent", .rounded(train.bitsPerLatent)), ("train_accuracy", .rounded(train.accuracy)),
      ]
    }
    fields += [
      ("test_grids", .integer(test.grids)), ("test_bits_per_latent", .rounded(test.bitsPerLatent)),
      ("test_bits_per_image", .rounded(test.bitsPerLatent * Double(gridSize))),
      ("test_accuracy", .rounded(test.accuracy)), ("uniform_bits_per_latent", .rounded(uniformBitsPerLatent)),
      ("checkpoint", .string(checkpointPath)), ("samples", samplesPath.map { .string($0) } ?? .null),
    ]
    return JSONText.object(fields, pretty: true)
  }
}

/// Fits the gated PixelCNN prior to a LATENT_BLOCK (Adam, mean cross-entropy over the grids' positions), writing a
/// prior folder (see `PriorFolder`): checkpoints, metrics, the loss plot, a summary and a sample grid.
public final class PriorTrainer {
  public let configuration: PriorTrainingConfiguration
  /// The LATENT_BLOCK folder and its grids (cut to the configured limits).
  public let latentsPath: String
  public let latents: LatentBlock
  public let folder: PriorFolder
  public let model: GatedPixelCNN
  public let optimizer: Adam
  /// Updates in the whole run.
  public let totalUpdates: Int
  /// The epochs those updates reach (fewer than configured when `n_updates` caps the run).
  public let plannedEpochs: Int
  /// Where to show progress; nil trains silently.
  public var reporter: ProgressReporter?
  /// Updates done so far.
  public private(set) var update = 0
  private var sampler: BatchSampler
  private let metrics: MetricsLog<PriorMetricsRecord>

  /// Sets up a run as `gated-pixelcnn` does: the configuration from defaults, `configFile` and `overrides` (the
  /// flags), the LATENT_BLOCK (by default the newest finished run's `latents/`), and a new prior folder (by default
  /// `prior/` beside the latents).
  /// - Throws: `TrainingError` or `DatasetError` naming the flag, key, file or folder at fault. Nothing is written
  ///   before all checks have passed.
  public convenience init(configFile: String?, overrides: [(PriorTrainingConfiguration.Key, ConfigValue)]) throws {
    var configuration = try PriorTrainingConfiguration.resolve(configFile: configFile, overrides: overrides)
    let latentsPath =
      try configuration.latents ?? (RunFolder.latest().path as NSString).appendingPathComponent("latents")
    var block = try LatentBlock.load(from: latentsPath)
    if configuration.trainLimit != nil || configuration.testLimit != nil {
      block = try LatentBlock(
        train: block.train.prefix(configuration.trainLimit ?? block.train.count, gridSize: block.gridSize),
        test: block.test.prefix(configuration.testLimit ?? block.test.count, gridSize: block.gridSize),
        codebookSize: block.codebookSize, height: block.height, width: block.width, classCount: block.classCount,
        dataset: block.dataset, checkpoint: block.checkpoint, source: latentsPath)
    }
    let outputPath =
      configuration.outputDir
      ?? ((latentsPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("prior")
    (configuration.latents, configuration.outputDir) = (latentsPath, outputPath)
    try self.init(configuration: configuration, latents: block, latentsPath: latentsPath, folder: .create(outputPath))
  }

  /// Sets up a run on a loaded LATENT_BLOCK in an existing folder: a fresh model from the configuration's seed.
  /// Writes `config.json` and starts `metrics.jsonl`.
  /// - Throws: `TrainingError` if a file cannot be written.
  public init(
    configuration: PriorTrainingConfiguration, latents: LatentBlock, latentsPath: String, folder: PriorFolder
  ) throws {
    let classes = configuration.classConditioning ? latents.classCount : 0
    var rng = RandomGenerator(seed: UInt64(configuration.seed))
    model = GatedPixelCNN(
      PriorConfiguration(
        codes: latents.codebookSize, dim: configuration.dim, layers: configuration.layers, classes: classes,
        headHidden: configuration.headHidden), rng: &rng)
    optimizer = Adam(parameters: model.namedParameters, learningRate: configuration.learningRate)
    sampler = BatchSampler(count: latents.train.count, rng: rng)
    let perEpoch = (latents.train.count + configuration.batchSize - 1) / configuration.batchSize
    totalUpdates = min(configuration.updates ?? Int.max, configuration.epochs * perEpoch)
    plannedEpochs = (totalUpdates + perEpoch - 1) / perEpoch
    let fields =
      configuration.fields + [
        ("n_embeddings", .integer(latents.codebookSize)), ("n_classes", .integer(classes)),
        ("grid_shape", .integers([latents.height, latents.width])),
        ("vqvae_checkpoint", latents.checkpoint.map { .string($0) } ?? .null),
      ]
    try JSONText.write(JSONText.object(fields, pretty: true), to: folder.configPath)
    metrics = try MetricsLog(path: folder.metricsPath, keepingThrough: nil)
    (self.configuration, self.latents, self.latentsPath, self.folder) = (configuration, latents, latentsPath, folder)
  }

  /// Trains for `totalUpdates`, evaluates on the whole test split, writes the final checkpoint and summary, and
  /// draws the sample grid.
  /// - Parameter stopRequested: polled before every update; when it returns true, the weights are saved as
  ///   `prior-<update>.safetensors` and the run returns `.interrupted`.
  /// - Throws: `TrainingError` if the loss stops being finite (no checkpoint is written after the last good one) or
  ///   a file cannot be written.
  public func run(stopRequested: () -> Bool = { false }) throws -> PriorTrainingOutcome {
    let start = DispatchTime.now().uptimeNanoseconds
    func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }
    let (batch, size, train) = (configuration.batchSize, latents.gridSize, latents.train)
    var rows = [Int](repeating: 0, count: batch)
    var indices = [Int](repeating: 0, count: batch * size)
    var labels = [Int](repeating: 0, count: batch)
    var interval = (updates: 0, loss: 0.0, hits: 0, seconds: 0.0)
    var lastCheckpoint: (path: String, update: Int)?
    func save(_ path: String) throws {
      try PriorCheckpoint.write(
        model, to: path, grid: (latents.height, latents.width), update: update, latents: latentsPath,
        vqvaeCheckpoint: latents.checkpoint)
      lastCheckpoint = (path, update)
    }

    while update < totalUpdates {
      if stopRequested() {
        if update > 0, lastCheckpoint?.update != update { try save(folder.checkpointPath(update: update)) }
        return .interrupted(update: update, checkpoint: lastCheckpoint?.path)
      }
      let stepStart = DispatchTime.now().uptimeNanoseconds
      sampler.next(into: &rows)
      for (slot, row) in rows.enumerated() {
        for p in 0..<size { indices[slot * size + p] = train.indices[row * size + p] }
        if !train.labels.isEmpty { labels[slot] = train.labels[row] }
      }
      optimizer.zeroGrad()
      let (loss, logits) = try model.loss(
        indices, batch: batch, height: latents.height, width: latents.width,
        labels: model.configuration.classes > 0 ? labels : nil)
      guard loss.scalarValue.isFinite else {
        let fallback =
          lastCheckpoint.map { "the last good checkpoint, \($0.path) (update \($0.update)), is kept" }
          ?? "no checkpoint was saved before it"
        throw TrainingError(
          "update \(update + 1): the loss is \(loss.scalarValue), not a finite number; training stopped and "
            + "\(fallback). Train again with a lower --learning-rate.")
      }
      try loss.backward()
      optimizer.update()
      update += 1
      interval.updates += 1
      interval.loss += Double(loss.scalarValue)
      interval.hits += topOneHits(channelMajorLogits: logits, targets: indices)
      interval.seconds += seconds(since: stepStart)
      let record = PriorMetricsRecord(
        split: "train", update: update, epoch: sampler.epoch, loss: interval.loss / Double(interval.updates),
        accuracy: Double(interval.hits) / Double(interval.updates * batch * size),
        updatesPerSecond: Double(interval.updates) / interval.seconds)
      let line = record.progressLine(total: totalUpdates, epochs: plannedEpochs)
      reporter?.status(line, final: update == totalUpdates)
      if update % configuration.logInterval == 0 || update == totalUpdates {
        try metrics.append(record)
        reporter?.logged(line)
        interval = (0, 0, 0, 0)
      }
      if configuration.evalEvery > 0 && update % configuration.evalEvery == 0 && update < totalUpdates {
        try evaluate(maxBatches: configuration.evalBatches)
      }
      if configuration.saveEvery > 0 && update % configuration.saveEvery == 0 && update < totalUpdates {
        try save(folder.checkpointPath(update: update))
      }
    }

    let test = try evaluate(maxBatches: nil)
    let finalPath = folder.checkpointPath(update: nil)
    try save(finalPath)
    func summary(samples: String?) -> PriorSummary {
      PriorSummary(
        updates: update, epochs: sampler.epoch, wallSeconds: seconds(since: start),
        train: metrics.records.last { $0.split == "train" }, test: test,
        uniformBitsPerLatent: log2(Double(latents.codebookSize)), gridSize: size, checkpointPath: finalPath,
        samplesPath: samples)
    }
    // The figures are written before the grid is drawn, so that a VQ-VAE that cannot decode does not lose them.
    try JSONText.write(summary(samples: nil).json, to: folder.summaryPath)
    let final = summary(samples: try drawSamples())
    try JSONText.write(final.json, to: folder.summaryPath)
    return .completed(final)
  }

  /// Evaluates on the test split (its first `maxBatches` batches, or all of it), logs it and redraws the loss plot.
  @discardableResult
  private func evaluate(maxBatches: Int?) throws -> PriorEvaluation {
    let evaluation = try PriorEvaluation(
      model: model, split: latents.test, height: latents.height, width: latents.width, maxBatches: maxBatches)
    try metrics.append(evaluation.record(update: update, epoch: sampler.epoch))
    try priorLossPlot(metrics.records).write(to: folder.lossPlotPath)
    reporter?.message(
      String(
        format: "test @ %d: %.4f bits/latent (%.1f bits/image, uniform %.2f)  accuracy %.3f  (%d grids)", update,
        evaluation.bitsPerLatent, evaluation.bitsPerLatent * Double(latents.gridSize),
        log2(Double(latents.codebookSize)), evaluation.accuracy, evaluation.grids))
    return evaluation
  }

  /// Draws the 10x10 sample grid with the VQ-VAE that made the latents; nil (with a message) when it is not there.
  private func drawSamples() throws -> String? {
    guard let checkpoint = latents.checkpoint, FileManager.default.fileExists(atPath: checkpoint) else {
      reporter?.message("no sample grid: the VQ-VAE checkpoint named in latents.json is not there")
      return nil
    }
    let vqvae = try TrainingCheckpoint(contentsOf: checkpoint).model()
    let grid = try SampleGrid(
      prior: model, vqvae: vqvae, rows: 10, columns: 10, seed: UInt64(configuration.seed),
      grid: (latents.height, latents.width))
    try grid.image.write(to: folder.samplesPath)
    return folder.samplesPath
  }
}

/// The prior's learning curves from its metrics: train and test bits per latent.
public func priorLossPlot(_ records: [PriorMetricsRecord]) -> LinePlot {
  func series(_ name: String, _ split: String) -> PlotSeries {
    let chosen = records.filter { $0.split == split }
    return PlotSeries(name: name, x: chosen.map { Double($0.update) }, y: chosen.map(\.bitsPerLatent))
  }
  return LinePlot(
    title: "Gated PixelCNN prior: bits per latent", xLabel: "update",
    series: [series("train", "train"), series("test", "test")])
}
