import Foundation

/// Everything a prior's training run is set up from: the LATENT_BLOCK, the model, the optimiser and the schedule.
///
/// The keys are the underscore spellings (`batch_size`, `n_layers` ...): the keys of a JSON config file (its top
/// level, or its `"prior"` object when it also configures the VQ-VAE) and, with dashes, the flags of
/// `gated-pixelcnn`. Values are resolved as flag > config file > default.
public struct PriorTrainingConfiguration: KeyedConfiguration, Sendable {
  /// A settable key, spelled as in the JSON files.
  public enum Key: String, ConfigurationKey {
    case dataset
    case latents
    case outputDir = "output_dir"
    case seed
    case batchSize = "batch_size"
    case epochs
    case updates = "n_updates"
    case learningRate = "learning_rate"
    case dim
    case layers = "n_layers"
    case headHidden = "head_hidden"
    case classConditioning = "class_conditioning"
    case logInterval = "log_interval"
    case evalEvery = "eval_every"
    case evalBatches = "eval_batches"
    case saveEvery = "save_every"
    case trainLimit = "train_limit"
    case testLimit = "test_limit"
  }

  /// The only dataset the prior learns from.
  public static let datasetName = "LATENT_BLOCK"
  /// Keys a saved `config.json` records about the run but that are not settings (accepted and skipped).
  static let recordedKeys: Set<String> = ["n_embeddings", "n_classes", "grid_shape", "optimizer", "vqvae_checkpoint"]

  /// The LATENT_BLOCK folder; nil takes the newest finished run's `latents/`.
  public var latents: String?
  /// The prior's folder; nil makes `<run>/prior` beside the latents.
  public var outputDir: String?
  /// Seeds the initial weights, the data order and the sample grid.
  public var seed = 0
  /// Grids per update.
  public var batchSize = 32
  /// Passes over the training grids (about 1,875 updates each for 60,000 grids at batch 32).
  public var epochs = 2
  /// Stop after this many updates, if fewer than `epochs` take.
  public var updates: Int?
  /// Adam's step size.
  public var learningRate: Float = 3e-4
  /// Channels of the stacks.
  public var dim = 64
  /// Gated layers.
  public var layers = 15
  /// Channels of a hidden 1x1 + ReLU layer in the head; 0 for a single 1x1 head.
  public var headHidden = 0
  /// Condition on the labels when the LATENT_BLOCK has them.
  public var classConditioning = true
  /// Updates per line of training metrics.
  public var logInterval = 50
  /// Updates between test evaluations; 0 evaluates only at the end.
  public var evalEvery = 500
  /// Test batches (of `PriorEvaluation.batchSize`) per evaluation during training; nil uses the whole split. The
  /// final evaluation always uses the whole split.
  public var evalBatches: Int? = 8
  /// Updates between checkpoints `prior-<update>.safetensors`; 0 saves only the final one.
  public var saveEvery = 1000
  /// Use only the first N training grids.
  public var trainLimit: Int?
  /// Use only the first N test grids.
  public var testLimit: Int?
  /// Where each key that is not at its default was last set.
  public private(set) var origins: [Key: ConfigOrigin] = [:]

  /// The defaults.
  public init() {}

  /// Sets `key` from a JSON or flag value, checking its type.
  /// - Throws: `TrainingError` naming the key and its origin.
  public mutating func set(_ key: Key, to value: ConfigValue, from origin: ConfigOrigin) throws {
    let name = origin.describe(key.rawValue, flag: key.flag)
    switch key {
    case .dataset:
      let text = try value.optionalString(name) ?? ""
      guard text.uppercased().filter({ $0 != "_" && $0 != "-" }) == "LATENTBLOCK" else {
        throw TrainingError(
          "\(name): the prior learns from the LATENT_BLOCK dataset (code-index grids made by extract-latents), not "
            + "'\(text)'; pass --dataset LATENT_BLOCK and --latents DIR")
      }
    case .latents: latents = try value.optionalString(name)
    case .outputDir: outputDir = try value.optionalString(name)
    case .seed: seed = try value.integer(name)
    case .batchSize: batchSize = try value.integer(name)
    case .epochs: epochs = try value.integer(name)
    case .updates: updates = try value.optionalInteger(name)
    case .learningRate: learningRate = try value.float(name)
    case .dim: dim = try value.integer(name)
    case .layers: layers = try value.integer(name)
    case .headHidden: headHidden = try value.integer(name)
    case .classConditioning: classConditioning = try value.boolean(name)
    case .logInterval: logInterval = try value.integer(name)
    case .evalEvery: evalEvery = try value.integer(name)
    case .evalBatches: evalBatches = try value.optionalInteger(name)
    case .saveEvery: saveEvery = try value.integer(name)
    case .trainLimit: trainLimit = try value.optionalInteger(name)
    case .testLimit: testLimit = try value.optionalInteger(name)
    }
    origins[key] = origin
  }

  /// Applies the keys of a JSON config file: its `"prior"` object when it has one (a file that configures the
  /// whole pipeline), else every key.
  /// - Throws: `TrainingError` naming the file and the key for unknown keys or wrong types.
  public mutating func apply(contentsOf path: String) throws {
    var object = try ConfigFile.object(at: path)
    var source = path
    if let section = object["prior"] {
      guard let prior = section as? [String: Any] else { throw TrainingError("\(path): \"prior\" must be an object") }
      (object, source) = (prior, "\(path) (prior)")
    }
    try apply(ConfigFile.entries(object), source: source)
  }

  public mutating func readRecorded(_ name: String, _ value: ConfigValue, source: String) throws -> Bool {
    Self.recordedKeys.contains(name)
  }

  /// Checks every value, naming the flag or file key of the first bad one.
  /// - Throws: `TrainingError`.
  public func validate() throws {
    for (key, value) in [
      (Key.batchSize, batchSize), (.epochs, epochs), (.dim, dim), (.layers, layers), (.logInterval, logInterval),
    ] {
      try require(value >= 1, key, "at least 1", value)
    }
    for (key, value) in [(Key.headHidden, headHidden), (.evalEvery, evalEvery), (.saveEvery, saveEvery), (.seed, seed)]
    {
      try require(value >= 0, key, "at least 0", value)
    }
    for (key, value) in [
      (Key.updates, updates), (.evalBatches, evalBatches), (.trainLimit, trainLimit), (.testLimit, testLimit),
    ] {
      if let value { try require(value >= 1, key, "at least 1 when set", value) }
    }
    try require(learningRate.isFinite && learningRate > 0, .learningRate, "a positive number", learningRate)
  }

  /// The settings as JSON fields, in key order.
  var fields: [(String, JSONScalar)] {
    func optional(_ value: Int?) -> JSONScalar { value.map { .integer($0) } ?? .null }
    return [
      ("dataset", .string(Self.datasetName)), ("latents", latents.map { .string($0) } ?? .null),
      ("output_dir", outputDir.map { .string($0) } ?? .null), ("seed", .integer(seed)),
      ("batch_size", .integer(batchSize)), ("epochs", .integer(epochs)), ("n_updates", optional(updates)),
      ("learning_rate", .float(learningRate)), ("dim", .integer(dim)), ("n_layers", .integer(layers)),
      ("head_hidden", .integer(headHidden)), ("class_conditioning", .boolean(classConditioning)),
      ("log_interval", .integer(logInterval)), ("eval_every", .integer(evalEvery)),
      ("eval_batches", optional(evalBatches)), ("save_every", .integer(saveEvery)),
      ("train_limit", optional(trainLimit)), ("test_limit", optional(testLimit)), ("optimizer", .string("Adam")),
    ]
  }
}
