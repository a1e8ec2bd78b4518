import Foundation

/// Everything a training run is set up from: data, model, optimiser and schedule.
///
/// The keys are the classic PyTorch repo's flag names (`batch_size`, `n_hiddens`, `learning_rate` ...): the keys of
/// `configs/*.json` and, with dashes, the flags of `vqvae-train`. Values are resolved as flag > config file > default;
/// each setting is declared once, in `settings`, and its default is the value its property starts with.
public struct TrainingConfiguration: StageSettings {
  /// The dataset to train on.
  public var dataset: DatasetName = .fashionMNIST
  /// Where the dataset's files are; nil looks in the dataset's default folder.
  public var dataDir: String?
  /// The run folder; nil makes `outputs/vqvae-<dataset>-<time>`.
  public var outputDir: String?
  /// Seeds the model's initial weights and the data order.
  public var seed = 0
  /// The architecture (its `inChannels` is taken from the data).
  public var model = VQVAEConfiguration()
  /// Images per update.
  public var batchSize = 32
  /// Optimiser updates in the whole run.
  public var updates = 5000
  /// Adam's step size (Adam runs with amsgrad, as in the classic repo).
  public var learningRate: Float = 3e-4
  /// Updates per line of training metrics.
  public var logInterval = 50
  /// Updates between checkpoints `vqvae-<update>.safetensors`; 0 saves only the final one.
  public var saveEvery = 1000
  /// Write TensorBoard event files (scalars, pictures, code usage, settings) as the run goes.
  public var tensorBoard = true
  /// Updates between test-split evaluations; 0 evaluates only at the end.
  public var evalEvery = 1000
  /// Test batches (of `Evaluation.defaultBatchSize`) per intermediate evaluation; nil uses the whole test split.
  /// The final evaluation always uses the whole split. 2,048 images follow the curve as well as 10,000 did, for a
  /// fifth of the time (the whole split, every 1,000 updates, was a tenth of the default run).
  public var evalBatches: Int? = 32
  /// Use only the first N training images.
  public var trainLimit: Int?
  /// Use only the first N test images.
  public var testLimit: Int?
  /// How the codebook learns and is kept in use (EMA, k-means start, dead-code restarts; the classic recipe is
  /// `CodebookSettings()`).
  public var codebook = CodebookSettings.recommended
  /// How the images are shaped as they load (MNIST padding, FOLDER crop and resize).
  public var shaping = ImageShaping()
  /// Where each key that is not at its default was last set.
  public var origins: [String: ConfigOrigin] = [:]
  /// The image shape `[C, H, W]` that a run's `config.json` (and its checkpoints) recorded: what its model takes.
  public var recordedImageShape: [Int]?
  /// The training pixels' variance that a run recorded: the normaliser of its MSE.
  public var recordedVariance: Double?

  /// The defaults.
  public init() {}

  public static let section: String? = nil

  /// Keys that a saved `config.json` records about the run but that are not settings: accepted and skipped, so a
  /// run's `config.json` can be passed back as `--config`. (`in_channels` comes from the data.) A pipeline config's
  /// `"prior"` object is gated-pixelcnn's, skipped here too.
  public static let recordedKeys: Set<String> = [
    "in_channels", "optimizer", "train_count", "test_count", "data_variance", "image_shape", "latent_grid", "prior",
  ]

  public static let settings: [Setting<TrainingConfiguration>] = [
    .custom(
      "dataset", valueName: "name",
      help: "FASHION_MNIST, MNIST, CIFAR10 or FOLDER, any case (see the README's Datasets)",
      read: { .string($0.dataset.rawValue) },
      write: { settings, value, name in
        guard let text = try value.optionalString(name) else {
          throw TrainingError("\(name) must be a string, got null")
        }
        guard let dataset = DatasetName(parsing: text) else {
          let known = DatasetName.allCases.map(\.rawValue).joined(separator: ", ")
          throw TrainingError("\(name): unknown dataset '\(text)'; choose one of \(known) (any case)")
        }
        settings.dataset = dataset
      }),
    .text(
      "data_dir", \.dataDir, unset: "/usr/share/datasets/fashion-mnist for FASHION_MNIST, ./data otherwise",
      help: "Dataset folder"),
    .text("output_dir", \.outputDir, unset: "outputs/vqvae-<dataset>-<yyyyMMdd-HHmmss>", help: "Run folder"),
    .integer(
      "seed", \.seed, .atLeast(0), help: "Seed of the initial weights, the data order and the codebook's upkeep"),
    .integer("batch_size", \.batchSize, .atLeast(1), help: "Images per update"),
    .integer("n_updates", \.updates, .atLeast(1), help: "Updates in the whole run"),
    .number("learning_rate", \.learningRate, .positive, help: "Adam (amsgrad) learning rate"),
    .integer(
      "n_hiddens", \.model.hiddens, .custom("even and at least 2") { $0 >= 2 && $0 % 2 == 0 }, architecture: true,
      help: "Encoder and decoder channels h, even (the outer convolutions use h/2)"),
    .integer(
      "n_residual_hiddens", \.model.residualHiddens, .atLeast(1), architecture: true,
      help: "Channels inside each residual layer"),
    .integer(
      "n_residual_layers", \.model.residualLayers, .atLeast(0), architecture: true,
      help: "Residual layers per stack"),
    .integer(
      "embedding_dim", \.model.embeddingDim, .atLeast(1), architecture: true, help: "Codebook vector dimension D"),
    .integer("n_embeddings", \.model.embeddings, .atLeast(1), architecture: true, help: "Codebook size K"),
    .number("beta", \.model.beta, .nonNegative, help: "Commitment loss weight beta"),
    .integer(
      "downsamples", \.model.downsamples, .within(1...6), architecture: true,
      help: "Stride-2 stages in the encoder and the decoder: the latent grid is the image / 2^downsamples"),
    .choice(
      "codebook_update", \.codebook.update, architecture: true,
      help: "How the codebook learns: loss (its loss, through Adam) or ema (moving averages of its encoder outputs)"),
    .number(
      "ema_decay", \.codebook.emaDecay, .custom("in (0, 1), such as 0.99") { $0 > 0 && $0 < 1 },
      help: "Decay of the codebook's moving averages"),
    .choice(
      "codebook_init", \.codebook.initialization,
      help: "How the codebook starts: uniform(-1/K, 1/K), or kmeans (k-means++ and 10 Lloyd rounds on encoder outputs)"),
    .number(
      "dead_code_threshold", \.codebook.deadCodeThreshold,
      .custom("a non-negative number (assignments per batch; 0 turns restarts off)") { $0.isFinite && $0 >= 0 },
      help: "Restart a code whose moving-average use per batch falls below this; 0: never"),
    .boolean("pad", \.shaping.pad, help: "Pad MNIST-style 28x28 images to 32x32 (false: 28x28, 7x7 latent grids)"),
    .optionalInteger(
      "image_size", \.shaping.size, .within(16...256),
      unset: "the files' own size", help: "FOLDER images: centre-crop to a square and area-resize to N x N"),
    .integer("log_interval", \.logInterval, .atLeast(1), help: "Updates per metrics line"),
    .integer("eval_every", \.evalEvery, .atLeast(0), help: "Updates between test evaluations; 0: at the end only"),
    .optionalInteger(
      "eval_batches", \.evalBatches, .atLeast(1),
      help: "Test batches of \(Evaluation.defaultBatchSize) per evaluation during training (the final one uses all)"),
    .integer(
      "save_every", \.saveEvery, .atLeast(0),
      help: "Updates between numbered checkpoints; 0: the final and the best only"),
    .boolean(
      "tensorboard", \.tensorBoard,
      help: "Write TensorBoard event files into tb/ (--no-tensorboard: false)"),
    .optionalInteger("train_limit", \.trainLimit, .atLeast(1), help: "Use only the first N training images"),
    .optionalInteger("test_limit", \.testLimit, .atLeast(1), help: "Use only the first N test images"),
  ]

  public mutating func readRecorded(_ key: String, _ value: ConfigValue, source: String) throws {
    // in_channels comes from the data; read back so that a resumed run can check its data against it.
    if key == "in_channels" { model.inChannels = try value.integer("\(source): in_channels") }
    // The data's shape and variance, so that tools shape new images as the run did and normalise as it did.
    if key == "image_shape" {
      guard case .array(let sides) = value, sides.count == 3 else {
        throw TrainingError("\(source): image_shape must be [channels, height, width], got \(value)")
      }
      let shape = try sides.map { try $0.integer("\(source): image_shape") }
      guard [1, 3].contains(shape[0]), TrainingData.sides.contains(shape[1]), TrainingData.sides.contains(shape[2])
      else {
        throw TrainingError("\(source): image_shape \(shape) is not an image shape this toolkit trains on")
      }
      recordedImageShape = shape
    }
    if key == "data_variance" {
      switch value {
      case .number(let variance) where variance > 0 && variance.isFinite: recordedVariance = variance
      case .integer(let variance) where variance > 0: recordedVariance = Double(variance)
      default: throw TrainingError("\(source): data_variance must be a positive number, got \(value)")
      }
    }
  }

  /// The settings that load `datasetName` (default: the run's own) from `dataDir` (default: the run's folder for its
  /// own dataset, else the dataset's default place) shaped as this run shaped its images: its padding, and for
  /// FOLDER its crop and resize.
  /// - Throws: `TrainingError` for an unknown dataset name.
  public func reading(dataset datasetName: String?, dataDir: String?) throws -> TrainingConfiguration {
    var settings = self
    if let datasetName {
      guard let name = DatasetName(parsing: datasetName) else {
        let known = DatasetName.allCases.map(\.rawValue).joined(separator: ", ")
        throw TrainingError("--dataset: unknown dataset '\(datasetName)'; choose one of \(known) (any case)")
      }
      settings.dataset = name
    }
    settings.dataDir =
      dataDir ?? (settings.dataset == dataset ? self.dataDir : nil) ?? settings.dataset.defaultDataDirectory
    if settings.dataset != .folder { settings.shaping.size = nil }
    return settings
  }

  public func checkTogether() throws {
    if let size = shaping.size {
      try require(
        dataset == .folder, "image_size", "unset for \(dataset.rawValue) (it crops and resizes FOLDER images)", size)
    }
  }

  /// What `config.json` and the checkpoints record: every setting, `in_channels` and the optimiser.
  var recorded: [String: ConfigValue] {
    values.merging(["in_channels": .integer(model.inChannels), "optimizer": .string("Adam(amsgrad)")]) { $1 }
  }
}
