import ArgumentParser
import CommandSupport
import Foundation
import Pipeline

/// The defaults shown in `--help`, taken from the library so that they cannot drift.
private let defaults = PriorTrainingConfiguration()
private typealias Key = PriorTrainingConfiguration.Key

/// `gated-pixelcnn --dataset LATENT_BLOCK`: fits the gated PixelCNN prior to the code-index grids and ends with a
/// sample grid.
@main
struct GatedPixelCNNTrain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gated-pixelcnn",
    abstract: "Fit the gated PixelCNN prior to a LATENT_BLOCK; report its likelihood and draw a sample grid.",
    discussion: """
      Every setting is also a key of a JSON config file (--config; the file's "prior" object when it also \
      configures the VQ-VAE). A flag overrides the file, the file overrides the default. Flags also take the \
      underscore spelling (--batch_size).

      The prior folder (default: prior/ beside the latents) gets config.json, checkpoints/prior.safetensors \
      (the classic GatedPixelCNN's parameter names), metrics.jsonl (train and test bits per latent, top-1 \
      accuracy), summary.json, images/loss.png and images/samples.png (10x10, one class per row, decoded with \
      the VQ-VAE that made the latents). The default run (2 epochs of 60,000 Fashion-MNIST grids, 3,750 updates) \
      takes about 12 minutes on 2 cores. Ctrl-C saves the weights and stops.
      """)

  @Option(
    name: .dashedAndUnderscored(Key.dataset.rawValue),
    help: ArgumentHelp(
      "The dataset: LATENT_BLOCK, the grids of extract-latents (default: LATENT_BLOCK).", valueName: "name"))
  var dataset: String?

  @Option(
    name: .dashedAndUnderscored(Key.latents.rawValue),
    help: ArgumentHelp("LATENT_BLOCK folder (default: the newest finished run's latents/).", valueName: "dir"))
  var latents: String?

  @Option(
    name: .dashedAndUnderscored(Key.outputDir.rawValue),
    help: ArgumentHelp("Prior folder (default: prior/ beside the latents).", valueName: "dir"))
  var outputDir: String?

  @Option(help: ArgumentHelp("JSON config file of settings (keys as in configs/*.json).", valueName: "file"))
  var config: String?

  @Option(
    name: .dashedAndUnderscored(Key.seed.rawValue),
    help: ArgumentHelp(
      "Seed of the weights, the data order and the samples (default: \(defaults.seed)).", valueName: "n"))
  var seed: Int?

  @Option(
    name: .dashedAndUnderscored(Key.batchSize.rawValue),
    help: ArgumentHelp("Grids per update (default: \(defaults.batchSize)).", valueName: "n"))
  var batchSize: Int?

  @Option(
    name: .dashedAndUnderscored(Key.epochs.rawValue),
    help: ArgumentHelp("Passes over the training grids (default: \(defaults.epochs)).", valueName: "n"))
  var epochs: Int?

  @Option(
    name: .dashedAndUnderscored(Key.updates.rawValue),
    help: ArgumentHelp("Stop after N updates if the epochs take more (default: the epochs decide).", valueName: "n"))
  var nUpdates: Int?

  @Option(
    name: .dashedAndUnderscored(Key.learningRate.rawValue),
    help: ArgumentHelp("Adam learning rate (default: \(defaults.learningRate)).", valueName: "x"))
  var learningRate: Float?

  @Option(
    name: .dashedAndUnderscored(Key.dim.rawValue),
    help: ArgumentHelp("Channels of the vertical and horizontal stacks (default: \(defaults.dim)).", valueName: "n"))
  var dim: Int?

  @Option(
    name: .dashedAndUnderscored(Key.layers.rawValue),
    help: ArgumentHelp(
      "Gated layers: 7x7 mask A first, 3x3 mask B after (default: \(defaults.layers)).", valueName: "n"))
  var nLayers: Int?

  @Option(
    name: .dashedAndUnderscored(Key.headHidden.rawValue),
    help: ArgumentHelp(
      "Channels of a hidden 1x1 + ReLU layer before the logits; 0: a single 1x1 head (default: "
        + "\(defaults.headHidden)).", valueName: "n"))
  var headHidden: Int?

  @Flag(
    name: [.customLong("no-class-conditioning"), .customLong("no_class_conditioning")],
    help: "Ignore the labels (default: condition every layer on the class when the latents have labels).")
  var noClassConditioning = false

  @Option(
    name: .dashedAndUnderscored(Key.logInterval.rawValue),
    help: ArgumentHelp("Updates per metrics line (default: \(defaults.logInterval)).", valueName: "n"))
  var logInterval: Int?

  @Option(
    name: .dashedAndUnderscored(Key.evalEvery.rawValue),
    help: ArgumentHelp(
      "Updates between test evaluations; 0: at the end only (default: \(defaults.evalEvery)).", valueName: "n"))
  var evalEvery: Int?

  @Option(
    name: .dashedAndUnderscored(Key.evalBatches.rawValue),
    help: ArgumentHelp(
      "Test batches of \(PriorEvaluation.batchSize) per evaluation during training (default: "
        + "\(defaults.evalBatches.map(String.init) ?? "all"); the final evaluation uses all).", valueName: "n"))
  var evalBatches: Int?

  @Option(
    name: .dashedAndUnderscored(Key.saveEvery.rawValue),
    help: ArgumentHelp(
      "Updates between checkpoints; 0: final only (default: \(defaults.saveEvery)).", valueName: "n"))
  var saveEvery: Int?

  @Option(
    name: .dashedAndUnderscored(Key.trainLimit.rawValue),
    help: ArgumentHelp("Use only the first N training grids (default: all).", valueName: "n"))
  var trainLimit: Int?

  @Option(
    name: .dashedAndUnderscored(Key.testLimit.rawValue),
    help: ArgumentHelp("Use only the first N test grids (default: all).", valueName: "n"))
  var testLimit: Int?

  /// The flags that were given, as configuration values.
  private var overrides: [(Key, ConfigValue)] {
    let integers: [(Key, Int?)] = [
      (.seed, seed), (.batchSize, batchSize), (.epochs, epochs), (.updates, nUpdates), (.dim, dim),
      (.layers, nLayers), (.headHidden, headHidden), (.logInterval, logInterval), (.evalEvery, evalEvery),
      (.evalBatches, evalBatches), (.saveEvery, saveEvery), (.trainLimit, trainLimit), (.testLimit, testLimit),
    ]
    let strings: [(Key, String?)] = [(.dataset, dataset), (.latents, latents), (.outputDir, outputDir)]
    return strings.compactMap { key, value in value.map { (key, .string($0)) } }
      + integers.compactMap { key, value in value.map { (key, .integer($0)) } }
      + (learningRate.map { [(Key.learningRate, ConfigValue.number(Double($0)))] } ?? [])
      + (noClassConditioning ? [(Key.classConditioning, .boolean(false))] : [])
  }

  func run() throws {
    let trainer = try PriorTrainer(configFile: config, overrides: overrides)
    let (settings, block, prior) = (trainer.configuration, trainer.latents, trainer.model.configuration)
    print(
      "gated-pixelcnn: LATENT_BLOCK from \(trainer.latentsPath): \(block.train.count) training and "
        + "\(block.test.count) test grids of \(block.height)x\(block.width), K \(block.codebookSize)"
        + (block.classCount > 0 ? ", \(block.classCount) classes" : ""))
    print(
      "prior: \(trainer.model.parameterCount) parameters (dim \(prior.dim), \(prior.layers) layers, "
        + (prior.classes > 0 ? "class-conditional" : "unconditional")
        + (prior.headHidden > 0 ? ", head hidden \(prior.headHidden)" : "") + "); batch \(settings.batchSize), "
        + "\(trainer.totalUpdates) updates, Adam lr \(settings.learningRate), seed \(settings.seed)")
    print("prior folder: \(trainer.folder.path)")

    let reporter = ProgressReporter()
    trainer.reporter = reporter
    switch try runStoppably(reporter: reporter, trainer.run) {
    case .completed(let summary):
      reporter.message(
        String(
          format: "done: %d updates in %@; test %.4f bits/latent (uniform %.2f), %.1f bits/image, accuracy %.3f",
          summary.updates, ProgressReporter.duration(summary.wallSeconds), summary.test.bitsPerLatent,
          summary.uniformBitsPerLatent, summary.test.bitsPerLatent * Double(summary.gridSize), summary.test.accuracy))
      print("samples:    \(summary.samplesPath ?? "(none: no VQ-VAE to decode with)")")
      print("loss curve: \(trainer.folder.lossPlotPath)")
      print("summary:    \(trainer.folder.summaryPath)")
      print("checkpoint: \(summary.checkpointPath)")
    case .interrupted(let update, let checkpoint):
      reporter.message(
        checkpoint.map { "interrupted at update \(update); weights saved in \($0)" }
          ?? "interrupted before the first update; nothing to save")
      throw stoppedExitCode
    }
  }
}
