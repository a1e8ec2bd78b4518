import Foundation

/// Code-index grids of images and images of code-index grids: what `encode` and `decode` save and read, as int64
/// `.npy` files of shape (N, H, W), the LATENT_BLOCK's layout.
public struct CodeGrids: Sendable {
  /// The codes, grid after grid, row-major.
  public let indices: [Int]
  /// Grids.
  public let count: Int
  /// Grid height and width.
  public let height: Int
  public let width: Int

  /// - Precondition: `indices` fills `count` grids of `height x width`.
  public init(indices: [Int], count: Int, height: Int, width: Int) {
    precondition(indices.count == count * height * width, "CodeGrids: indices do not fill the grids")
    (self.indices, self.count, self.height, self.width) = (indices, count, height, width)
  }

  /// The code grids of `images`, encoded by `model` in batches of `batchSize` with gradients off; `progress` hears
  /// how many images are done after each batch.
  /// - Throws: `TensorError` if the images do not fit the model.
  public init(
    encoding images: ImageDataset, with model: VQVAE, batchSize: Int = 256, progress: ((Int) -> Void)? = nil
  ) throws {
    let grid = model.configuration.latentGrid(height: images.height, width: images.width)
    var indices: [Int] = []
    indices.reserveCapacity(images.count * grid.height * grid.width)
    let batchSize = max(1, min(batchSize, images.count))
    let input = Tensor(zeros: [batchSize, images.channels, images.height, images.width])
    for first in stride(from: 0, to: images.count, by: batchSize) {
      let batch = Array(first..<min(first + batchSize, images.count))
      // Whole batches reuse one input tensor; the last, shorter one gets its own.
      let tensor =
        batch.count == batchSize
        ? input : Tensor(zeros: [batch.count, images.channels, images.height, images.width])
      tensor.data.withUnsafeMutableBufferPointer { images.fillBatch(indices: batch, into: $0) }
      indices += try model.encodeIndices(tensor)
      progress?(first + batch.count)
    }
    self.init(indices: indices, count: images.count, height: grid.height, width: grid.width)
  }

  /// Reads an int64 `.npy` of shape (N, H, W), or (H, W) for one grid, written by `encode`, `sample
  /// --save-indices`, `extract-latents` or any other tool, and checks it against `model`: its grids must be the
  /// model's latent grid for `imageShape` (`[C, H, W]`) and every code must lie in its codebook.
  /// - Throws: `FileError` naming the file and what does not fit.
  public init(contentsOf path: String, for model: VQVAE, imageShape: [Int]) throws {
    let (values, shape) = try NPY.read(contentsOf: path)
    let grid = model.configuration.latentGrid(height: imageShape[1], width: imageShape[2])
    let count: Int
    switch shape.count {
    case 2: count = 1
    case 3: count = shape[0]
    default:
      throw FileError(path, "has shape \(shape); code grids are (N, H, W), or (H, W) for one grid")
    }
    guard count > 0 else { throw FileError(path, "holds no grids (shape \(shape))") }
    guard Array(shape.suffix(2)) == [grid.height, grid.width] else {
      throw FileError(
        path,
        "holds \(shape[shape.count - 2])x\(shape[shape.count - 1]) grids but the VQ-VAE's latent grid is "
          + "\(grid.height)x\(grid.width) (for \(imageShape[1])x\(imageShape[2]) images)")
    }
    let k = model.configuration.embeddings
    if let at = values.firstIndex(where: { !(0..<k).contains($0) }) {
      throw FileError(
        path, "code \(values[at]) at position \(at) is outside the VQ-VAE's codebook (K \(k): 0 to \(k - 1))")
    }
    self.init(indices: values, count: count, height: grid.height, width: grid.width)
  }

  /// Writes the grids as an int64 `.npy` of shape (N, H, W), atomically.
  /// - Throws: `FileError` if the file cannot be written.
  public func write(to path: String) throws {
    try NPY.write(indices, shape: [count, height, width], to: path)
  }

  /// The grids decoded by `model` into NCHW images on the [-1, 1] scale, `batchSize` grids at a time.
  /// - Throws: `TensorError` if a code lies outside the codebook.
  public func decoded(by model: VQVAE, batchSize: Int = 64) throws -> [Float] {
    let size = height * width
    var images: [Float] = []
    for first in stride(from: 0, to: count, by: batchSize) {
      let n = min(batchSize, count - first)
      images += try model.decode(
        indices: Array(indices[(first * size)..<((first + n) * size)]), batch: n, height: height, width: width
      ).data
    }
    return images
  }
}
