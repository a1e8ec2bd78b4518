import ArgumentParser
import CommandSupport
import Foundation
import Pipeline

/// The defaults shown in `--help`, taken from the library so that they cannot drift.
private let defaults = TrainingConfiguration()

/// `vqvae-train`: trains the VQ-VAE and leaves a run folder (config, checkpoints, metrics, images, summary).
@main
struct VQVAETrain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vqvae-train",
    abstract: "Train a VQ-VAE on images; leave a run folder with checkpoints, metrics and reconstruction grids.",
    discussion: """
      Every setting is also a key of a JSON config file (--config, see configs/*.json; keys are the underscore \
      spellings, e.g. "batch_size"). A flag overrides the file, the file overrides the default. Flags also take \
      the PyTorch repo's underscore spelling (--batch_size).

      The run folder gets config.json, checkpoints/, metrics.jsonl, images/ (reconstruction grids, loss.png) and \
      summary.json. Ctrl-C saves a checkpoint and stops; --resume RUN_DIR goes on from the latest checkpoint and \
      ends with the same weights as an uninterrupted run.
      """)

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.dataset.rawValue),
    help: ArgumentHelp("FASHION_MNIST, MNIST, CIFAR10 or FOLDER, any case (default: FASHION_MNIST).", valueName: "name")
  )
  var dataset: String?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.dataDir.rawValue),
    help: ArgumentHelp(
      "Dataset folder (default: /usr/share/datasets/fashion-mnist for FASHION_MNIST, ./data otherwise).",
      valueName: "dir"))
  var dataDir: String?

  @Option(help: ArgumentHelp("JSON config file of settings (keys as in configs/*.json).", valueName: "file"))
  var config: String?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.outputDir.rawValue),
    help: ArgumentHelp("Run folder (default: outputs/vqvae-<dataset>-<yyyyMMdd-HHmmss>).", valueName: "dir"))
  var outputDir: String?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.seed.rawValue),
    help: ArgumentHelp("Seed of the initial weights and the data order (default: \(defaults.seed)).", valueName: "n"))
  var seed: Int?

  @Option(help: ArgumentHelp("Continue the run in this folder (or from this checkpoint file).", valueName: "run-dir"))
  var resume: String?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.saveEvery.rawValue),
    help: ArgumentHelp("Updates between checkpoints; 0: final only (default: \(defaults.saveEvery)).", valueName: "n"))
  var saveEvery: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.evalEvery.rawValue),
    help: ArgumentHelp(
      "Updates between test evaluations; 0: at the end only (default: \(defaults.evalEvery)).", valueName: "n"))
  var evalEvery: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.evalBatches.rawValue),
    help: ArgumentHelp(
      "Test batches of \(Evaluation.defaultBatchSize) per evaluation during training (default: all; the final "
        + "evaluation uses all).",
      valueName: "n"))
  var evalBatches: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.trainLimit.rawValue),
    help: ArgumentHelp("Use only the first N training images (default: all).", valueName: "n"))
  var trainLimit: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.testLimit.rawValue),
    help: ArgumentHelp("Use only the first N test images (default: all).", valueName: "n"))
  var testLimit: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.batchSize.rawValue),
    help: ArgumentHelp("Images per update (default: \(defaults.batchSize)).", valueName: "n"))
  var batchSize: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.updates.rawValue),
    help: ArgumentHelp("Updates in the whole run (default: \(defaults.updates)).", valueName: "n")
  )
  var nUpdates: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.hiddens.rawValue),
    help: ArgumentHelp("Encoder/decoder channels, even (default: \(defaults.model.hiddens)).", valueName: "n"))
  var nHiddens: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.residualHiddens.rawValue),
    help: ArgumentHelp("Channels inside residual layers (default: \(defaults.model.residualHiddens)).", valueName: "n"))
  var nResidualHiddens: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.residualLayers.rawValue),
    help: ArgumentHelp("Residual layers per stack (default: \(defaults.model.residualLayers)).", valueName: "n"))
  var nResidualLayers: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.embeddingDim.rawValue),
    help: ArgumentHelp("Codebook vector dimension D (default: \(defaults.model.embeddingDim)).", valueName: "n"))
  var embeddingDim: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.embeddings.rawValue),
    help: ArgumentHelp("Codebook size K (default: \(defaults.model.embeddings)).", valueName: "n"))
  var nEmbeddings: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.beta.rawValue),
    help: ArgumentHelp("Commitment loss weight (default: \(defaults.model.beta)).", valueName: "x"))
  var beta: Float?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.learningRate.rawValue),
    help: ArgumentHelp("Adam (amsgrad) learning rate (default: \(defaults.learningRate)).", valueName: "x"))
  var learningRate: Float?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.logInterval.rawValue),
    help: ArgumentHelp("Updates per metrics line (default: \(defaults.logInterval)).", valueName: "n"))
  var logInterval: Int?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.codebookUpdate.rawValue),
    help: ArgumentHelp(
      "How the codebook learns: loss (the codebook loss, through Adam) or ema (moving averages of its encoder "
        + "outputs; no codebook loss) (default: \(defaults.codebook.update.rawValue)).", valueName: "loss|ema"))
  var codebookUpdate: String?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.emaDecay.rawValue),
    help: ArgumentHelp(
      "Decay of the codebook's moving averages, in (0, 1) (default: \(defaults.codebook.emaDecay)).", valueName: "x"))
  var emaDecay: Float?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.codebookInit.rawValue),
    help: ArgumentHelp(
      "How the codebook starts: uniform(-1/K, 1/K), or kmeans on the encoder outputs of the first batches "
        + "(default: \(defaults.codebook.initialization.rawValue)).", valueName: "uniform|kmeans"))
  var codebookInit: String?

  @Option(
    name: .dashedAndUnderscored(TrainingConfiguration.Key.deadCodeThreshold.rawValue),
    help: ArgumentHelp(
      "Restart a code from an encoder output of the batch when its moving-average usage falls below this many "
        + "assignments per batch; 0: never (default: \(defaults.codebook.deadCodeThreshold)).", valueName: "x"))
  var deadCodeThreshold: Float?

  /// The flags that were given, as configuration values.
  private var overrides: [(TrainingConfiguration.Key, ConfigValue)] {
    let integers: [(TrainingConfiguration.Key, Int?)] = [
      (.seed, seed), (.saveEvery, saveEvery), (.evalEvery, evalEvery), (.evalBatches, evalBatches),
      (.trainLimit, trainLimit), (.testLimit, testLimit), (.batchSize, batchSize), (.updates, nUpdates),
      (.hiddens, nHiddens), (.residualHiddens, nResidualHiddens), (.residualLayers, nResidualLayers),
      (.embeddingDim, embeddingDim), (.embeddings, nEmbeddings), (.logInterval, logInterval),
    ]
    let numbers: [(TrainingConfiguration.Key, Float?)] = [
      (.beta, beta), (.learningRate, learningRate), (.emaDecay, emaDecay), (.deadCodeThreshold, deadCodeThreshold),
    ]
    let strings: [(TrainingConfiguration.Key, String?)] = [
      (.dataset, dataset), (.dataDir, dataDir), (.outputDir, outputDir), (.codebookUpdate, codebookUpdate),
      (.codebookInit, codebookInit),
    ]
    return strings.compactMap { key, value in value.map { (key, .string($0)) } }
      + integers.compactMap { key, value in value.map { (key, .integer($0)) } }
      + numbers.compactMap { key, value in value.map { (key, .number(Double($0))) } }
  }

  func run() throws {
    let trainer = try Trainer(configFile: config, overrides: overrides, resume: resume)
    let (settings, data) = (trainer.configuration, trainer.data)
    let model = settings.model
    print(
      "vqvae-train: \(settings.dataset.rawValue) from \(settings.dataDir ?? "?"): \(data.train.count) training and "
        + "\(data.test.count) test images of \(data.train.channels)x\(data.train.height)x\(data.train.width), pixel variance "
        + String(format: "%.4f", data.variance))
    print(
      "model: \(trainer.model.parameterCount) parameters (n_hiddens \(model.hiddens), K \(model.embeddings) x D "
        + "\(model.embeddingDim)); batch \(settings.batchSize), \(settings.updates) updates, Adam(amsgrad) lr "
        + "\(settings.learningRate), seed \(settings.seed)")
    let codebook = settings.codebook
    print(
      "codebook: \(codebook.update == .ema ? "EMA updates (decay \(codebook.emaDecay))" : "learnt from its loss"), "
        + "\(codebook.initialization == .kmeans ? "k-means" : "uniform") start, "
        + (codebook.deadCodeThreshold > 0
          ? "dead codes (usage < \(codebook.deadCodeThreshold) per batch) restarted" : "no restarts"))
    print("run folder: \(trainer.folder.path)" + (trainer.update > 0 ? " (resuming at update \(trainer.update))" : ""))

    let reporter = ProgressReporter()
    trainer.reporter = reporter
    switch try runStoppably(reporter: reporter, trainer.run) {
    case .completed(let summary):
      let folder = trainer.folder
      reporter.message(
        String(
          format: "done: %d updates in %@; test normalised MSE %.4f, PSNR %.2f dB, codes used %d/%d, perplexity %.1f",
          summary.updates, ProgressReporter.duration(summary.wallSeconds), summary.test.normalizedMSE,
          summary.test.psnr, summary.test.codesUsed, model.embeddings, summary.test.perplexity))
      print("run folder:      \(folder.path)")
      print("reconstructions: \(summary.reconstructionPath)")
      print("loss curves:     \(folder.lossPlotPath)")
      print("summary:         \(folder.summaryPath)")
      print("checkpoint:      \(summary.checkpointPath)")
    case .interrupted(let update, let checkpoint):
      if let checkpoint {
        reporter.message("interrupted at update \(update); checkpoint: \(checkpoint)")
        reporter.message("resume with: vqvae-train --resume \(trainer.folder.path)")
      } else {
        reporter.message("interrupted before the first update; nothing to save")
      }
      throw stoppedExitCode
    }
  }
}
