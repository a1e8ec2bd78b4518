import Foundation

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

  /// The summary as `summary.json`'s object.
  var json: ConfigValue {
    var fields: [String: ConfigValue] = [
      "updates": .integer(updates), "wall_seconds": .rounded(wallSeconds), "test_images": .integer(test.images),
      "test_loss": .rounded(test.loss), "test_normalized_mse": .rounded(test.normalizedMSE),
      "test_psnr_db": .rounded(test.psnr), "test_codes_used": .integer(test.codesUsed),
      "test_perplexity": .rounded(test.perplexity), "dead_codes_restarted": .integer(deadCodesRestarted),
      "checkpoint": .string(checkpointPath), "reconstructions": .string(reconstructionPath),
    ]
    if let train {
      fields.merge([
        "train_loss": .rounded(train.loss), "train_recon_error": .rounded(train.reconstructionError),
        "train_perplexity": .rounded(train.perplexity), "train_codes_used": .rounded(train.codesUsed),
        "train_updates_per_s": .rounded(train.updatesPerSecond),
      ]) { $1 }
    }
    return .object(fields)
  }
}

/// Trains a VQ-VAE as the classic recipe does (Adam with amsgrad, MSE / data variance + quantizer loss), writing a
/// run folder (see `RunFolder`) with checkpoints, metrics, reconstruction grids, the loss plot and a summary.
public final class Trainer: TrainingStage {
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
  /// The loop that trains it: update count, schedule, metrics, checkpoints.
  public let loop: TrainingLoop<MetricsRecord>
  /// The order of the training images.
  public private(set) var sampler: BatchSampler
  /// The generator of the codebook's upkeep (k-means start, dead-code restarts), apart from the data order's so
  /// that turning those on does not change the batches.
  public private(set) var codebookRNG: RandomGenerator

  /// Whether `--resume` found no checkpoint (the run was stopped before its first) and started it again.
  public private(set) var restarted = false

  private let sample: ReconstructionSample
  /// The latest evaluation, whose code usage is drawn and summarised.
  private var lastEvaluation: Evaluation?
  /// The configuration and data facts as one JSON line, stored in every checkpoint.
  public let configurationJSON: String
  /// One input tensor (this rank's share of a batch) and index buffer (the whole batch's) for the whole run; each
  /// batch is written into them in place.
  private let input: Tensor
  private var indices: [Int]
  /// This rank's images of each batch.
  private let share: Range<Int>
  private var interval: IntervalAverages
  /// The last step's quantization, for the codebook's upkeep.
  private var lastQuantization: Quantization?
  private var lastReconstructionError: Float = 0
  /// The lengths of `stepSums`' parts: the reconstruction error, the code counts, the EMA sums.
  private var codebookUsageSize: (counts: Int, sums: Int) {
    let k = configuration.model.embeddings
    return (k, configuration.codebook.update == .ema ? k * configuration.model.embeddingDim : 0)
  }

  /// Sets up a run as `vqvae-train` does: the configuration from defaults, `configFile` and `overrides` (the flags),
  /// then the data, then a new run folder; or, with `resume` (a run folder or checkpoint file), the run's latest
  /// checkpoint with its configuration as the base that `configFile` and `overrides` change. On `group`'s ranks
  /// other than the leader, nothing is created or written.
  /// - Throws: `TrainingError` for bad settings, folders and checkpoints (naming the flag, key or file), and
  ///   `FileError` for missing or broken data. Nothing is written before all checks have passed.
  public convenience init(
    configFile: String?, overrides: [(String, ConfigValue)], resume: String? = nil, group: ProcessGroup = .single
  ) throws {
    guard let resume else {
      var configuration = try TrainingConfiguration.resolve(configFile: configFile, overrides: overrides)
      configuration.dataDir = configuration.dataDir ?? configuration.dataset.defaultDataDirectory
      let data = try TrainingData.load(configuration)
      try Self.checkFeasible(configuration, data)
      let path = configuration.outputDir ?? RunFolder.defaultPath(dataset: configuration.dataset)
      configuration.outputDir = path
      try self.init(
        configuration: configuration, data: data,
        folder: group.isLeader ? try RunFolder.create(path) : RunFolder(path: path),
        group: group)
      return
    }
    let (folder, checkpoint) = try RunFolder.open(resuming: resume, reopening: group.isLeader)
    // A run stopped before its first checkpoint starts again from the settings it recorded.
    let base =
      try checkpoint?.configuration ?? TrainingConfiguration.resolve(configFile: folder.configPath, overrides: [])
    var configuration = try TrainingConfiguration.resolve(base: base, configFile: configFile, overrides: overrides)
    guard configuration.outputDir == base.outputDir else {
      throw TrainingError(
        "\(configuration.describe("output_dir")) cannot be combined with --resume: a resumed run goes on in its own "
          + "folder (\(folder.path))")
    }
    configuration.outputDir = folder.path  // the folder may have moved since the run started
    let data = try TrainingData.load(configuration)
    try self.init(configuration: configuration, data: data, folder: folder, resumingFrom: checkpoint, group: group)
    restarted = checkpoint == nil
  }

  /// Sets up a run on given data in an existing folder: a fresh model from the configuration's seed, or the state of
  /// `checkpoint`. The leader of `group` writes `config.json` and opens `metrics.jsonl` (keeping the lines up to the
  /// checkpoint).
  /// - Throws: `TrainingError` if the checkpoint was trained with another architecture, on other data, or has
  ///   already reached `n_updates`.
  public init(
    configuration: TrainingConfiguration, data: TrainingData, folder: RunFolder,
    resumingFrom checkpoint: TrainingCheckpoint? = nil, group: ProcessGroup = .single
  ) throws {
    var configuration = configuration
    configuration.model.inChannels = data.train.channels
    try Self.checkFeasible(configuration, data)
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
      let trained = checkpoint.configuration
      let channels =
        trained.model.inChannels == data.train.channels
        ? [] : ["in_channels \(trained.model.inChannels) (not \(data.train.channels))"]
      let differences = channels + configuration.architectureDifferences(from: trained)
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
    } else {
      sampler = BatchSampler(count: data.train.count, rng: rng)
      codebookRNG = Self.codebookGenerator(seed: configuration.seed)
    }
    let recorded = ConfigValue.object(
      configuration.recorded.merging(data.recorded(downsamples: configuration.model.downsamples)) { $1 })
    configurationJSON = recorded.jsonText
    if group.isLeader { try JSONFile.write(recorded, to: folder.configPath) }
    loop = try TrainingLoop(
      schedule: TrainingSchedule(
        updates: configuration.updates, logInterval: configuration.logInterval, evalEvery: configuration.evalEvery,
        evalBatches: configuration.evalBatches, saveEvery: configuration.saveEvery,
        tensorBoard: configuration.tensorBoard),
      folder: folder, resumeCommand: "vqvae-train", resumed: checkpoint?.state, group: group)
    sample = ReconstructionSample(test: data.test)
    share = group.share(of: configuration.batchSize)
    input = Tensor(zeros: [share.count, data.train.channels, data.train.height, data.train.width])
    indices = [Int](repeating: 0, count: configuration.batchSize)
    interval = IntervalAverages(codes: configuration.model.embeddings)
    (self.configuration, self.data, self.folder) = (configuration, data, folder)
  }

  // MARK: TrainingStage

  public var introduction: [String] {
    let (settings, train, model) = (configuration, data.train, configuration.model)
    let codebook = settings.codebook
    let grid = model.latentGrid(height: train.height, width: train.width)
    return [
      "vqvae-train: \(settings.dataset.rawValue) from \(settings.dataDir ?? "?"): \(train.count) training and "
        + "\(data.test.count) test images of \(train.channels)x\(train.height)x\(train.width) (latent grid "
        + "\(grid.height)x\(grid.width)), pixel variance " + String(format: "%.4f", data.variance),
      "model: \(self.model.parameterCount) parameters (n_hiddens \(model.hiddens), K \(model.embeddings) x D "
        + "\(model.embeddingDim), downsamples \(model.downsamples)); batch \(settings.batchSize), \(settings.updates) "
        + "updates, Adam(amsgrad) lr \(settings.learningRate), seed \(settings.seed)",
      "codebook: \(codebook.update == .ema ? "EMA updates (decay \(codebook.emaDecay))" : "learnt from its loss"), "
        + "\(codebook.initialization == .kmeans ? "k-means" : "uniform") start, "
        + (codebook.deadCodeThreshold > 0
          ? "dead codes (usage < \(codebook.deadCodeThreshold) per batch) restarted" : "no restarts"),
      "run folder: \(folder.path)" + (update > 0 ? " (resuming at update \(update))" : restarted ? restartNote : ""),
    ]
  }

  public func report(_ summary: TrainingSummary) -> [String] {
    [
      String(
        format: "done: %d updates in %@; test normalised MSE %.4f, PSNR %.2f dB, codes used %d/%d, perplexity %.1f",
        summary.updates, ProgressReporter.duration(summary.wallSeconds), summary.test.normalizedMSE,
        summary.test.psnr, summary.test.codesUsed, configuration.model.embeddings, summary.test.perplexity)
        + MemoryBudget.peakNote,
      "run folder:      \(folder.path)", "reconstructions: \(summary.reconstructionPath)",
      "loss curves:     \(folder.lossPlotPath)", "summary:         \(folder.summaryPath)",
      "checkpoint:      \(summary.checkpointPath)", "best:            \(folder.bestCheckpointPath)",
    ]
  }

  public var module: Module { model }

  public var batchSize: Int { configuration.batchSize }

  public func prepare() throws {
    if configuration.codebook.initialization == .kmeans { try initializeCodebookByKMeans() }
  }

  public func loss() throws -> Tensor {
    sampler.next(into: &indices)
    let train = data.train
    input.data.withUnsafeMutableBufferPointer { train.fillBatch(indices: Array(indices[share]), into: $0) }
    let (loss, reconstructionError, _, quantization) = try model.loss(input, dataVariance: Float(data.variance))
    (lastQuantization, lastReconstructionError) = (quantization, reconstructionError.scalarValue)
    return loss
  }

  /// The reconstruction error (weighted by this rank's share of the batch), then the codebook's usage: code counts
  /// and, for EMA updates, the encoder outputs' sums per code.
  public func stepSums() -> [Float] {
    guard let quantization = lastQuantization else { return [] }
    let usage = model.quantizer.usage(encoderOutputs: quantization.encoderOutputs, indices: quantization.indices)
    let weight = Float(share.count) / Float(configuration.batchSize)
    return [lastReconstructionError * weight] + usage.counts + usage.sums
  }

  public var stepSumsCount: Int { 1 + codebookUsageSize.counts + codebookUsageSize.sums }

  public func finishStep(loss: Float, sums: [Float], seconds: Double) {
    guard let quantization = lastQuantization else { return }
    let (k, ema) = codebookUsageSize
    let usage = CodebookUsage(counts: Array(sums[1..<(1 + k)]), sums: Array(sums[(1 + k)..<(1 + k + ema)]))
    let z = quantization.encoderOutputs
    let (d, local) = (configuration.model.embeddingDim, quantization.indices.count)
    let perImage = local / max(share.count, 1)
    // Batch positions of this rank's images start at its first image's.
    let first = share.lowerBound * perImage
    let restarted = model.quantizer.maintainCodebook(
      usage: usage, positions: perImage * configuration.batchSize,
      vectors: { positions in
        var values = [Float](repeating: 0, count: positions.count * d)
        for (i, p) in positions.enumerated() where (first..<(first + local)).contains(p) {
          for c in 0..<d { values[i * d + c] = z.data[c * local + p - first] }
        }
        loop.group.sum(&values)
        return values
      }, rng: &codebookRNG)
    let (perplexity, _) = VectorQuantizer.usage(counts: usage.counts)
    interval.add(
      loss: loss, reconstructionError: sums[0], perplexity: perplexity, counts: usage.counts, restarted: restarted,
      seconds: seconds)
    lastQuantization = nil
  }

  public func intervalRecord(update: Int, reset: Bool) -> MetricsRecord {
    defer { if reset { interval = IntervalAverages(codes: configuration.model.embeddings) } }
    return interval.record(update: update)
  }

  public func progressLine(_ record: MetricsRecord) -> String { record.progressLine(total: configuration.updates) }

  public func evaluate(update: Int, maxBatches: Int?) throws -> (record: MetricsRecord, loss: Double, message: String) {
    let evaluation = try Evaluation(
      model: model, dataset: data.test, dataVariance: data.variance, maxBatches: maxBatches, group: loop.group)
    lastEvaluation = evaluation
    let message = String(
      format: "test @ %d: loss %.4f  normalised MSE %.4f  PSNR %.2f dB  codes used %d/%d  perplexity %.1f",
      update, evaluation.loss, evaluation.normalizedMSE, evaluation.psnr, evaluation.codesUsed,
      configuration.model.embeddings, evaluation.perplexity)
    return (evaluation.record(update: update), evaluation.loss, message)
  }

  /// The reconstruction grid, the code usage of the last evaluation and the loss plot.
  public func drawPictures(update: Int, records: [MetricsRecord]) throws {
    try sample.grid(model: model).write(to: folder.reconstructionPath(update: update))
    try loop.logPicture(tag: "reconstructions", path: folder.reconstructionPath(update: update))
    if let lastEvaluation {
      try lastEvaluation.usagePlot(update: update).write(to: folder.codeUsagePath(update: update))
      try loop.logPicture(tag: "code_usage", path: folder.codeUsagePath(update: update))
      try loop.events?.histogram(tag: "test/code_usage", counts: lastEvaluation.codeCounts, step: update)
    }
    try lossPlot(records).write(to: folder.lossPlotPath)
  }

  public func checkpoint(update: Int, wallSeconds: Double) -> SafeTensors {
    TrainingCheckpoint.file(
      update: update, model: model, optimizer: optimizer, sampler: sampler, codebookRNG: codebookRNG,
      configurationJSON: configurationJSON, wallSeconds: wallSeconds)
  }

  public func finish(
    update: Int, wallSeconds: Double, test: MetricsRecord, records: [MetricsRecord], checkpointPath: String
  ) throws -> TrainingSummary {
    guard let evaluation = lastEvaluation else { throw TrainingError("no final evaluation to summarise") }
    let summary = TrainingSummary(
      updates: update, wallSeconds: wallSeconds, test: evaluation, train: records.last { $0.split == "train" },
      checkpointPath: checkpointPath, reconstructionPath: folder.reconstructionPath(update: update),
      deadCodesRestarted: records.compactMap(\.deadCodesRestarted).reduce(0, +))
    try JSONFile.write(summary.json, to: folder.summaryPath)
    return summary
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

  /// Checks that the run fits in memory and that k-means has enough encoder outputs (one per latent position of the
  /// training images) for K codes.
  /// - Throws: `TrainingError` with the estimate and the limit, or naming the flag.
  static func checkFeasible(_ configuration: TrainingConfiguration, _ data: TrainingData) throws {
    let (train, model) = (data.train, configuration.model)
    var sized = model
    sized.inChannels = train.channels
    try MemoryEstimate.checkTraining(
      "vqvae-train", sized.footprint(height: train.height, width: train.width), batch: configuration.batchSize,
      batchName: configuration.describe("batch_size"))
    let grid = model.latentGrid(height: train.height, width: train.width)
    let outputs = train.count * grid.height * grid.width
    let codes = model.embeddings
    guard configuration.codebook.initialization != .kmeans || outputs >= codes else {
      throw TrainingError(
        "\(configuration.describe("codebook_init")) kmeans needs at least as many encoder outputs as codes, but "
          + "\(data.train.count) training images give \(outputs) for \(codes) codes; use more images or a "
          + "smaller n_embeddings")
    }
  }

  /// The codebook's generator of a fresh run: seeded apart from the data order's.
  private static func codebookGenerator(seed: Int) -> RandomGenerator {
    RandomGenerator(seed: UInt64(seed) ^ 0xC0DE_B00C)
  }

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
    loss: Float, reconstructionError: Float, perplexity: Float, counts: [Float], restarted: Int, seconds: Double
  ) {
    updates += 1
    self.loss += Double(loss)
    self.reconstructionError += Double(reconstructionError)
    self.perplexity += Double(perplexity)
    for (code, count) in counts.enumerated() where count > 0 { used[code] = true }
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
