import Foundation

/// A prior's training state as one safetensors file: the shared `TrainingState` (weights under the classic repo's
/// `GatedPixelCNN` names, Adam, data order, update, wall time), with in `__metadata__` its architecture
/// (`n_embeddings`, `dim`, `n_layers`, `n_classes`, `head_hidden`), the latent grid it models (`grid_height`,
/// `grid_width`), the LATENT_BLOCK it learnt from (`latents`), the VQ-VAE checkpoint that made those latents
/// (`vqvae_checkpoint`) and its training settings (`config`), so that `sample` decodes its samples with no other
/// flag and `gated-pixelcnn --resume` goes on. Files written before the grid, the optimiser and the settings were
/// recorded still load for sampling (as 8x8 grids).
public struct PriorCheckpoint: Sendable {
  /// What every checkpoint holds.
  public let state: TrainingState
  /// The architecture.
  public let configuration: PriorConfiguration
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
    model: GatedPixelCNN, optimizer: Adam, sampler: BatchSampler, grid: (height: Int, width: Int), update: Int,
    wallSeconds: Double, latents: String?, vqvaeCheckpoint: String?, configurationJSON: String
  ) -> SafeTensors {
    let c = model.configuration
    var metadata = [
      "model": "gated_pixelcnn", "n_embeddings": "\(c.codes)", "dim": "\(c.dim)", "n_layers": "\(c.layers)",
      "n_classes": "\(c.classes)", "head_hidden": "\(c.headHidden)", "grid_height": "\(grid.height)",
      "grid_width": "\(grid.width)", "config": configurationJSON,
    ]
    metadata["latents"] = latents
    metadata["vqvae_checkpoint"] = vqvaeCheckpoint
    return TrainingState.file(
      module: model, optimizer: optimizer, sampler: sampler, update: update, wallSeconds: wallSeconds,
      metadata: metadata)
  }

  /// Reads a prior checkpoint.
  /// - Throws: `TrainingError` naming the file if it is unreadable or not a gated-pixelcnn checkpoint.
  public init(contentsOf path: String) throws {
    state = try TrainingState(contentsOf: path, kind: "gated-pixelcnn")
    let meta = state.file.metadata
    func integer(_ key: String, absent: Int? = nil) throws -> Int {
      if meta[key] == nil, let absent { return absent }
      guard let text = meta[key], let value = Int(text), value >= 0 else {
        throw TrainingError("\(path): not a gated-pixelcnn checkpoint (its __metadata__ lacks a valid '\(key)')")
      }
      return value
    }
    configuration = PriorConfiguration(
      codes: try integer("n_embeddings"), dim: try integer("dim"), layers: try integer("n_layers"),
      classes: try integer("n_classes"), headHidden: try integer("head_hidden"))
    guard configuration.codes >= 1, configuration.dim >= 1, configuration.layers >= 1 else {
      throw TrainingError("\(path): the recorded architecture has a zero size")
    }
    grid = (try integer("grid_height", absent: 8), try integer("grid_width", absent: 8))
    guard grid.height >= 1, grid.width >= 1 else { throw TrainingError("\(path): the recorded grid has a zero side") }
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
  /// - Throws: `TrainingError` naming the file and the first missing or mis-shaped tensor.
  public func model() throws -> GatedPixelCNN {
    var rng = RandomGenerator(seed: 0)
    let model = GatedPixelCNN(configuration, rng: &rng)
    try state.loadWeights(into: model)
    return model
  }
}
