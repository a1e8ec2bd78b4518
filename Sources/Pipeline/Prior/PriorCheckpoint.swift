import Foundation

/// A prior's weights as one safetensors file, under the classic repo's `GatedPixelCNN` names, with its architecture
/// in `__metadata__` (`n_embeddings`, `dim`, `n_layers`, `n_classes`, `head_hidden`), the latent grid it models
/// (`grid_height`, `grid_width`; 8x8 for files written before they were recorded), the `update`, the LATENT_BLOCK
/// it learnt from (`latents`) and the VQ-VAE checkpoint that made those latents (`vqvae_checkpoint`), so that
/// `sample` can decode its samples with no other flag.
public struct PriorCheckpoint: Sendable {
  /// The file this was read from.
  public let path: String
  /// The architecture.
  public let configuration: PriorConfiguration
  /// The latent grid it models.
  public let grid: (height: Int, width: Int)
  /// Updates done when it was saved.
  public let update: Int
  /// The LATENT_BLOCK folder it learnt from, if recorded.
  public let latents: String?
  /// The VQ-VAE checkpoint that encoded those latents, if recorded.
  public let vqvaeCheckpoint: String?
  private let file: SafeTensors

  /// Writes `model`'s weights and the metadata atomically.
  /// - Throws: `TrainingError` if the file cannot be written.
  public static func write(
    _ model: GatedPixelCNN, to path: String, grid: (height: Int, width: Int), update: Int, latents: String?,
    vqvaeCheckpoint: String?
  ) throws {
    let c = model.configuration
    var metadata = [
      "model": "gated_pixelcnn", "n_embeddings": "\(c.codes)", "dim": "\(c.dim)", "n_layers": "\(c.layers)",
      "n_classes": "\(c.classes)", "head_hidden": "\(c.headHidden)", "update": "\(update)",
      "grid_height": "\(grid.height)", "grid_width": "\(grid.width)",
    ]
    metadata["latents"] = latents
    metadata["vqvae_checkpoint"] = vqvaeCheckpoint
    var file = SafeTensors(metadata: metadata)
    for (name, tensor) in model.namedParameters { file.add(name, floats: tensor.data, shape: tensor.shape) }
    do { try file.write(to: path) } catch { throw TrainingError("cannot save the prior: \(error)") }
  }

  /// Reads a prior checkpoint.
  /// - Throws: `TrainingError` naming the file if it is unreadable or not a gated-pixelcnn checkpoint.
  public init(contentsOf path: String) throws {
    do {
      file = try SafeTensors.read(contentsOf: path)
    } catch {
      throw TrainingError("cannot read the prior checkpoint: \(error)")
    }
    let meta = file.metadata
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
    update = try integer("update")
    (self.path, latents, vqvaeCheckpoint) = (path, meta["latents"], meta["vqvae_checkpoint"])
  }

  /// The prior with the checkpoint's weights.
  /// - Throws: `TrainingError` naming the file and the first missing or mis-shaped tensor.
  public func model() throws -> GatedPixelCNN {
    var rng = RandomGenerator(seed: 0)
    let model = GatedPixelCNN(configuration, rng: &rng)
    do { try model.load(from: file) } catch { throw TrainingError("\(path): \(error)") }
    return model
  }
}
