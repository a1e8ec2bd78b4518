import Foundation

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

  /// The summary as `summary.json`'s object.
  var json: ConfigValue {
    var fields: [String: ConfigValue] = [
      "updates": .integer(updates), "epochs": .integer(epochs), "wall_seconds": .rounded(wallSeconds),
      "test_grids": .integer(test.grids), "test_bits_per_latent": .rounded(test.bitsPerLatent),
      "test_bits_per_image": .rounded(test.bitsPerLatent * Double(gridSize)), "test_accuracy": .rounded(test.accuracy),
      "uniform_bits_per_latent": .rounded(uniformBitsPerLatent), "checkpoint": .string(checkpointPath),
      "samples": samplesPath.map { .string($0) } ?? .null,
    ]
    if let train {
      fields["train_bits_per_latent"] = .rounded(train.bitsPerLatent)
      fields["train_accuracy"] = .rounded(train.accuracy)
    }
    return .object(fields)
  }
}

/// Fits the gated PixelCNN prior to a LATENT_BLOCK (Adam, mean cross-entropy over the grids' positions), writing a
/// prior folder (see `PriorFolder`): checkpoints, metrics, the loss plot, a summary and a sample grid.
public final class PriorTrainer: TrainingStage {
  public let configuration: PriorTrainingConfiguration
  /// The LATENT_BLOCK folder and its grids (cut to the configured limits).
  public let latentsPath: String
  public let latents: LatentBlock
  public let folder: PriorFolder
  public let model: any Prior
  public let optimizer: Adam
  /// Updates in the whole run.
  public let totalUpdates: Int
  /// The epochs those updates reach (fewer than configured when `n_updates` caps the run).
  public let plannedEpochs: Int
  /// The loop that trains it: update count, schedule, metrics, checkpoints.
  public let loop: TrainingLoop<PriorMetricsRecord>
  private var sampler: BatchSampler
  /// The configuration with the LATENT_BLOCK's facts, as one JSON line, stored in every checkpoint.
  public let configurationJSON: String
  /// One batch's rows (the whole batch's), this rank's grids and labels, reused by every update.
  private var rows: [Int]
  /// This rank's grids of each batch.
  private let share: Range<Int>
  /// The transformer's learning rate by update; nil keeps the configured one (the gated PixelCNN).
  private let schedule: WarmupCosineSchedule?
  private var indices: [Int]
  private var labels: [Int]
  private var interval = (updates: 0, loss: 0.0, hits: 0, seconds: 0.0)
  /// Whether `--resume` found no checkpoint (the prior was stopped before its first) and started it again.
  public private(set) var restarted = false
  /// The last step's logits, for the interval's accuracy.
  private var lastLogits: Tensor?
  /// The latest evaluation, for the summary.
  private var lastEvaluation: PriorEvaluation?

  /// Sets up a run as `gated-pixelcnn` does: the configuration from defaults, `configFile` and `overrides` (the
  /// flags), the LATENT_BLOCK (by default the newest finished run's `latents/`), and a new prior folder (by default
  /// `prior/` beside the latents); or, with `resume` (a prior folder, a run folder holding `prior/`, or a checkpoint
  /// file), the latest checkpoint with its settings as the base that `configFile` and `overrides` change.
  /// - Throws: `TrainingError` or `FileError` naming the flag, key, file or folder at fault. Nothing is written
  ///   before all checks have passed.
  public convenience init(
    configFile: String?, overrides: [(String, ConfigValue)], resume: String? = nil, group: ProcessGroup = .single
  ) throws {
    if let resume {
      let (folder, checkpoint) = try PriorFolder.open(resuming: resume, reopening: group.isLeader)
      let base: PriorTrainingConfiguration
      if let checkpoint {
        guard let settings = checkpoint.settings else {
          throw TrainingError(
            "--resume \(resume): \(checkpoint.path) was written before priors recorded their settings; it samples, "
              + "but cannot be resumed")
        }
        base = settings
      } else {
        // A prior stopped before its first checkpoint starts again from the settings it recorded.
        base = try PriorTrainingConfiguration.resolve(configFile: folder.configPath, overrides: [])
      }
      var configuration = try PriorTrainingConfiguration.resolve(
        base: base, configFile: configFile, overrides: overrides)
      guard configuration.outputDir == base.outputDir else {
        throw TrainingError(
          "\(configuration.describe("output_dir")) cannot be combined with --resume: a resumed prior goes on in its "
            + "own folder (\(folder.path))")
      }
      configuration.outputDir = folder.path
      let (block, latentsPath) = try Self.loadLatents(configuration)
      configuration.latents = latentsPath
      try self.init(
        configuration: configuration, latents: block, latentsPath: latentsPath, folder: folder,
        resumingFrom: checkpoint, group: group)
      restarted = checkpoint == nil
      return
    }
    var configuration = try PriorTrainingConfiguration.resolve(configFile: configFile, overrides: overrides)
    let (block, latentsPath) = try Self.loadLatents(configuration)
    let outputPath =
      configuration.outputDir
      ?? ((latentsPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("prior")
    (configuration.latents, configuration.outputDir) = (latentsPath, outputPath)
    try Self.checkFeasible(configuration, block)
    try self.init(
      configuration: configuration, latents: block, latentsPath: latentsPath,
      folder: group.isLeader ? .create(outputPath) : PriorFolder(path: outputPath), group: group)
  }

  /// The prior that `configuration` trains on `latents`, as its kind and checkpoint architecture: K from the
  /// latents, classes when they have labels and class conditioning is on, the transformer's positions from the grid.
  private static func architecture(
    _ configuration: PriorTrainingConfiguration, _ latents: LatentBlock
  ) -> (kind: String, architecture: [String: String]) {
    let c = configuration.forModel
    let classes = c.classConditioning ? latents.classCount : 0
    switch c.model {
    case .gatedPixelCNN:
      return (
        GatedPixelCNN.kind,
        PriorConfiguration(
          codes: latents.codebookSize, dim: c.dim, layers: c.layers, classes: classes, headHidden: c.headHidden
        ).architecture
      )
    case .transformer:
      return (
        TransformerPrior.kind,
        TransformerConfiguration(
          codes: latents.codebookSize, dim: c.dim, layers: c.layers, heads: c.heads, classes: classes,
          maxPositions: latents.gridSize, dropout: c.dropout, classDropout: classes > 0 ? c.classDropout : 0
        ).architecture
      )
    }
  }

  /// Checks the architecture and that training fits in memory, with K and the classes from `latents.json` and the
  /// sizes from the flags.
  /// - Throws: `TrainingError` naming the setting at fault, or with the estimate and the limit.
  static func checkFeasible(_ configuration: PriorTrainingConfiguration, _ latents: LatentBlock) throws {
    let (kind, architecture) = architecture(configuration, latents)
    let footprint: Footprint
    do {
      footprint = try Priors.footprint(
        kind: kind, architecture: architecture, height: latents.height, width: latents.width)
    } catch {
      throw TrainingError("\(error) (the settings dim, n_layers, heads, dropout)")
    }
    try MemoryEstimate.checkTraining(
      "gated-pixelcnn", footprint, batch: configuration.batchSize, batchName: configuration.describe("batch_size"))
  }

  /// The configured LATENT_BLOCK (by default the newest finished run's `latents/`), cut to the limits.
  private static func loadLatents(_ configuration: PriorTrainingConfiguration) throws -> (LatentBlock, String) {
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
    return (block, latentsPath)
  }

  /// Sets up a run on a loaded LATENT_BLOCK in an existing folder: a fresh model from the configuration's seed, or
  /// the state of `checkpoint`. The leader of `group` writes `config.json` and opens `metrics.jsonl` (keeping the
  /// lines up to the checkpoint).
  /// - Throws: `TrainingError` if the checkpoint was trained with another architecture or on other latents, has
  ///   already reached the run's updates, or a file cannot be written.
  public init(
    configuration: PriorTrainingConfiguration, latents: LatentBlock, latentsPath: String, folder: PriorFolder,
    resumingFrom checkpoint: PriorCheckpoint? = nil, group: ProcessGroup = .single
  ) throws {
    let configuration = configuration.forModel
    try Self.checkFeasible(configuration, latents)
    let (kind, architecture) = Self.architecture(configuration, latents)
    var rng = RandomGenerator(seed: UInt64(configuration.seed))
    let model = try Priors.make(kind: kind, architecture: architecture, rng: &rng)
    let classes = model.classes
    self.model = model
    let perEpoch = (latents.train.count + configuration.batchSize - 1) / configuration.batchSize
    // Saturating: --epochs may be any size, and n_updates then decides.
    let (epochUpdates, overflow) = configuration.epochs.multipliedReportingOverflow(by: perEpoch)
    totalUpdates = min(configuration.updates ?? Int.max, overflow ? Int.max : epochUpdates)
    plannedEpochs = totalUpdates / perEpoch + (totalUpdates % perEpoch == 0 ? 0 : 1)
    // The gated PixelCNN trains as the classic repo does (Adam, a constant rate); the transformer as GPTs do.
    let transformer = model as? TransformerPrior
    if let transformer {
      optimizer = Adam.adamW(
        parameters: model.namedParameters, learningRate: configuration.learningRate,
        weightDecay: configuration.weightDecay, exemptFromWeightDecay: transformer.parametersExemptFromWeightDecay)
      schedule = WarmupCosineSchedule(
        peak: configuration.learningRate, floor: configuration.learningRate / 10,
        warmupSteps: min(configuration.warmupUpdates, totalUpdates), totalSteps: totalUpdates)
    } else {
      optimizer = Adam(parameters: model.namedParameters, learningRate: configuration.learningRate)
      schedule = nil
    }
    if let checkpoint {
      func described(_ architecture: [String: String], kind: String, grid: (height: Int, width: Int)) -> [String:
        String]
      {
        architecture.merging(["model": kind, "grid_height": "\(grid.height)", "grid_width": "\(grid.width)"]) { $1 }
      }
      let mine = described(model.architecture, kind: kind, grid: (latents.height, latents.width))
      let trained = described(checkpoint.architecture, kind: checkpoint.kind, grid: checkpoint.grid)
      let differences = mine.sorted { $0.key < $1.key }.compactMap { key, value in
        trained[key] == value ? nil : "\(key) \(trained[key] ?? "none") (not \(value))"
      }
      guard differences.isEmpty else {
        throw TrainingError(
          "--resume \(folder.path): the prior was trained with \(differences.joined(separator: ", ")); a resumed "
            + "prior keeps its model and latents, so drop those settings or train a new prior")
      }
      guard checkpoint.update < totalUpdates else {
        throw TrainingError(
          "--resume \(folder.path): \(checkpoint.path) has already done \(checkpoint.update) of \(totalUpdates) "
            + "updates; pass a larger --n-updates or --epochs to train further")
      }
      try checkpoint.state.restore(module: model, optimizer: optimizer)
      sampler = try checkpoint.state.sampler(count: latents.train.count)
      if let transformer {
        transformer.dropoutGenerator = try checkpoint.state.generator(PriorCheckpoint.dropoutGeneratorName)
      }
    } else {
      sampler = BatchSampler(count: latents.train.count, rng: rng)
    }
    if let transformer, group.rank > 0 {
      // Each rank draws the dropout masks of its own share of the batch.
      transformer.dropoutGenerator = RandomGenerator(seed: transformer.dropoutGenerator.next() &+ UInt64(group.rank))
    }
    let recorded = ConfigValue.object(
      configuration.values.merging([
        "n_embeddings": .integer(latents.codebookSize), "n_classes": .integer(classes),
        "grid_shape": .array([.integer(latents.height), .integer(latents.width)]),
        "vqvae_checkpoint": latents.checkpoint.map { .string($0) } ?? .null,
        "optimizer": .string(schedule == nil ? "Adam" : "AdamW"),
      ]) { $1 })
    configurationJSON = recorded.jsonText
    if group.isLeader { try JSONFile.write(recorded, to: folder.configPath) }
    loop = try TrainingLoop(
      schedule: TrainingSchedule(
        updates: totalUpdates, logInterval: configuration.logInterval, evalEvery: configuration.evalEvery,
        evalBatches: configuration.evalBatches, saveEvery: configuration.saveEvery,
        tensorBoard: configuration.tensorBoard),
      folder: folder, resumeCommand: "gated-pixelcnn", resumed: checkpoint?.state, group: group)
    share = group.share(of: configuration.batchSize)
    rows = [Int](repeating: 0, count: configuration.batchSize)
    indices = [Int](repeating: 0, count: share.count * latents.gridSize)
    labels = [Int](repeating: 0, count: share.count)
    (self.configuration, self.latents, self.latentsPath, self.folder) = (configuration, latents, latentsPath, folder)
  }

  // MARK: TrainingStage

  public var introduction: [String] {
    let (settings, block) = (configuration, latents)
    return [
      "gated-pixelcnn: LATENT_BLOCK from \(latentsPath): \(block.train.count) training and \(block.test.count) test "
        + "grids of \(block.height)x\(block.width), K \(block.codebookSize)"
        + (block.classCount > 0 ? ", \(block.classCount) classes" : ""),
      "prior: \(type(of: model).kind), \(model.parameterCount) parameters (dim \(settings.dim), \(settings.layers) "
        + (schedule == nil ? "layers" : "blocks of \(settings.heads) heads, dropout \(settings.dropout)") + ", "
        + (model.classes > 0 ? "class-conditional" : "unconditional")
        + ((model as? TransformerPrior)?.configuration.hasNoClass == true
          ? ", class dropout \(settings.classDropout)" : "")
        + (settings.headHidden > 0 && schedule == nil ? ", head hidden \(settings.headHidden)" : "")
        + "); batch \(settings.batchSize), \(totalUpdates) updates, "
        + (schedule == nil
          ? "Adam lr \(settings.learningRate)"
          : "AdamW lr \(settings.learningRate) (warm-up \(schedule?.warmupSteps ?? 0), cosine to a tenth), weight decay "
            + "\(settings.weightDecay)") + ", seed \(settings.seed)",
      "prior folder: \(folder.path)" + (update > 0 ? " (resuming at update \(update))" : restarted ? restartNote : ""),
    ]
  }

  public func report(_ summary: PriorSummary) -> [String] {
    [
      String(
        format: "done: %d updates in %@; test %.4f bits/latent (uniform %.2f), %.1f bits/image, accuracy %.3f",
        summary.updates, ProgressReporter.duration(summary.wallSeconds), summary.test.bitsPerLatent,
        summary.uniformBitsPerLatent, summary.test.bitsPerLatent * Double(summary.gridSize), summary.test.accuracy)
        + MemoryBudget.peakNote,
      "samples:    \(summary.samplesPath ?? "(none: no VQ-VAE to decode with)")",
      "loss curve: \(folder.lossPlotPath)", "summary:    \(folder.summaryPath)",
      "checkpoint: \(summary.checkpointPath)", "best:       \(folder.bestCheckpointPath)",
    ]
  }

  public var module: Module { model }

  public var batchSize: Int { configuration.batchSize }

  public func prepare() throws {}

  public func loss() throws -> Tensor {
    let (size, train) = (latents.gridSize, latents.train)
    if let schedule { optimizer.learningRate = schedule.learningRate(atStep: loop.update) }
    sampler.next(into: &rows)
    for (slot, row) in rows[share].enumerated() {
      for p in 0..<size { indices[slot * size + p] = train.indices[row * size + p] }
      if !train.labels.isEmpty { labels[slot] = train.labels[row] }
    }
    let (loss, logits) = try model.loss(
      indices, batch: share.count, height: latents.height, width: latents.width,
      labels: model.classes > 0 ? labels : nil)
    lastLogits = logits
    return loss
  }

  /// The positions whose most likely code is the target.
  public func stepSums() -> [Float] {
    [Float(lastLogits.map { topOneHits(channelMajorLogits: $0, targets: indices) } ?? 0)]
  }

  public var stepSumsCount: Int { 1 }

  public func finishStep(loss: Float, sums: [Float], seconds: Double) {
    interval.updates += 1
    interval.loss += Double(loss)
    interval.hits += Int(sums[0])
    interval.seconds += seconds
    lastLogits = nil
  }

  public func intervalRecord(update: Int, reset: Bool) -> PriorMetricsRecord {
    defer { if reset { interval = (0, 0, 0, 0) } }
    let updates = Double(max(interval.updates, 1))
    return PriorMetricsRecord(
      split: "train", update: update, epoch: sampler.epoch, loss: interval.loss / updates,
      accuracy: Double(interval.hits) / (updates * Double(configuration.batchSize * latents.gridSize)),
      updatesPerSecond: Double(interval.updates) / interval.seconds)
  }

  public func progressLine(_ record: PriorMetricsRecord) -> String {
    record.progressLine(total: totalUpdates, epochs: plannedEpochs)
  }

  public func evaluate(update: Int, maxBatches: Int?) throws -> (
    record: PriorMetricsRecord, loss: Double, message: String
  ) {
    let evaluation = try PriorEvaluation(
      model: model, split: latents.test, height: latents.height, width: latents.width, maxBatches: maxBatches,
      group: loop.group)
    lastEvaluation = evaluation
    let message = String(
      format: "test @ %d: %.4f bits/latent (%.1f bits/image, uniform %.2f)  accuracy %.3f  (%d grids)", update,
      evaluation.bitsPerLatent, evaluation.bitsPerLatent * Double(latents.gridSize),
      log2(Double(latents.codebookSize)), evaluation.accuracy, evaluation.grids)
    return (evaluation.record(update: update, epoch: sampler.epoch), evaluation.loss, message)
  }

  public func drawPictures(update: Int, records: [PriorMetricsRecord]) throws {
    try priorLossPlot(records).write(to: folder.lossPlotPath)
  }

  public func checkpoint(update: Int, wallSeconds: Double) -> SafeTensors {
    PriorCheckpoint.file(
      model: model, optimizer: optimizer, sampler: sampler, grid: (latents.height, latents.width), update: update,
      wallSeconds: wallSeconds, latents: latentsPath, vqvaeCheckpoint: latents.checkpoint,
      configurationJSON: configurationJSON)
  }

  public func finish(
    update: Int, wallSeconds: Double, test: PriorMetricsRecord, records: [PriorMetricsRecord], checkpointPath: String
  ) throws -> PriorSummary {
    guard let evaluation = lastEvaluation else { throw TrainingError("no final evaluation to summarise") }
    func summary(samples: String?) -> PriorSummary {
      PriorSummary(
        updates: update, epochs: sampler.epoch, wallSeconds: wallSeconds, train: records.last { $0.split == "train" },
        test: evaluation, uniformBitsPerLatent: log2(Double(latents.codebookSize)), gridSize: latents.gridSize,
        checkpointPath: checkpointPath, samplesPath: samples)
    }
    // The figures are written before the grid is drawn, so that a VQ-VAE that cannot decode does not lose them.
    try JSONFile.write(summary(samples: nil).json, to: folder.summaryPath)
    // The grid is a picture: one that cannot be drawn or written is a warning.
    var samples: String?
    do { samples = try drawSamples() } catch { reporter?.message("warning: no sample grid: \(error)") }
    let final = summary(samples: samples)
    try JSONFile.write(final.json, to: folder.summaryPath)
    return final
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
    try loop.logPicture(tag: "samples", path: folder.samplesPath)
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
