import Foundation

/// A prior's training state as one safetensors file: the shared `TrainingState` (weights under the prior's PyTorch
/// names, the classic repo's `GatedPixelCNN` ones for the gated PixelCNN; Adam, data order, update, wall time), with
/// in `__metadata__` its kind (`model`) and architecture (for the gated PixelCNN `n_embeddings`, `dim`, `n_layers`,
/// `n_classes`, `head_hidden`), the latent grid it models (`grid_height`,
/// `grid_width`), the LATENT_BLOCK it learnt from (`latents`), the VQ-VAE checkpoint that made those latents
/// (`vqvae_checkpoint`) and its training settings (`config`), so that `sample` decodes its samples with no other
/// flag and `gated-pixelcnn --resume` goes on. Files written before the grid, the optimiser and the settings were
/// recorded still load for sampling (as 8x8 grids).
public struct PriorCheckpoint: Sendable {
  /// What every checkpoint holds.
  public let state: TrainingState
  /// The kind of prior (`Prior.kind`).
  public let kind: String
  /// Its architecture (`Prior.architecture`).
  public let architecture: [String: String]
  /// The latent grid it models.
  public let grid: (height: Int, width: Int)
  /// The LATENT_BLOCK folder it learnt from, if recorded.
  public let latents: String?
  /// The VQ-VAE checkpoint that encoded those latents, if recorded.
  public let vqvaeCheckpoint: String?
  /// The training settings; nil in files written before they were recorded.
  public let settings: PriorTrainingConfiguration?
  /// The file this was read from.
  public var path: String { state.path }
  /// Updates done when it was saved.
  public var update: Int { state.update }

  /// The checkpoint file of a prior's training state.
  static func file(
    model: any Prior, optimizer: Adam, sampler: BatchSampler, grid: (height: Int, width: Int), update: Int,
    wallSeconds: Double, latents: String?, vqvaeCheckpoint: String?, configurationJSON: String
  ) -> SafeTensors {
    var metadata = model.architecture.merging([
      "model": type(of: model).kind, "grid_height": "\(grid.height)", "grid_width": "\(grid.width)",
      "config": configurationJSON,
    ]) { $1 }
    metadata["latents"] = latents
    metadata["vqvae_checkpoint"] = vqvaeCheckpoint
    var file = TrainingState.file(
      module: model, optimizer: optimizer, sampler: sampler, update: update, wallSeconds: wallSeconds,
      metadata: metadata)
    if let transformer = model as? TransformerPrior {
      file.add(
        dropoutGeneratorName, int64s: transformer.dropoutGenerator.state.map { Int64(bitPattern: $0) }, shape: [4])
    }
    return file
  }

  /// The transformer's dropout generator, so that a resumed run draws the masks an uninterrupted one would.
  static let dropoutGeneratorName = "dropout_rng.state"

  /// Reads a prior checkpoint.
  /// - Throws: `TrainingError` naming the file if it is unreadable or not a prior's checkpoint.
  public init(contentsOf path: String) throws {
    try self.init(state: TrainingState(contentsOf: path, kind: "gated-pixelcnn"))
  }

  /// The prior checkpoint of a state read by `TrainingState`.
  /// - Throws: `TrainingError` naming the file if it is not a prior's checkpoint.
  public init(state: TrainingState) throws {
    self.state = state
    let (meta, path) = (state.file.metadata, state.path)
    guard meta["n_embeddings"] != nil else {
      throw TrainingError("\(path): not a prior checkpoint (its __metadata__ lacks n_embeddings)")
    }
    (kind, architecture) = (meta["model"] ?? GatedPixelCNN.kind, meta)
    func side(_ key: String) throws -> Int {
      guard let text = meta[key] else { return 8 }
      // A grid side is an image side (at most 256) halved at least once.
      guard let value = Int(text), (1...128).contains(value) else {
        throw TrainingError("\(path): '\(key)' \(text) is not a grid side (1 to 128)")
      }
      return value
    }
    grid = (try side("grid_height"), try side("grid_width"))
    (latents, vqvaeCheckpoint) = (meta["latents"], meta["vqvae_checkpoint"])
    if let json = meta["config"] {
      var settings = PriorTrainingConfiguration()
      try settings.apply(json: Data(json.utf8), source: "\(path) (__metadata__ config)")
      self.settings = settings
    } else {
      settings = nil
    }
  }

  /// The prior with the checkpoint's weights.
  /// - Throws: `TrainingError` naming the file and what is wrong: an unknown kind, a bad architecture, or the
  ///   first missing or mis-shaped tensor.
  public func model() throws -> any Prior {
    var rng = RandomGenerator(seed: 0)
    let model: any Prior
    do {
      try MemoryEstimate.checkWeights(
        "the prior", Priors.footprint(kind: kind, architecture: architecture, height: grid.height, width: grid.width))
      model = try Priors.make(kind: kind, architecture: architecture, rng: &rng)
    } catch {
      throw TrainingError("\(path): \(error)")
    }
    try state.loadWeights(into: model)
    return model
  }
}
