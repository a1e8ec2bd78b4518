import Foundation

/// Everything a training run is set up from: data, model, optimiser and schedule.
///
/// The keys are the classic PyTorch repo's flag names (`batch_size`, `n_hiddens`, `learning_rate` ...): the keys of
/// `configs/*.json` and, with dashes, the flags of `vqvae-train`. Values are resolved as flag > config file > default.
public struct TrainingConfiguration: KeyedConfiguration, Sendable {
  /// A settable key, spelled as in the JSON files.
  public enum Key: String, ConfigurationKey {
    case dataset
    case dataDir = "data_dir"
    case outputDir = "output_dir"
    case seed
    case batchSize = "batch_size"
    case updates = "n_updates"
    case hiddens = "n_hiddens"
    case residualHiddens = "n_residual_hiddens"
    case residualLayers = "n_residual_layers"
    case embeddingDim = "embedding_dim"
    case embeddings = "n_embeddings"
    case beta
    case learningRate = "learning_rate"
    case logInterval = "log_interval"
    case saveEvery = "save_every"
    case evalEvery = "eval_every"
    case evalBatches = "eval_batches"
    case trainLimit = "train_limit"
    case testLimit = "test_limit"
    case codebookUpdate = "codebook_update"
    case emaDecay = "ema_decay"
    case codebookInit = "codebook_init"
    case deadCodeThreshold = "dead_code_threshold"
    case downsamples
    case pad
    case imageSize = "image_size"
  }

  /// Keys that a saved `config.json` records about the run but that are not settings: accepted and skipped, so a
  /// run's `config.json` can be passed back as `--config`. (`in_channels` comes from the data.)
  /// A pipeline config's `"prior"` object is gated-pixelcnn's, skipped here too.
  static let recordedKeys: Set<String> = [
    "in_channels", "optimizer", "train_count", "test_count", "data_variance", "image_shape", "latent_grid", "prior",
  ]

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
  /// Updates between test-split evaluations; 0 evaluates only at the end.
  public var evalEvery = 1000
  /// Test batches (of `Evaluation.defaultBatchSize`) per intermediate evaluation; nil uses the whole test split.
  /// The final evaluation always uses the whole split.
  public var evalBatches: Int?
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
  public private(set) var origins: [Key: ConfigOrigin] = [:]

  /// The classic repo's defaults.
  public init() {}

  /// Sets `key` from a JSON or flag value, checking its type (a dataset name must be known).
  /// - Throws: `TrainingError` naming the key and its origin.
  public mutating func set(_ key: Key, to value: ConfigValue, from origin: ConfigOrigin) throws {
    let name = origin.describe(key.rawValue, flag: key.flag)
    switch key {
    case .dataset:
      guard let text = try value.optionalString(name) else { throw TrainingError("\(name) must be a string, got null") }
      guard let dataset = DatasetName(parsing: text) else {
        let known = DatasetName.allCases.map(\.rawValue).joined(separator: ", ")
        throw TrainingError("\(name): unknown dataset '\(text)'; choose one of \(known) (any case)")
      }
      self.dataset = dataset
    case .dataDir: dataDir = try value.optionalString(name)
    case .outputDir: outputDir = try value.optionalString(name)
    case .seed: seed = try value.integer(name)
    case .batchSize: batchSize = try value.integer(name)
    case .updates: updates = try value.integer(name)
    case .hiddens: model.hiddens = try value.integer(name)
    case .residualHiddens: model.residualHiddens = try value.integer(name)
    case .residualLayers: model.residualLayers = try value.integer(name)
    case .embeddingDim: model.embeddingDim = try value.integer(name)
    case .embeddings: model.embeddings = try value.integer(name)
    case .beta: model.beta = try value.float(name)
    case .learningRate: learningRate = try value.float(name)
    case .logInterval: logInterval = try value.integer(name)
    case .saveEvery: saveEvery = try value.integer(name)
    case .evalEvery: evalEvery = try value.integer(name)
    case .evalBatches: evalBatches = try value.optionalInteger(name)
    case .trainLimit: trainLimit = try value.optionalInteger(name)
    case .testLimit: testLimit = try value.optionalInteger(name)
    case .codebookUpdate: codebook.update = try value.choice(name, of: CodebookSettings.Update.self)
    case .emaDecay: codebook.emaDecay = try value.float(name)
    case .codebookInit: codebook.initialization = try value.choice(name, of: CodebookSettings.Initialization.self)
    case .deadCodeThreshold: codebook.deadCodeThreshold = try value.float(name)
    case .downsamples: model.downsamples = try value.integer(name)
    case .pad: shaping.pad = try value.boolean(name)
    case .imageSize: shaping.size = try value.optionalInteger(name)
    }
    origins[key] = origin
  }

  /// Applies every key of a JSON config file.
  /// - Throws: `TrainingError` naming the file (and the key) if it cannot be read, is not a JSON object, has an
  ///   unknown key or a value of the wrong type.
  public mutating func apply(contentsOf path: String) throws {
    try apply(ConfigFile.entries(try ConfigFile.object(at: path)), source: path)
  }

  /// Applies every key of the JSON object in `data`; `source` names it in errors.
  mutating func apply(json data: Data, source: String) throws {
    try apply(ConfigFile.entries(try JSONText.parseObject(data, source: source)), source: source)
  }

  public mutating func readRecorded(_ name: String, _ value: ConfigValue, source: String) throws -> Bool {
    // in_channels comes from the data; read back so that a resumed run can check its data against it.
    if name == "in_channels" { model.inChannels = try value.integer("\(source): in_channels") }
    return Self.recordedKeys.contains(name)
  }

  /// Checks every value, naming the flag or file key of the first bad one.
  /// - Throws: `TrainingError`.
  public func validate() throws {
    for (key, value) in [
      (Key.batchSize, batchSize), (.updates, updates), (.residualHiddens, model.residualHiddens),
      (.embeddingDim, model.embeddingDim), (.embeddings, model.embeddings), (.logInterval, logInterval),
    ] {
      try require(value >= 1, key, "at least 1", value)
    }
    try require(model.hiddens >= 2 && model.hiddens % 2 == 0, .hiddens, "even and at least 2", model.hiddens)
    for (key, value) in [
      (Key.residualLayers, model.residualLayers), (.saveEvery, saveEvery), (.evalEvery, evalEvery), (.seed, seed),
    ] {
      try require(value >= 0, key, "at least 0", value)
    }
    for (key, value) in [(Key.evalBatches, evalBatches), (.trainLimit, trainLimit), (.testLimit, testLimit)] {
      if let value { try require(value >= 1, key, "at least 1 when set", value) }
    }
    try require((1...6).contains(model.downsamples), .downsamples, "in 1...6", model.downsamples)
    if let size = shaping.size {
      try require((16...256).contains(size), .imageSize, "in 16...256", size)
      try require(
        dataset == .folder, .imageSize, "unset for \(dataset.rawValue) (it crops and resizes FOLDER images)", size)
    }
    try require(learningRate.isFinite && learningRate > 0, .learningRate, "a positive number", learningRate)
    try require(model.beta.isFinite && model.beta >= 0, .beta, "a non-negative number", model.beta)
    try require(
      codebook.emaDecay > 0 && codebook.emaDecay < 1, .emaDecay, "in (0, 1), such as 0.99", codebook.emaDecay)
    try require(
      codebook.deadCodeThreshold.isFinite && codebook.deadCodeThreshold >= 0, .deadCodeThreshold,
      "a non-negative number (assignments per batch; 0 turns restarts off)", codebook.deadCodeThreshold)
  }

  /// The settings as JSON fields, in key order, followed by `in_channels` and the optimiser.
  var fields: [(String, JSONScalar)] {
    func optional(_ value: Int?) -> JSONScalar { value.map { .integer($0) } ?? .null }
    func optional(_ value: String?) -> JSONScalar { value.map { .string($0) } ?? .null }
    return [
      ("dataset", .string(dataset.rawValue)), ("data_dir", optional(dataDir)), ("output_dir", optional(outputDir)),
      ("seed", .integer(seed)), ("batch_size", .integer(batchSize)), ("n_updates", .integer(updates)),
      ("n_hiddens", .integer(model.hiddens)), ("n_residual_hiddens", .integer(model.residualHiddens)),
      ("n_residual_layers", .integer(model.residualLayers)), ("embedding_dim", .integer(model.embeddingDim)),
      ("n_embeddings", .integer(model.embeddings)), ("beta", .float(model.beta)),
      ("learning_rate", .float(learningRate)), ("log_interval", .integer(logInterval)),
      ("save_every", .integer(saveEvery)), ("eval_every", .integer(evalEvery)),
      ("eval_batches", optional(evalBatches)), ("train_limit", optional(trainLimit)),
      ("test_limit", optional(testLimit)), ("codebook_update", .string(codebook.update.rawValue)),
      ("ema_decay", .float(codebook.emaDecay)), ("codebook_init", .string(codebook.initialization.rawValue)),
      ("dead_code_threshold", .float(codebook.deadCodeThreshold)), ("downsamples", .integer(model.downsamples)),
      ("pad", .boolean(shaping.pad)), ("image_size", optional(shaping.size)),
      ("in_channels", .integer(model.inChannels)),
      ("optimizer", .string("Adam(amsgrad)")),
    ]
  }

  /// The architecture settings on which `other` differs, as "n_hiddens 128 (not 64)", in key order.
  func architectureDifferences(from other: TrainingConfiguration) -> [String] {
    let mine = model
    let theirs = other.model
    return [
      ("in_channels", mine.inChannels, theirs.inChannels), ("n_hiddens", mine.hiddens, theirs.hiddens),
      ("n_residual_hiddens", mine.residualHiddens, theirs.residualHiddens),
      ("n_residual_layers", mine.residualLayers, theirs.residualLayers),
      ("embedding_dim", mine.embeddingDim, theirs.embeddingDim), ("n_embeddings", mine.embeddings, theirs.embeddings),
      ("downsamples", mine.downsamples, theirs.downsamples),
    ].filter { $0.1 != $0.2 }.map { "\($0.0) \($0.2) (not \($0.1))" }
      + (codebook.update == other.codebook.update
        ? [] : ["codebook_update \(other.codebook.update.rawValue) (not \(codebook.update.rawValue))"])
  }
}
