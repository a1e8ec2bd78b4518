import Foundation

/// A walk between two images through the latent space: their encoder outputs z_e blended in equal steps, each blend
/// quantised to the nearest codes and decoded. The strip shows the first image, the decoded steps (the first and the
/// last are the two reconstructions) and the second image.
public struct Interpolation: Sendable {
  /// The quantised code grid of each step.
  public let grids: CodeGrids
  /// The strip.
  public let picture: ImageGrid

  /// Interpolates between the two images of `images` in `steps` steps (at least 2).
  /// - Throws: `TensorError` if the images do not fit the model.
  public init(vqvae: VQVAE, images: ImageDataset, steps: Int) throws {
    precondition(images.count == 2 && steps >= 2, "Interpolation: two images and at least two steps")
    let originals = images.batch(indices: [0, 1])
    let z = try withoutGrad {
      try vqvae.encode(try Tensor(originals, shape: [2, images.channels, images.height, images.width]))
    }
    // z_e is channel-major [D, 2, h, w]: image b's vector at position p of channel d is at (d · 2 + b) · hw + p.
    let (d, h, w) = (z.shape[0], z.shape[2], z.shape[3])
    let positions = h * w
    var blends = [Float](repeating: 0, count: d * steps * positions)
    for s in 0..<steps {
      let t = Float(s) / Float(steps - 1)
      for c in 0..<d {
        for p in 0..<positions {
          let (a, b) = (z.data[(c * 2) * positions + p], z.data[(c * 2 + 1) * positions + p])
          blends[(c * steps + s) * positions + p] = (1 - t) * a + t * b
        }
      }
    }
    let codes = try withoutGrad {
      try vqvae.quantizer.nearestCodes(try Tensor(blends, shape: [d, steps * positions]))
    }
    grids = CodeGrids(indices: codes, count: steps, height: h, width: w)
    let decoded = try grids.decoded(by: vqvae)
    let size = images.imageSize
    picture = ImageGrid(
      images: Array(originals[0..<size]) + decoded + Array(originals[size...]), count: steps + 2,
      channels: images.channels, height: images.height, width: images.width, nrow: steps + 2)
  }
}
