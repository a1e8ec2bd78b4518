import TensorEngine

/// Images tiled into one picture exactly as torchvision's `make_grid` + `save_image` do it, as 8-bit pixels.
///
/// `min(nrow, count)` columns, `ceil(count / columns)` rows, `padding` pixels of 0 around and between the images:
/// a 10x10 grid of 32x32 images is 342x342, image `k` sits at row `2 + (k / 10) * 34`, column `2 + (k % 10) * 34`.
/// A single image comes back unpadded, as in torchvision. Gray images stay 1-channel (torchvision copies them
/// into three identical channels, which a gray PNG shows the same).
public struct ImageGrid: Sendable {
  /// Grid pixels, interleaved (H x W x C), top row first, ready for `writePNG`.
  public let pixels: [UInt8]
  /// Grid width in pixels.
  public let width: Int
  /// Grid height in pixels.
  public let height: Int
  /// 1 (gray) or 3 (RGB).
  public let channels: Int

  /// Lays out `count` images of `channels x height x width` floats (NCHW). Values are clamped to `range`, mapped
  /// to [0, 1] and then to bytes as `UInt8(v * 255 + 0.5)`, torchvision's `normalize=True, value_range=range`.
  public init(
    images: [Float], count: Int, channels: Int, height: Int, width: Int, nrow: Int = 8, padding: Int = 2,
    range: ClosedRange<Float> = -1...1
  ) {
    precondition(count > 0 && images.count == count * channels * height * width, "images do not match the shape")
    precondition(channels == 1 || channels == 3, "grid images need 1 or 3 channels")
    let pad = count == 1 ? 0 : padding
    let columns = min(nrow, count)
    let rows = (count + columns - 1) / columns
    let gridWidth = columns * (width + pad) + pad
    let gridHeight = rows * (height + pad) + pad
    var grid = [UInt8](repeating: 0, count: gridWidth * gridHeight * channels)
    for k in 0..<count {
      let top = pad + (k / columns) * (height + pad)
      let left = pad + (k % columns) * (width + pad)
      for c in 0..<channels {
        for y in 0..<height {
          for x in 0..<width {
            grid[((top + y) * gridWidth + left + x) * channels + c] = Self.byte(
              images[((k * channels + c) * height + y) * width + x], range: range)
          }
        }
      }
    }
    self.pixels = grid
    self.width = gridWidth
    self.height = gridHeight
    self.channels = channels
  }

  /// `value` clamped to `range`, mapped to [0, 1] and then to a byte as `UInt8(v * 255 + 0.5)`, as torchvision's
  /// `save_image` does. NaN would trap in the conversion; torchvision's result is undefined there, 0 is as good.
  static func byte(_ value: Float, range: ClosedRange<Float>) -> UInt8 {
    let span = max(range.upperBound - range.lowerBound, 1e-5)
    let unit = (min(max(value, range.lowerBound), range.upperBound) - range.lowerBound) / span
    return unit.isNaN ? 0 : UInt8(min(max(unit * 255 + 0.5, 0), 255))
  }

  /// Writes the grid as a gray or RGB PNG (atomically, see `writePNG`).
  public func write(to path: String) throws {
    try writePNG(path: path, pixels: pixels, width: width, height: height, channels: channels)
  }
}
