/// Centre crop to a square, then an area resize (each output pixel the coverage-weighted mean of the input pixels
/// under it, as OpenCV's INTER_AREA and PIL's box filter): what image-folder presets such as DL-Demos' CelebA
/// loader do with `CenterCrop` and `Resize`.
enum AreaResize {
  /// The interleaved (HWC) `pixels` of a `width x height` image with `channels` channels, centre-cropped to a
  /// square of the shorter side and resized to `size x size`, still interleaved.
  static func squared(_ pixels: [UInt8], width: Int, height: Int, channels: Int, size: Int) -> [UInt8] {
    let side = min(width, height)
    let (left, top) = ((width - side) / 2, (height - side) / 2)
    let columns = weights(from: side, to: size)
    let rows = weights(from: side, to: size)
    // Horizontal pass over the cropped rows, then the vertical pass; in Float so that nothing rounds twice.
    var horizontal = [Float](repeating: 0, count: side * size * channels)
    for y in 0..<side {
      let source = ((top + y) * width + left) * channels
      for (x, taps) in columns.enumerated() {
        for c in 0..<channels {
          var sum: Float = 0
          for (index, weight) in taps { sum += weight * Float(pixels[source + index * channels + c]) }
          horizontal[(y * size + x) * channels + c] = sum
        }
      }
    }
    var result = [UInt8](repeating: 0, count: size * size * channels)
    for (y, taps) in rows.enumerated() {
      for x in 0..<size {
        for c in 0..<channels {
          var sum: Float = 0
          for (index, weight) in taps { sum += weight * horizontal[(index * size + x) * channels + c] }
          result[(y * size + x) * channels + c] = UInt8(min(255, max(0, sum.rounded())))
        }
      }
    }
    return result
  }

  /// For each of `outputs` pixels, the input pixels it covers and their weights (summing to 1): output pixel `i`
  /// spans `[i · inputs / outputs, (i + 1) · inputs / outputs)` of the input.
  static func weights(from inputs: Int, to outputs: Int) -> [[(index: Int, weight: Float)]] {
    let scale = Double(inputs) / Double(outputs)
    return (0..<outputs).map { i in
      let (start, end) = (Double(i) * scale, Double(i + 1) * scale)
      var taps: [(Int, Float)] = []
      var j = Int(start)
      while Double(j) < end && j < inputs {
        let overlap = min(end, Double(j + 1)) - max(start, Double(j))
        if overlap > 1e-9 { taps.append((j, Float(overlap / scale))) }
        j += 1
      }
      return taps
    }
  }
}
