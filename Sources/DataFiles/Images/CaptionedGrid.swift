/// Images tiled with a short caption under each (digits, capitals and `.-+:/()_=`), as an RGB picture: the
/// codebook atlas's tiles with their usage.
///
/// Tiles sit `padding` pixels apart on a white ground, each enlarged by a whole factor when its caption is wider than
/// it, and map values in `range` to bytes as `ImageGrid` does (`ImageGrid.byte`).
public struct CaptionedGrid: Sendable {
  /// Interleaved RGB pixels, top row first.
  public let pixels: [UInt8]
  /// Picture width in pixels.
  public let width: Int
  /// Picture height in pixels.
  public let height: Int
  /// How many times each image is enlarged.
  public let scale: Int

  /// Lays out `captions.count` images of `channels x height x width` floats (NCHW), `columns` to a row.
  public init(
    images: [Float], captions: [String], channels: Int, height imageHeight: Int, width imageWidth: Int,
    columns: Int = 16, padding: Int = 4, range: ClosedRange<Float> = -1...1
  ) {
    let count = captions.count
    precondition(count > 0 && images.count == count * channels * imageHeight * imageWidth, "images do not match")
    precondition(channels == 1 || channels == 3, "captioned images need 1 or 3 channels")
    let widest = captions.map { Canvas.textWidth($0.uppercased()) }.max() ?? 0
    scale = max(1, (widest + imageWidth - 1) / imageWidth)
    let (tileWidth, tileHeight) = (imageWidth * scale, imageHeight * scale)
    let columns = max(1, min(columns, count))
    let rows = (count + columns - 1) / columns
    let (cellWidth, cellHeight) = (tileWidth + padding, tileHeight + 7 + 3 + padding)
    var canvas = Canvas(width: columns * cellWidth + padding, height: rows * cellHeight + padding)
    let plane = imageHeight * imageWidth
    for k in 0..<count {
      let (left, top) = (padding + (k % columns) * cellWidth, padding + (k / columns) * cellHeight)
      for y in 0..<tileHeight {
        for x in 0..<tileWidth {
          let pixel = (y / scale) * imageWidth + x / scale
          let value = (0..<3).map { c in
            ImageGrid.byte(images[(k * channels + (channels == 3 ? c : 0)) * plane + pixel], range: range)
          }
          canvas.blend(left + x, top + y, PlotColor(value[0], value[1], value[2]))
        }
      }
      canvas.text(
        captions[k].uppercased(), x: left + tileWidth / 2, y: top + tileHeight + 2, color: PlotColor(40, 40, 40),
        anchor: 0.5)
    }
    (pixels, width, height) = (canvas.pixels, canvas.width, canvas.height)
  }

  /// Writes the picture as an RGB PNG (atomically, see `writePNG`).
  public func write(to path: String) throws {
    try writePNG(path: path, pixels: pixels, width: width, height: height, channels: 3)
  }
}
