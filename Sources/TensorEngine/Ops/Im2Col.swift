/// The geometry shared by a convolution and its transpose: an image side `[channels, batch, height, width]` (CNHW)
/// and a patch side of `outputHeight x outputWidth` kernel positions. The im2col matrix has one row per
/// (channel, kernel row, kernel column) and one column per (image, output row, output column).
struct ConvGeometry {
  let batch: Int
  let channels: Int
  let height: Int
  let width: Int
  let kernelHeight: Int
  let kernelWidth: Int
  let strideHeight: Int
  let strideWidth: Int
  let paddingHeight: Int
  let paddingWidth: Int
  let outputHeight: Int
  let outputWidth: Int

  /// Rows of the im2col matrix: channels · kh · kw.
  var patchSize: Int { channels * kernelHeight * kernelWidth }
  /// Columns of the im2col matrix: batch · outputHeight · outputWidth.
  var patchCount: Int { batch * outputHeight * outputWidth }
  /// Whether the im2col matrix is the image itself: a 1x1 kernel with stride 1 and no padding.
  var isIdentity: Bool {
    kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1 && paddingHeight == 0
      && paddingWidth == 0 && outputHeight == height && outputWidth == width
  }
  /// Whether the im2col matrix is big enough (64K values) for threads to pay off.
  var isLarge: Bool { patchSize * patchCount >= 1 << 16 && channels > 1 }

  /// The output positions `o` along one axis whose input `o * stride - padding + k` lies inside `0..<size`.
  @inline(__always)
  private static func validRange(size: Int, outputSize: Int, stride: Int, padding: Int, offset: Int) -> Range<Int> {
    // lower = ceil((padding - offset) / stride), upper = ceil((size + padding - offset) / stride), clamped.
    let lower = Swift.max(0, (padding - offset + stride - 1) / stride)
    let upper = Swift.min(outputSize, Swift.max(0, (size + padding - offset + stride - 1) / stride))
    return lower..<Swift.max(lower, upper)
  }

  /// Fills `columns` (`patchSize x patchCount`) with the patches of `image`, zeros where they reach into padding.
  func im2col(_ image: UnsafePointer<Float>, _ columns: UnsafeMutablePointer<Float>) {
    let outputArea = outputHeight * outputWidth
    let columnCount = patchCount
    // Channels write disjoint rows, so they split across threads.
    parallelChunks(channels, parallel: isLarge) { channelRange in
      for c in channelRange {
        for ki in 0..<kernelHeight {
          for kj in 0..<kernelWidth {
            let row = columns + ((c * kernelHeight + ki) * kernelWidth + kj) * columnCount
            let valid = ConvGeometry.validRange(
              size: width, outputSize: outputWidth, stride: strideWidth, padding: paddingWidth, offset: kj)
            for b in 0..<batch {
              let plane = image + (c * batch + b) * height * width
              for oh in 0..<outputHeight {
                let target = row + b * outputArea + oh * outputWidth
                let ih = oh * strideHeight - paddingHeight + ki
                guard ih >= 0, ih < height else {
                  for ow in 0..<outputWidth { target[ow] = 0 }
                  continue
                }
                // Rows are short (8-32 values): plain loops beat memcpy/memset calls here.
                let source = plane + ih * width - paddingWidth + kj
                for ow in 0..<valid.lowerBound { target[ow] = 0 }
                if strideWidth == 1 {
                  for ow in valid { target[ow] = source[ow] }
                } else {
                  for ow in valid { target[ow] = source[ow * strideWidth] }
                }
                for ow in valid.upperBound..<outputWidth { target[ow] = 0 }
              }
            }
          }
        }
      }
    }
  }

  /// Adds every patch of `columns` back into `image` (the adjoint of `im2col`); padding positions are dropped.
  func col2im(_ columns: UnsafePointer<Float>, _ image: UnsafeMutablePointer<Float>) {
    let outputArea = outputHeight * outputWidth
    let columnCount = patchCount
    // Channels write disjoint image planes, so they split across threads.
    parallelChunks(channels, parallel: isLarge) { channelRange in
      for c in channelRange {
        for ki in 0..<kernelHeight {
          for kj in 0..<kernelWidth {
            let row = columns + ((c * kernelHeight + ki) * kernelWidth + kj) * columnCount
            let valid = ConvGeometry.validRange(
              size: width, outputSize: outputWidth, stride: strideWidth, padding: paddingWidth, offset: kj)
            for b in 0..<batch {
              let plane = image + (c * batch + b) * height * width
              for oh in 0..<outputHeight {
                let ih = oh * strideHeight - paddingHeight + ki
                guard ih >= 0, ih < height else { continue }
                let source = row + b * outputArea + oh * outputWidth
                let target = plane + ih * width - paddingWidth + kj
                if strideWidth == 1 {
                  for ow in valid { target[ow] += source[ow] }
                } else {
                  for ow in valid { target[ow * strideWidth] += source[ow] }
                }
              }
            }
          }
        }
      }
    }
  }
}
