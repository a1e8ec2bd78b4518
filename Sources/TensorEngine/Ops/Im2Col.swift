/// The geometry shared by a convolution and its transpose: an image side `[batch, channels, height, width]` and a
/// patch side of `outputHeight x outputWidth` kernel positions. The im2col matrix has one row per
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
              let plane = image + (b * channels + c) * height * width
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
              let plane = image + (b * channels + c) * height * width
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

/// Moves the batch axis inside the channel axis: `[first, second, area]` -> `[second, first, area]`, between the
/// NCHW layout and the `[channels, batch · area]` layout GEMM produces and consumes for a whole batch at once.
/// Optionally adds a bias per `first` index, or adds into `target` instead of overwriting it.
func swapBatchAndChannels(
  _ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, first: Int, second: Int, area: Int,
  biasPerFirst bias: UnsafePointer<Float>? = nil, accumulate: Bool = false
) {
  for i in 0..<first {
    let value = bias?[i] ?? 0
    for j in 0..<second {
      let from = source + (i * second + j) * area
      let to = target + (j * first + i) * area
      if accumulate {
        for p in 0..<area { to[p] += from[p] }
      } else {
        for p in 0..<area { to[p] = from[p] + value }
      }
    }
  }
}

/// Sums `[batch, channels, area]` over batch and area into `channels` sums (a bias gradient).
func sumPerChannel(_ values: UnsafePointer<Float>, batch: Int, channels: Int, area: Int) -> [Float] {
  var sums = [Float](repeating: 0, count: channels)
  for b in 0..<batch {
    for c in 0..<channels {
      let plane = values + (b * channels + c) * area
      var total: Float = 0
      for p in 0..<area { total += plane[p] }
      sums[c] += total
    }
  }
  return sums
}
