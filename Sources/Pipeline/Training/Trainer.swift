import Foundation

/// How a call to `Trainer.run` ended.
public enum TrainingOutcome: Sendable {
  /// All updates are done; `summary.json` and the final checkpoint are written.
  case completed(TrainingSummary)
  /// Stopped on request at `update`; `checkpoint` holds that state (nil when no update has been done yet).
  case interrupted(update: Int, checkpoint: String?)
}

/// The final figures of a run, as written to `summary.json`.
public struct TrainingSummary: Sendable {
  /// Updates done.
  public let updates: Int
  /// Wall time of the whole run (over all its sessions when resumed), evaluations and saving included.
  public let wallSeconds: Double
  /// The final evaluation, over the whole test split.
  public let test: Evaluation
  /// The last log interval's training averages.
  public let train: MetricsRecord?
  /// The final checkpoint.
  public let checkpointPath: String
  /// The final reconstruction grid.
  public let reconstructionPath: String
  /// Codes restarted from encoder outputs over the whole run.
  public let deadCodesRestarted: Int

  /// The summary as a JSON object, one key per line.
  var json: String {
    var fields: [(String, JSONScalar)] = [
      ("updates", .integer(updates)), ("wall_seconds", .rounded(wallSeconds)), ("test_images", .integer(test.images)),
      ("test_loss", .rounded(test.loss)), ("test_normalized_mse", .rounded(test.normalizedMSE)),
      ("test_psnr_db", .rounded(test.psnr)), ("test_codes_used", .integer(test.codesUsed)),
      ("test_perplexity", .rounded(test.perplexity)), ("dead_codes_restarted", .integer(deadCodesRestarted)),
    ]
    if let train {
      fields += [
        ("train_loss", .rounded(train.loss)), ("train_recon_error", .rounded(train.reconstructionError)),
        ("train_perplexity", .rounded(train.perplexity)), ("train_codes_used", .rounded(train.codesUsed)),
        ("train_updates_per_s", train.updatesPerSecond.map { .rounded($0) } ?? .null),
      ]
    }
    fields += [("checkpoint", .string(checkpointPath)), ("reconstructions", .string(reconstructionPath))]
    return JSONText.object(fields, pretty: true)
  }
}

/// Trains a VQ-VAE as the classic recipe does (Adam with amsgrad, MSE / data variance + quantizer loss), writing a
/// run folder (see `RunFolder`) with checkpoints, metrics, reconstruction grids, the loss plot and a summary.
public final class Trainer {
  /// The effective configuration (with `in_channels` from the data).
  public let configuration: TrainingConfiguration
  /// The images.
  public let data: TrainingData
  /// Where the run's files go.
  public let folder: RunFolder
  /// The model being trained.
  public let model: VQVAE
  /// Its optimiser.
  public let optimizer: Adam
  /// Where to show progress; nil trains silently.
  public var reporter: ProgressReporter?
  /// Updates done so far.
  public private(set) var update: Int
  /// The order of the training images.
  public private(set) var sampler: BatchSampler
  /// The generator of the codebook's upkeep (k-means start, dead-code restarts), apart from the data order's so
  /// that turning those on does not change the batches.
  public private(set) var codebookRNG: RandomGenerator

  private let metrics: MetricsLog<MetricsRecord>
  private let sample: ReconstructionSample
  /// The configuration and data facts as one JSON line, stored in every checkpoint.
  private let configurationJSON: String
  /// Wall time of the run's earlier sessions.
  private let earlierWallSeconds: Double
  /// The newest checkpoint on disk, the state a NaN loss falls back to.
  private var lastCheckpoint: (path: String, update: Int)?

  /// Sets up a run as `vqvae-train` does: the configuration from defaults, `configFile` and `overrides` (the flags),
  /// then the data, then a new run folder; or, with `resume` (a run folder or checkpoint file), the run's latest
  /// checkpoint with its configuration as the base that `configFile` and `overrides` change.
  /// - Throws: `TrainingError` for bad settings, folders and checkpoints (naming the flag, key or file), and
  ///   `DatasetError` for missing or broken data. Nothing is written before all checks have passed.
  public convenience init(
    configFile: String?, overrides: [(TrainingConfiguration.Key, ConfigValue)], resume: String? = nil
  ) throws {
    guard let resume else {
      var configuration = try TrainingConfiguration.resolve(configFile: configFile, overrides: overrides)
      configuration.dataDir = configuration.dataDir ?? configuration.dataset.defaultDataDirectory
      let data = try TrainingData.load(configuration)
      try Self.checkCodebookStart(configuration, data)
      let path = configuration.outputDir ?? RunFolder.defaultPath(dataset: configuration.dataset)
      configuration.outputDir = path
      try self.init(configuration: configuration, data: data, folder: try RunFolder.create(path))
      return
    }
    let (folder, checkpoint) = try RunFolder.open(resuming: resume)
    var configuration = try TrainingConfiguration.resolve(
      base: checkpoint.configuration, configFile: configFile, overrides: overrides)
    guard configuration.outputDir == checkpoint.configuration.outputDir else {
      throw TrainingError(
        "\(configuration.describe(.outputDir)) cannot be combined with --resume: a resumed run goes on in its own "
          + "folder (\(folder.path))")
    }
    configuration.outputDir = folder.path  // the folder may have moved since the run started
    let data = try TrainingData.load(configuration)
    try self.init(configuration: configuration, data: data, folder: folder, resumingFrom: checkpoint)
  }

  /// Sets up a run on given data in an existing folder: a fresh model from the configuration's seed, or the state of
  /// `checkpoint`. Writes `config.json` and opens `metrics.jsonl` (keeping the lines up to the checkpoint).
  /// - Throws: `TrainingError` if the checkpoint was trained with another architecture, on other data, or has
  ///   already reached `n_updates`.
  public init(
    configuration: TrainingConfiguration, data: TrainingData, folder: RunFolder,
    resumingFrom checkpoint: TrainingCheckpoint? = nil
  ) throws {
    var configuration = configuration
    configuration.model.inChannels = data.train.channels
    try Self.checkCodebookStart(configuration, data)
    var rng = RandomGenerator(seed: UInt64(configuration.seed))
    let model = VQVAE(configuration.model, rng: &rng)
    model.quantizer.configure(configuration.codebook)
    // An EMA codebook is no parameter of the optimiser's: the moving averages set it.
    let codebook = model.quantizer.codebook.weight
    let trainable =
      configuration.codebook.update == .ema
      ? model.namedParameters.filter { $0.tensor !== codebook } : model.namedParameters
    self.model = model
    optimizer = Adam(parameters: trainable, learningRate: configuration.learningRate, amsgrad: true)
    if let checkpoint {
      let differences = configuration.architectureDifferences(from: checkpoint.configuration)
      guard differences.isEmpty else {
        throw TrainingError(
          "--resume \(folder.path): the run was trained with \(differences.joined(separator: ", ")); a resumed run "
            + "keeps its model, so drop those settings or start a new run")
      }
      guard checkpoint.update < configuration.updates else {
        throw TrainingError(
          "--resume \(folder.path): \(checkpoint.path) has already done \(checkpoint.update) of n_updates "
            + "\(configuration.updates); pass a larger --n-updates to train further")
      }
      try checkpoint.restore(model: model, optimizer: optimizer)
      sampler = try checkpoint.sampler(count: data.train.count)
      codebookRNG = try checkpoint.codebookGenerator() ?? Self.codebookGenerator(seed: configuration.seed)
      update = checkpoint.update
      earlierWallSeconds = checkpoint.wallSeconds
      lastCheckpoint = (checkpoint.path, checkpoint.update)
    } else {
      sampler = BatchSampler(count: data.train.count, rng: rng)
      codebookRNG = Self.codebookGenerator(seed: configuration.seed)
      update = 0
      earlierWallSeconds = 0
    }
    let fields = configuration.fields + data.fields(downsamples: configuration.model.downsamples)
    configurationJSON = JSONText.object(fields)
    try JSONText.write(JSONText.object(fields, pretty: true), to: folder.configPath)
    metrics = try MetricsLog(path: folder.metricsPath, keepingThrough: checkpoint?.update)
    sample = ReconstructionSample(test: data.test)
    (self.configuration, self.data, self.folder) = (configuration, data, folder)
  }

  /// Trains until `n_updates`, then evaluates on the whole test split and writes the final checkpoint and summary.
  /// - Parameter stopRequested: polled before every update; when it returns true, the state is saved as
  ///   `vqvae-<update>.safetensors` and the run returns `.interrupted`.
  /// - Throws: `TrainingError` if the loss stops being finite (the update is named; no checkpoint is written after
  ///   the last good one) or a file cannot be written.
  public func run(stopRequested: () -> Bool = { false }) throws -> TrainingOutcome {
    let sessionStart = Self.now()
    func wallSeconds() -> Double { earlierWallSeconds + Self.now() - sessionStart }
    let (total, variance, train) = (configuration.updates, Float(data.variance), data.train)
    // One input tensor and index buffer for the whole run; each batch is written into them in place.
    let input = Tensor(zeros: [configuration.batchSize, train.channels, train.height, train.width])
    var indices = [Int](repeating: 0, count: configuration.batchSize)
    var interval = IntervalAverages(codes: configuration.model.embeddings)
    if update == 0 && configuration.codebook.initialization == .kmeans { try initializeCodebookByKMeans() }

    while update < total {
      if stopRequested() {
        if lastCheckpoint?.update != update { try saveCheckpoint(folder.checkpointPath(update: update), wallSeconds()) }
        return .interrupted(update: update, checkpoint: lastCheckpoint?.path)
      }
      let stepStart = Self.now()
      sampler.next(into: &indices)
      input.data.withUnsafeMutableBufferPointer { train.fillBatch(indices: indices, into: $0) }
      optimizer.zeroGrad()
      let (loss, reconstructionError, _, quantization) = try model.loss(input, dataVariance: variance)
      guard loss.scalarValue.isFinite else {
        throw divergence("update \(update + 1): the loss is \(loss.scalarValue), not a finite number")
      }
      try loss.backward()
      optimizer.update()
      let restarted = model.quantizer.maintainCodebook(
        encoderOutputs: quantization.encoderOutputs, indices: quantization.indices, rng: &codebookRNG)
      update += 1
      interval.add(
        loss: loss.scalarValue, reconstructionError: reconstructionError.scalarValue,
        perplexity: quantization.perplexity, codes: quantization.indices, restarted: restarted,
        seconds: Self.now() - stepStart)
      reporter?.status(interval.record(update: update).progressLine(total: total), final: update == total)

      if update % configuration.logInterval == 0 || update == total {
        let record = interval.record(update: update)
        try metrics.append(record)
        reporter?.logged(record.progressLine(total: total))
        interval = IntervalAverages(codes: configuration.model.embeddings)
      }
      if configuration.evalEvery > 0 && update % configuration.evalEvery == 0 && update < total {
        try evaluate(maxBatches: configuration.evalBatches)
      }
      if configuration.saveEvery > 0 && update % configuration.saveEvery == 0 && update < total {
        try saveCheckpoint(folder.checkpointPath(update: update), wallSeconds())
      }
    }

    let test = try evaluate(maxBatches: nil)
    let finalPath = folder.checkpointPath(update: nil)
    try saveCheckpoint(finalPath, wallSeconds())
    let summary = TrainingSummary(
      updates: update, wallSeconds: wallSeconds(), test: test, train: metrics.records.last { $0.split == "train" },
      checkpointPath: finalPath, reconstructionPath: folder.reconstructionPath(update: update),
      deadCodesRestarted: metrics.records.compactMap(\.deadCodesRestarted).reduce(0, +))
    try JSONText.write(summary.json, to: folder.summaryPath)
    return .completed(summary)
  }

  /// Evaluates on the test split (its first `maxBatches` batches, or all of it), logs it, and redraws the
  /// reconstruction grid and the loss plot.
  @discardableResult
  private func evaluate(maxBatches: Int?) throws -> Evaluation {
    let evaluation = try Evaluation(
      model: model, dataset: data.test, dataVariance: data.variance, maxBatches: maxBatches)
    try metrics.append(evaluation.record(update: update))
    try sample.grid(model: model).write(to: folder.reconstructionPath(update: update))
    try evaluation.usagePlot(update: update).write(to: folder.codeUsagePath(update: update))
    try lossPlot(metrics.records).write(to: folder.lossPlotPath)
    reporter?.message(
      String(
        format: "test @ %d: loss %.4f  normalised MSE %.4f  PSNR %.2f dB  codes used %d/%d  perplexity %.1f",
        update, evaluation.loss, evaluation.normalizedMSE, evaluation.psnr, evaluation.codesUsed,
        configuration.model.embeddings, evaluation.perplexity))
    return evaluation
  }

  private func saveCheckpoint(_ path: String, _ wallSeconds: Double) throws {
    // A finite loss can still come with a NaN gradient; never let such weights replace a good checkpoint.
    guard model.parameters.allSatisfy({ $0.data.allSatisfy(\.isFinite) }) else {
      throw divergence("update \(update): the weights are no longer finite numbers")
    }
    try TrainingCheckpoint.write(
      to: path, update: update, model: model, optimizer: optimizer, sampler: sampler, codebookRNG: codebookRNG,
      configurationJSON: configurationJSON, wallSeconds: wallSeconds)
    lastCheckpoint = (path, update)
  }

  /// The error for a run whose numbers stopped being finite (`what` says where), pointing at the last good checkpoint.
  private func divergence(_ what: String) -> TrainingError {
    let fallback =
      lastCheckpoint.map {
        "The last good checkpoint, \($0.path) (update \($0.update)), is kept; resume from it with --resume "
          + "\(folder.path) and a lower --learning-rate."
      } ?? "No checkpoint was saved before it; start again with a lower --learning-rate."
    return TrainingError("\(what); training stopped. \(fallback)")
  }

  /// Starts the codebook at k-means centres of the encoder's outputs for enough training images (picked by the
  /// codebook's generator) to give about 20 outputs per code.
  private func initializeCodebookByKMeans() throws {
    let train = data.train
    let grid = configuration.model.latentGrid(height: train.height, width: train.width)
    let perImage = grid.height * grid.width
    let wanted = min(
      train.count, max(configuration.batchSize, (20 * configuration.model.embeddings + perImage - 1) / perImage))
    let chosen = Array(codebookRNG.permutation(train.count).prefix(wanted))
    let d = configuration.model.embeddingDim
    var rows = [[Float]](repeating: [], count: d)
    try withoutGrad {
      for start in stride(from: 0, to: chosen.count, by: Evaluation.defaultBatchSize) {
        let batch = Array(chosen[start..<min(start + Evaluation.defaultBatchSize, chosen.count)])
        let images = try Tensor(
          train.batch(indices: batch), shape: [batch.count, train.channels, train.height, train.width])
        let z = try model.encode(images)
        let width = z.count / d
        for c in 0..<d { rows[c] += z.data[(c * width)..<((c + 1) * width)] }
      }
    }
    try model.quantizer.initializeByKMeans(
      try Tensor(rows.flatMap { $0 }, shape: [d, rows[0].count]), rng: &codebookRNG)
    reporter?.message(
      "codebook: k-means (10 iterations) on \(rows[0].count) encoder outputs of \(chosen.count) training images")
  }

  /// Checks that k-means has enough encoder outputs (one per latent position of the training images) for K codes.
  /// - Throws: `TrainingError` naming the flag.
  static func checkCodebookStart(_ configuration: TrainingConfiguration, _ data: TrainingData) throws {
    let grid = configuration.model.latentGrid(height: data.train.height, width: data.train.width)
    let outputs = data.train.count * grid.height * grid.width
    let codes = configuration.model.embeddings
    guard configuration.codebook.initialization != .kmeans || outputs >= codes else {
      throw TrainingError(
        "\(configuration.describe(.codebookInit)) kmeans needs at least as many encoder outputs as codes, but "
          + "\(data.train.count) training images give \(outputs) for \(codes) codes; use more images or a "
          + "smaller n_embeddings")
    }
  }

  /// The codebook's generator of a fresh run: seeded apart from the data order's.
  private static func codebookGenerator(seed: Int) -> RandomGenerator {
    RandomGenerator(seed: UInt64(seed) ^ 0xC0DE_B00C)
  }

  private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
}

/// Running sums over one log interval.
private struct IntervalAverages {
  private var updates = 0
  private var loss = 0.0
  private var reconstructionError = 0.0
  private var perplexity = 0.0
  /// Which codes the interval's batches used.
  private var used: [Bool]
  private var restarted = 0
  private var seconds = 0.0

  init(codes: Int) { used = [Bool](repeating: false, count: codes) }

  mutating func add(
    loss: Float, reconstructionError: Float, perplexity: Float, codes: [Int], restarted: Int, seconds: Double
  ) {
    updates += 1
    self.loss += Double(loss)
    self.reconstructionError += Double(reconstructionError)
    self.perplexity += Double(perplexity)
    for code in codes { used[code] = true }
    self.restarted += restarted
    self.seconds += seconds
  }

  /// The interval's averages (and its distinct codes and restarts) as a training line.
  func record(update: Int) -> MetricsRecord {
    let n = Double(max(updates, 1))
    return MetricsRecord(
      split: "train", update: update, loss: loss / n, reconstructionError: reconstructionError / n,
      perplexity: perplexity / n, codesUsed: Double(used.filter { $0 }.count),
      updatesPerSecond: seconds > 0 ? Double(updates) / seconds : nil, deadCodesRestarted: restarted)
  }
}
