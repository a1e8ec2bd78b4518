import Foundation

/// Everything a prior's training run is set up from: the LATENT_BLOCK, the model, the optimiser and the schedule.
///
/// The keys are the underscore spellings (`batch_size`, `n_layers` ...): the keys of a JSON config file (its top
/// level, or its `"prior"` object when it also configures the VQ-VAE) and, with dashes, the flags of
/// `gated-pixelcnn`. Values are resolved as flag > config file > default.
public struct PriorTrainingConfiguration: StageSettings {
  /// The only dataset the prior learns from.
  public static let datasetName = "LATENT_BLOCK"

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
  /// Adam's step size (the transformer's peak, after its warm-up; its own default when not set, see `forModel`).
  public var learningRate: Float = 3e-4
  /// The kind of prior.
  public var model = Model.gatedPixelCNN
  /// Channels of the stacks, or the transformer's width; its own default when not set (see `forModel`).
  public var dim = 64
  /// Gated layers, or transformer blocks; its own default when not set (see `forModel`).
  public var layers = 15
  /// The transformer's attention heads per block.
  public var heads = 4
  /// The transformer's dropout while training (embeddings and each block's branches).
  public var dropout: Float = 0.1
  /// The transformer's probability of training a grid without its class, so that `sample --guidance` can mix the
  /// conditional and unconditional predictions (classifier-free guidance).
  public var classDropout: Float = 0.1
  /// The transformer's AdamW weight decay (not on biases, layer norms and embeddings).
  public var weightDecay: Float = 0.01
  /// The transformer's updates of linear learning-rate warm-up, before a cosine decay to a tenth of the peak.
  public var warmupUpdates = 200
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
  /// Write TensorBoard event files (scalars, pictures, code usage, settings) as the run goes.
  public var tensorBoard = true
  /// Use only the first N training grids.
  public var trainLimit: Int?
  /// Use only the first N test grids.
  public var testLimit: Int?
  /// Where each key that is not at its default was last set.
  public var origins: [String: ConfigOrigin] = [:]

  /// The kinds of prior `gated-pixelcnn` trains.
  public enum Model: String, CaseIterable, Sendable {
    /// The gated PixelCNN of van den Oord et al. (2016): Adam, a constant learning rate.
    case gatedPixelCNN = "gated_pixelcnn"
    /// A GPT over the raster-ordered grid: AdamW, warm-up and cosine decay.
    case transformer
  }

  /// The transformer's `dim`, `n_layers` and `learning_rate` when a run does not set them: a size that trains on
  /// Fashion-MNIST's latents about as fast per grid as the gated PixelCNN's default, and the learning rate that did
  /// best in a short trial of 3e-4 and 1e-3 (README).
  static let transformerDefaults = (dim: 128, layers: 6, learningRate: Float(1e-3))

  /// The defaults.
  public init() {}

  /// The settings as the model trains them: the transformer's own `dim`, `n_layers` and `learning_rate` where the
  /// run leaves the gated PixelCNN's defaults unset.
  public var forModel: PriorTrainingConfiguration {
    guard model == .transformer else { return self }
    var settings = self
    let defaults = Self.transformerDefaults
    if origins["dim"] == nil { settings.dim = defaults.dim }
    if origins["n_layers"] == nil { settings.layers = defaults.layers }
    if origins["learning_rate"] == nil { settings.learningRate = defaults.learningRate }
    return settings
  }

  public static let section: String? = "prior"

  /// Keys a saved `config.json` records about the run but that are not settings (accepted and skipped).
  public static let recordedKeys: Set<String> = [
    "n_embeddings", "n_classes", "grid_shape", "optimizer", "vqvae_checkpoint",
  ]

  public static let settings: [Setting<PriorTrainingConfiguration>] = [
    .custom(
      "dataset", valueName: "name", help: "LATENT_BLOCK: the code grids that extract-latents writes",
      read: { _ in .string(datasetName) },
      write: { _, value, name in
        let text = try value.optionalString(name) ?? ""
        guard text.uppercased().filter({ $0 != "_" && $0 != "-" }) == "LATENTBLOCK" else {
          throw TrainingError(
            "\(name): the prior learns from the LATENT_BLOCK dataset (code-index grids made by extract-latents), "
              + "not '\(text)'; pass --dataset LATENT_BLOCK and --latents DIR")
        }
      }),
    .text("latents", \.latents, unset: "the newest finished run's latents/", help: "LATENT_BLOCK folder"),
    .text("output_dir", \.outputDir, unset: "prior/ beside the latents", help: "Prior folder"),
    .integer("seed", \.seed, .atLeast(0), help: "Seed of the weights, the data order and the samples"),
    .integer("batch_size", \.batchSize, .atLeast(1), help: "Grids per update"),
    .integer("epochs", \.epochs, .atLeast(1), help: "Passes over the training grids"),
    .optionalInteger(
      "n_updates", \.updates, .atLeast(1), unset: "the epochs'", help: "Stop after this many updates"),
    .number(
      "learning_rate", \.learningRate, .positive,
      help: "Adam learning rate (transformer: the peak after warm-up, default \(transformerDefaults.learningRate))"),
    .choice(
      "model", \.model, architecture: true,
      help: "The prior: gated_pixelcnn, or transformer (a GPT over the grid in raster order)"),
    .integer(
      "dim", \.dim, .atLeast(1), architecture: true,
      help: "Channels of the vertical and horizontal stacks (transformer: its width, default "
        + "\(transformerDefaults.dim))"),
    .integer(
      "n_layers", \.layers, .atLeast(1), architecture: true,
      help: "Gated layers: the first 7x7 with mask A, the rest 3x3 with mask B (transformer: its blocks, default "
        + "\(transformerDefaults.layers))"),
    .integer(
      "heads", \.heads, .atLeast(1), architecture: true, help: "Transformer: attention heads (dim a multiple of them)"),
    .number(
      "dropout", \.dropout, .custom("in [0, 1)") { $0.isFinite && $0 >= 0 && $0 < 1 }, architecture: true,
      help: "Transformer: dropout on the embeddings and each block's branches while training"),
    .number(
      "class_dropout", \.classDropout, .custom("in [0, 1)") { $0.isFinite && $0 >= 0 && $0 < 1 }, architecture: true,
      help:
        "Transformer with labels: the share of training grids shown without their class, so that sample --guidance "
        + "works (0: no guidance)"),
    .number(
      "weight_decay", \.weightDecay, .nonNegative,
      help: "Transformer: AdamW's decoupled weight decay (not on biases, layer norms, embeddings)"),
    .integer(
      "warmup_updates", \.warmupUpdates, .atLeast(0),
      help:
        "Transformer: updates of linear warm-up (at most the run's), then cosine decay to a tenth of the learning rate"),
    .integer(
      "head_hidden", \.headHidden, .atLeast(0), architecture: true,
      help: "Channels of a hidden 1x1 + ReLU layer in the head; 0: a single 1x1 head"),
    .boolean(
      "class_conditioning", \.classConditioning, architecture: true,
      help: "Condition on the labels when the latents have them (a class embedding added to every gate)"),
    .integer("log_interval", \.logInterval, .atLeast(1), help: "Updates per metrics line"),
    .integer("eval_every", \.evalEvery, .atLeast(0), help: "Updates between test evaluations; 0: at the end only"),
    .optionalInteger(
      "eval_batches", \.evalBatches, .atLeast(1),
      help: "Test batches of \(PriorEvaluation.batchSize) grids per evaluation during training (the final one uses all)"
    ),
    .integer(
      "save_every", \.saveEvery, .atLeast(0),
      help: "Updates between numbered checkpoints; 0: the final and the best only"),
    .boolean(
      "tensorboard", \.tensorBoard,
      help: "Write TensorBoard event files into the prior folder's tb/ (--no-tensorboard: false)"),
    .optionalInteger("train_limit", \.trainLimit, .atLeast(1), help: "Use only the first N training grids"),
    .optionalInteger("test_limit", \.testLimit, .atLeast(1), help: "Use only the first N test grids"),
  ]
}
