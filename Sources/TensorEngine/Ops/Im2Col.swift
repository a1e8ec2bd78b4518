/// The geometry shared by a convolution and its transpose: an image side `[channels, batch, height, width]` (CNHW)
/// and a patch side of `outputHeight x outputWidth` kernel positions. The im2col matrix has one row per
/// (channel, kernel row, kernel column) and one column per (image, output row, output column).
struct ConvGeometry {
  /// The images this geometry covers (a chunk of the tensor's, from `firstImage` on).
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
  /// The images of the whole image-side tensor, which set the planes' strides.
  var imageBatch: Int
  /// The first image of the chunk.
  var firstImage = 0

  init(
    batch: Int, channels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int, strideHeight: Int,
    strideWidth: Int, paddingHeight: Int, paddingWidth: Int, outputHeight: Int, outputWidth: Int
  ) {
    (self.batch, self.channels, self.height, self.width) = (batch, channels, height, width)
    (self.kernelHeight, self.kernelWidth, self.strideHeight, self.strideWidth) = (
      kernelHeight, kernelWidth, strideHeight, strideWidth
    )
    (self.paddingHeight, self.paddingWidth, self.outputHeight, self.outputWidth) = (
      paddingHeight, paddingWidth, outputHeight, outputWidth
    )
    imageBatch = batch
  }

  /// The same geometry for the images `range` of the tensor: its im2col matrix has `range.count · area` columns.
  func images(_ range: Range<Int>) -> ConvGeometry {
    var chunk = ConvGeometry(
      batch: range.count, channels: channels, height: height, width: width, kernelHeight: kernelHeight,
      kernelWidth: kernelWidth, strideHeight: strideHeight, strideWidth: strideWidth, paddingHeight: paddingHeight,
      paddingWidth: paddingWidth, outputHeight: outputHeight, outputWidth: outputWidth)
    (chunk.imageBatch, chunk.firstImage) = (imageBatch, firstImage + range.lowerBound)
    return chunk
  }

  /// The values of an im2col matrix built a chunk at a time: a million (4 MB), so that the GEMM reads it from
  /// cache. (Tests lower it to run the chunked paths on small shapes.)
  nonisolated(unsafe) static var chunkValues = 1 << 20

  /// Images per chunk when the im2col matrix is built a chunk at a time: `chunkValues` worth, at least one image;
  /// the whole batch when the matrix is that small anyway.
  var imagesPerChunk: Int {
    let perImage = patchSize * outputHeight * outputWidth
    return Swift.max(1, Swift.min(batch, Self.chunkValues / Swift.max(perImage, 1)))
  }

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
    let shifted = strideHeight == 1 && strideWidth == 1 && outputWidth == width && outputHeight == height
    if strideHeight == 2 && strideWidth == 2 && outputWidth >= 8 {
      return im2colStride2(image, columns)
    }
    // Channels write disjoint rows, so they split across threads.
    parallelChunks(channels, parallel: isLarge) { channelRange in
      for c in channelRange {
        for ki in 0..<kernelHeight {
          for kj in 0..<kernelWidth {
            let row = columns + ((c * kernelHeight + ki) * kernelWidth + kj) * columnCount
            let valid = ConvGeometry.validRange(
              size: width, outputSize: outputWidth, stride: strideWidth, padding: paddingWidth, offset: kj)
            if shifted {
              let block = image + (c * imageBatch + firstImage) * height * width
              copyShifted(block, into: row, dy: ki - paddingHeight, dx: kj - paddingWidth)
              continue
            }
            for b in 0..<batch {
              let plane = image + (c * imageBatch + firstImage + b) * height * width
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

  /// im2col for stride 2, a plane at a time: the plane is copied into a zero-padded buffer that every tap reads
  /// without bounds checks, and each run of 8 outputs is the even half of 16 neighbouring values. (Element by
  /// element, the rows of 8 stride-2 reads cost more in loop overhead than in copying.)
  private func im2colStride2(_ image: UnsafePointer<Float>, _ columns: UnsafeMutablePointer<Float>) {
    let (outputArea, columnCount) = (outputHeight * outputWidth, patchCount)
    let (paddedHeight, paddedWidth, rows, inputColumns) = paddedPlane
    let fullBlocks = outputWidth / 8 * 8
    parallelChunks(channels, parallel: isLarge) { channelRange in
      // 16 floats of slack: a block's last load reads one value past its last even one.
      let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedHeight * paddedWidth + 16)
      defer { padded.deallocate() }
      padded.initialize(repeating: 0, count: paddedHeight * paddedWidth + 16)
      for c in channelRange {
        for b in 0..<batch {
          let plane = image + (c * imageBatch + firstImage + b) * height * width
          for r in rows where !inputColumns.isEmpty {
            (padded + (r + paddingHeight) * paddedWidth + inputColumns.lowerBound + paddingWidth).update(
              from: plane + r * width + inputColumns.lowerBound, count: inputColumns.count)
          }
          for ki in 0..<kernelHeight {
            for kj in 0..<kernelWidth {
              let row = columns + ((c * kernelHeight + ki) * kernelWidth + kj) * columnCount + b * outputArea
              for oh in 0..<outputHeight {
                let source = padded + (oh * 2 + ki) * paddedWidth + kj
                let target = row + oh * outputWidth
                for ow in Swift.stride(from: 0, to: fullBlocks, by: 8) {
                  let values = UnsafeRawPointer(source + 2 * ow).loadUnaligned(as: SIMD16<Float>.self)
                  UnsafeMutableRawPointer(target + ow).storeBytes(of: values.evenHalf, as: SIMD8<Float>.self)
                }
                for ow in fullBlocks..<outputWidth { target[ow] = source[2 * ow] }
              }
            }
          }
        }
      }
    }
  }

  /// The zero-padded plane that the stride-2 paths read from (im2col) or add into (col2im): its size, and the input
  /// rows and columns that lie inside it.
  private var paddedPlane: (height: Int, width: Int, rows: Range<Int>, columns: Range<Int>) {
    let paddedHeight = (outputHeight - 1) * 2 + kernelHeight
    let paddedWidth = (outputWidth - 1) * 2 + kernelWidth
    return (
      paddedHeight, paddedWidth, Swift.max(0, -paddingHeight)..<Swift.min(height, paddedHeight - paddingHeight),
      Swift.max(0, -paddingWidth)..<Swift.min(width, paddedWidth - paddingWidth)
    )
  }

  /// col2im for stride 2, the adjoint of `im2colStride2`: every tap's runs of 8 are added to the even positions of
  /// 16 neighbouring values of a zero-padded plane, whose inside is then added to the image.
  private func col2imStride2(_ columns: UnsafeMutablePointer<Float>, _ image: UnsafeMutablePointer<Float>) {
    let (outputArea, columnCount) = (outputHeight * outputWidth, patchCount)
    let plane = paddedPlane
    let fullBlocks = outputWidth / 8 * 8
    parallelChunks(channels, parallel: isLarge) { channelRange in
      let padded = UnsafeMutablePointer<Float>.allocate(capacity: plane.height * plane.width + 16)
      defer { padded.deallocate() }
      for c in channelRange {
        for b in 0..<batch {
          padded.initialize(repeating: 0, count: plane.height * plane.width + 16)
          for ki in 0..<kernelHeight {
            for kj in 0..<kernelWidth {
              let row = columns + ((c * kernelHeight + ki) * kernelWidth + kj) * columnCount + b * outputArea
              for oh in 0..<outputHeight {
                let target = padded + (oh * 2 + ki) * plane.width + kj
                let source = row + oh * outputWidth
                for ow in Swift.stride(from: 0, to: fullBlocks, by: 8) {
                  var spread = SIMD16<Float>()
                  spread.evenHalf = UnsafeRawPointer(source + ow).loadUnaligned(as: SIMD8<Float>.self)
                  let raw = UnsafeMutableRawPointer(target + 2 * ow)
                  raw.storeBytes(of: raw.loadUnaligned(as: SIMD16<Float>.self) + spread, as: SIMD16<Float>.self)
                }
                for ow in fullBlocks..<outputWidth { target[2 * ow] += source[ow] }
              }
            }
          }
          let imagePlane = image + (c * imageBatch + firstImage + b) * height * width
          for r in plane.rows {
            let from = padded + (r + paddingHeight) * plane.width + paddingWidth
            for column in plane.columns { imagePlane[r * width + column] += from[column] }
          }
        }
      }
    }
  }

  /// One kernel tap's patch row when the stride is 1 and the output has the input's size: a channel's planes lie
  /// together for the whole chunk of images, so the row is that block shifted by (`dy`, `dx`), one contiguous
  /// copy, then zeros over what came from outside each image. (Row by row, an 8-wide map costs a loop per 8 values.)
  private func copyShifted(_ block: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, dy: Int, dx: Int) {
    let total = batch * height * width
    guard let (start, inside) = shiftedSpan(dy: dy, dx: dx) else {
      target.update(repeating: 0, count: total)
      return
    }
    target.update(repeating: 0, count: inside.lowerBound)
    (target + inside.lowerBound).update(from: block + start + inside.lowerBound, count: inside.count)
    (target + inside.upperBound).update(repeating: 0, count: total - inside.upperBound)
    zeroOutsideImages(target, dy: dy, dx: dx)
  }

  /// The adjoint of `copyShifted`: zeros the row's entries that come from outside each image, then adds the row to
  /// the shifted block.
  private func addShifted(_ row: UnsafeMutablePointer<Float>, into block: UnsafeMutablePointer<Float>, dy: Int, dx: Int)
  {
    guard let (start, inside) = shiftedSpan(dy: dy, dx: dx) else { return }
    zeroOutsideImages(row, dy: dy, dx: dx)
    for i in inside { block[start + i] += row[i] }
  }

  /// For a tap shifted by (`dy`, `dx`): the offset that position i of a patch row reads in the chunk's block, and
  /// the positions whose reads stay inside the block; nil when the tap lies wholly in the padding.
  private func shiftedSpan(dy: Int, dx: Int) -> (start: Int, inside: Range<Int>)? {
    guard abs(dy) < height, abs(dx) < width else { return nil }
    let (total, start) = (batch * height * width, dy * width + dx)
    return (start, Swift.max(0, -start)..<Swift.min(total, total - start))
  }

  /// Zeros, in every image's plane of a shifted patch row, the rows that came from above or below the image and
  /// the columns that wrapped around from the neighbouring row.
  private func zeroOutsideImages(_ row: UnsafeMutablePointer<Float>, dy: Int, dx: Int) {
    let outside = dy < 0 ? 0..<(-dy) : (height - dy)..<height
    let wrapped = dx > 0 ? (width - dx)..<width : 0..<(-dx)
    for b in 0..<batch {
      let plane = row + b * height * width
      for r in outside { (plane + r * width).update(repeating: 0, count: width) }
      if !wrapped.isEmpty {
        for r in 0..<height {
          for column in wrapped { plane[r * width + column] = 0 }
        }
      }
    }
  }

  /// Adds every patch of `columns` back into `image` (the adjoint of `im2col`); padding positions are dropped.
  /// For stride 1 with the output as large as the input, the entries of `columns` that fall in the padding are
  /// zeroed first (the buffer is scratch in every caller), so that each kernel tap's row is added as one shifted
  /// block.
  func col2im(_ columns: UnsafeMutablePointer<Float>, _ image: UnsafeMutablePointer<Float>) {
    let outputArea = outputHeight * outputWidth
    let columnCount = patchCount
    let shifted = strideHeight == 1 && strideWidth == 1 && outputWidth == width && outputHeight == height
    if strideHeight == 2 && strideWidth == 2 && outputWidth >= 8 {
      return col2imStride2(columns, image)
    }
    // Channels write disjoint image planes, so they split across threads.
    parallelChunks(channels, parallel: isLarge) { channelRange in
      for c in channelRange {
        for ki in 0..<kernelHeight {
          for kj in 0..<kernelWidth {
            let row = columns + ((c * kernelHeight + ki) * kernelWidth + kj) * columnCount
            if shifted {
              let block = image + (c * imageBatch + firstImage) * height * width
              addShifted(row, into: block, dy: ki - paddingHeight, dx: kj - paddingWidth)
              continue
            }
            let valid = ConvGeometry.validRange(
              size: width, outputSize: outputWidth, stride: strideWidth, padding: paddingWidth, offset: kj)
            for b in 0..<batch {
              let plane = image + (c * imageBatch + firstImage + b) * height * width
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
