/// The largest im2col matrix (in floats, 16 MiB) a conv2d keeps from forward to backward; larger ones (big batches)
/// are rebuilt in backward, chunk by chunk, trading a memory-bound copy for a bounded peak memory. (Tests lower it.)
nonisolated(unsafe) var maxKeptColumns = 4 << 20

/// Zeros added on each side of a convolution's input. A side may be negative: that many rows or columns are cut off
/// instead, so causal convolutions (a PixelCNN's "only the rows above") need no copy of the input.
public struct ConvPadding: Equatable, Sendable {
  public var top: Int
  public var bottom: Int
  public var left: Int
  public var right: Int

  /// - Parameters: zeros (or, negative, cut rows/columns) on each side.
  public init(top: Int, bottom: Int, left: Int, right: Int) {
    (self.top, self.bottom, self.left, self.right) = (top, bottom, left, right)
  }

  /// The same padding on both sides of each axis, as PyTorch's `padding=(h, w)`.
  public init(_ padding: (Int, Int)) { self.init(top: padding.0, bottom: padding.0, left: padding.1, right: padding.1) }

  /// No padding: the kernel only visits positions inside the input.
  public static let zero = ConvPadding(top: 0, bottom: 0, left: 0, right: 0)
}

/// Output size of a convolution along one axis, or nil when the kernel does not fit.
private func convolvedSize(_ input: Int, kernel: Int, stride: Int, before: Int, after: Int) -> Int? {
  let span = input + before + after - kernel
  return span >= 0 && stride > 0 ? span / stride + 1 : nil
}

/// Checks the ranks and options shared by both convolutions.
private func checkConvArguments(
  _ op: String, input: Tensor, weight: Tensor, bias: Tensor?, biasCount: Int, stride: (Int, Int),
  padding: (Int, Int)
) throws {
  guard input.rank == 4 else { throw TensorError("\(op): input must be CNHW (rank 4), got \(input.shape)") }
  guard weight.rank == 4 else { throw TensorError("\(op): weight must have rank 4, got \(weight.shape)") }
  guard stride.0 > 0, stride.1 > 0, padding.0 >= 0, padding.1 >= 0 else {
    throw TensorError("\(op): stride \(stride) must be positive and padding \(padding) non-negative")
  }
  if let bias, bias.shape != [biasCount] {
    throw TensorError("\(op): bias shape \(bias.shape) should be [\(biasCount)]")
  }
}

// Images are channel-major, `[C, N, H, W]` (CNHW): every channel's planes for the whole batch lie together, so a
// convolution's GEMM reads its input and writes its output in place, with no transpose between the GEMM's
// `[channels, batch · area]` layout and the tensor's, and a 1x1 convolution is a single GEMM with no im2col at all.
extension Tensor {
  /// 2-D convolution (cross-correlation, as PyTorch's `conv2d`) of channel-major images: input `[C, N, H, W]`,
  /// weight `[outChannels, C, kh, kw]` (PyTorch's layout), optional bias `[outChannels]`; the output is
  /// `[outChannels, N, OH, OW]`. Winograd's F(2x2, r x s) where it applies (stride 1 with kernel sides of 2 or 3,
  /// or stride 2 with even ones; see `Winograd`), else one GEMM over the whole batch after im2col (none for a 1x1
  /// kernel).
  /// - Throws: `TensorError` on mismatched channels, wrong ranks or a kernel larger than the padded input.
  public func conv2d(
    weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)
  ) throws -> Tensor {
    try checkConvArguments(
      "conv2d", input: self, weight: weight, bias: bias, biasCount: weight.shape.first ?? 0, stride: stride,
      padding: padding)
    return try conv2d(weight: weight, bias: bias, stride: stride, padding: ConvPadding(padding))
  }

  /// 2-D convolution with its own padding on each side (see `ConvPadding`; negative sides crop).
  /// - Throws: `TensorError` on mismatched channels, wrong ranks or a kernel larger than the padded input.
  public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: ConvPadding) throws
    -> Tensor
  {
    let input = self
    try checkConvArguments(
      "conv2d", input: input, weight: weight, bias: bias, biasCount: weight.shape.first ?? 0, stride: stride,
      padding: (0, 0))
    let (c, n, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let (outChannels, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
    guard weight.shape[1] == c else {
      throw TensorError(
        "conv2d: input \(shape) has \(c) channels but weight \(weight.shape) expects \(weight.shape[1])")
    }
    guard let oh = convolvedSize(h, kernel: kh, stride: stride.0, before: padding.top, after: padding.bottom),
      let ow = convolvedSize(w, kernel: kw, stride: stride.1, before: padding.left, after: padding.right)
    else {
      let sides = "top \(padding.top), bottom \(padding.bottom), left \(padding.left), right \(padding.right)"
      throw TensorError(
        "conv2d: kernel \(kh)x\(kw) with padding (\(sides)) does not fit input \(h)x\(w) (output size < 1)")
    }
    if let winograd = Winograd.convolve(
      input, weight: weight, bias: bias, stride: stride, padding: padding, outputSize: (oh, ow))
    {
      return winograd
    }
    let geometry = ConvGeometry(
      batch: n, channels: c, height: h, width: w, kernelHeight: kh, kernelWidth: kw, strideHeight: stride.0,
      strideWidth: stride.1, paddingHeight: padding.top, paddingWidth: padding.left, outputHeight: oh,
      outputWidth: ow)
    let k = geometry.patchSize
    let columns = geometry.patchCount
    let area = oh * ow
    // A 1x1 kernel over every position: the input itself is the im2col matrix.
    let pointwise = geometry.isIdentity
    // A small im2col matrix is kept for the backward pass; a large one is built a chunk of images at a time, in the
    // forward pass and again in the backward one, so that each chunk's GEMM reads it from cache.
    let kept: [Float]? =
      !pointwise && GradMode.isEnabled && weight.requiresGrad && k * columns <= maxKeptColumns
      ? uninitializedFloats(k * columns) { c in
        input.data.withUnsafeBufferPointer { x in geometry.im2col(x.baseAddress!, c.baseAddress!) }
      } : nil
    let chunk = pointwise || kept != nil ? n : geometry.imagesPerChunk
    /// Calls `body` with each chunk of images and, when `needed`, its im2col matrix (`K x images · area`).
    func forEachChunk(buildingColumns needed: Bool = true, _ body: (Range<Int>, UnsafePointer<Float>?) -> Void) {
      if pointwise { return input.data.withUnsafeBufferPointer { body(0..<n, $0.baseAddress!) } }
      if let kept { return kept.withUnsafeBufferPointer { body(0..<n, $0.baseAddress!) } }
      ScratchPool.withBuffer(needed ? k * chunk * area : 0) { scratch in
        input.data.withUnsafeBufferPointer { x in
          for start in Swift.stride(from: 0, to: n, by: chunk) {
            let range = start..<Swift.min(start + chunk, n)
            if needed { geometry.images(range).im2col(x.baseAddress!, scratch) }
            body(range, needed ? UnsafePointer(scratch) : nil)
          }
        }
      }
    }

    // out[o, (n, p)] = W[o, :] · cols[:, (n, p)] + bias[o]: already the CNHW output. The GEMMs add onto the bias
    // (one pass over the output fewer than zeroing it and adding the bias after).
    let out = uninitializedFloats(outChannels * columns) { o in
      if let bias { fillRows(o.baseAddress!, rows: outChannels, width: columns, with: bias.data) }
      weight.data.withUnsafeBufferPointer { wt in
        forEachChunk { images, cols in
          gemm(
            m: outChannels, n: images.count * area, k: k, wt.baseAddress!, cols!, beta: bias == nil ? 0 : 1,
            o.baseAddress! + images.lowerBound * area, ldc: columns)
        }
      }
    }
    // For stride 1 the input gradient is a correlation of dOut with the kernel turned by 180°; when dOut has no
    // more channels than the input, its im2col matrix is no larger than the one col2im would fold back, and the
    // GEMM writes dx directly.
    let gradientByCorrelation = !pointwise && stride == (1, 1) && outChannels <= c
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(out, shape: [outChannels, n, oh, ow], inputs: inputs) { result in
      result.grad!.withUnsafeBufferPointer { g in
        if let bias, bias.requiresGrad {
          bias.accumulateGrad(sumPerRow(g.baseAddress!, rows: outChannels, width: columns))
        }
        if gradientByCorrelation, input.requiresGrad {
          input.accumulateGrad { d in
            addTurnedCorrelation(
              g.baseAddress!, weight: weight, batch: n, size: (oh, ow), padding: (padding.top, padding.left),
              outputSize: (h, w), into: d.baseAddress!)
          }
        }
        guard weight.requiresGrad || (input.requiresGrad && !gradientByCorrelation) else { return }
        weight.data.withUnsafeBufferPointer { wt in
          forEachChunk(buildingColumns: weight.requiresGrad) { images, cols in
            let width = images.count * area
            let gradOut = g.baseAddress! + images.lowerBound * area
            if let cols, weight.requiresGrad {
              // dW[o, k] += dOut[o, chunk] · colsᵀ.
              weight.accumulateGrad { d in
                gemm(
                  transposeB: true, m: outChannels, n: k, k: width, gradOut, lda: columns, cols, beta: 1,
                  d.baseAddress!)
              }
            }
            guard input.requiresGrad, !gradientByCorrelation else { return }
            input.accumulateGrad { d in
              // dCols = Wᵀ · dOut, folded back onto the images (for a 1x1 kernel, dCols is dx itself).
              if pointwise {
                gemm(
                  transposeA: true, m: k, n: columns, k: outChannels, wt.baseAddress!, gradOut, beta: 1,
                  d.baseAddress!)
                return
              }
              ScratchPool.withBuffer(k * width) { scratch in
                gemm(
                  transposeA: true, m: k, n: width, k: outChannels, wt.baseAddress!, gradOut, ldb: columns, scratch)
                geometry.images(images).col2im(scratch, d.baseAddress!)
              }
            }
          }
        }
      }
    }
  }

  /// 2-D transposed convolution (PyTorch's `conv_transpose2d`, the adjoint of `conv2d` in the input) of
  /// channel-major images: input `[inChannels, N, H, W]`, weight `[inChannels, outChannels, kh, kw]`, optional bias
  /// `[outChannels]`; the output `[outChannels, N, OH, OW]` is `(H - 1) · stride - 2 · padding + kh` high (likewise
  /// wide). At stride 1 a conv2d with the turned kernel; at stride 2 with an even kernel, where F(2x2, r x s)
  /// applies, the adjoint of the convolution through phases (see `Winograd`); else one GEMM, then col2im.
  /// - Throws: `TensorError` on mismatched channels, wrong ranks or an output size < 1.
  public func convTranspose2d(
    weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)
  ) throws -> Tensor {
    let input = self
    try checkConvArguments(
      "convTranspose2d", input: input, weight: weight, bias: bias, biasCount: weight.rank == 4 ? weight.shape[1] : 0,
      stride: stride, padding: padding)
    let (inChannels, n, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let (outChannels, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
    guard weight.shape[0] == inChannels else {
      throw TensorError(
        "convTranspose2d: input \(shape) has \(inChannels) channels but weight \(weight.shape) expects "
          + "\(weight.shape[0])")
    }
    let oh = (h - 1) * stride.0 - 2 * padding.0 + kh
    let ow = (w - 1) * stride.1 - 2 * padding.1 + kw
    // The transposed convolution's output is the image side of a conv2d whose output is this input.
    guard oh >= 1, ow >= 1, h >= 1, w >= 1,
      convolvedSize(oh, kernel: kh, stride: stride.0, before: padding.0, after: padding.0) == h,
      convolvedSize(ow, kernel: kw, stride: stride.1, before: padding.1, after: padding.1) == w
    else {
      throw TensorError(
        "convTranspose2d: input \(h)x\(w) with kernel \(kh)x\(kw), stride \(stride), padding \(padding) gives "
          + "output \(oh)x\(ow) (must be >= 1)")
    }
    let geometry = ConvGeometry(
      batch: n, channels: outChannels, height: oh, width: ow, kernelHeight: kh, kernelWidth: kw,
      strideHeight: stride.0, strideWidth: stride.1, paddingHeight: padding.0, paddingWidth: padding.1,
      outputHeight: h, outputWidth: w)
    let k = geometry.patchSize
    let columns = geometry.patchCount
    let area = h * w
    let outCount = outChannels * n * oh * ow
    let pointwise = geometry.isIdentity
    // At stride 1 the transposed convolution is a convolution with the kernel turned by 180° (and its in and out
    // channels swapped) over the input padded by kernel - 1 - padding: conv2d's paths, F(2x2, 3x3) included.
    if stride == (1, 1), !pointwise {
      let (top, left) = (kh - 1 - padding.0, kw - 1 - padding.1)
      return try input.conv2d(
        weight: weight.turnedKernel(), bias: bias, padding: ConvPadding(top: top, bottom: top, left: left, right: left))
    }
    if let winograd = Winograd.transposedConvolve(
      input, weight: weight, bias: bias, stride: stride, padding: padding, outputSize: (oh, ow))
    {
      return winograd
    }
    // Large column matrices are built and used a chunk of images at a time (see conv2d).
    let chunk = pointwise ? n : geometry.imagesPerChunk
    /// Calls `body` with each chunk of images and a scratch buffer for its `K x images · area` column matrix.
    func forEachChunk(_ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
      ScratchPool.withBuffer(pointwise ? 0 : k * chunk * area) { scratch in
        for start in Swift.stride(from: 0, to: n, by: chunk) { body(start..<Swift.min(start + chunk, n), scratch) }
      }
    }

    // cols[(o, kh, kw), (n, p)] = Wᵀ · x[i, (n, p)], with W viewed as [inChannels, outChannels · kh · kw], then
    // col2im onto the bias (for a 1x1 kernel, cols is the output).
    let out = uninitializedFloats(outCount) { o in
      fillRows(o.baseAddress!, rows: outChannels, width: outCount / outChannels, with: bias?.data)
      input.data.withUnsafeBufferPointer { x in
        weight.data.withUnsafeBufferPointer { wt in
          if pointwise {
            gemm(
              transposeA: true, m: k, n: columns, k: inChannels, wt.baseAddress!, x.baseAddress!, beta: 1,
              o.baseAddress!)
            return
          }
          forEachChunk { images, scratch in
            gemm(
              transposeA: true, m: k, n: images.count * area, k: inChannels, wt.baseAddress!,
              x.baseAddress! + images.lowerBound * area, ldb: columns, scratch)
            geometry.images(images).col2im(scratch, o.baseAddress!)
          }
        }
      }
    }
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(out, shape: [outChannels, n, oh, ow], inputs: inputs) { result in
      result.grad!.withUnsafeBufferPointer { g in
        if let bias, bias.requiresGrad {
          bias.accumulateGrad(sumPerRow(g.baseAddress!, rows: outChannels, width: outCount / outChannels))
        }
        guard input.requiresGrad || weight.requiresGrad else { return }
        input.data.withUnsafeBufferPointer { x in
          weight.data.withUnsafeBufferPointer { wt in
            // The gradient's patches are a conv2d's im2col of dOut (for a 1x1 kernel, dOut itself).
            forEachChunk { images, scratch in
              let width = images.count * area
              let cols = pointwise ? g.baseAddress! : UnsafePointer(scratch)
              if !pointwise { geometry.images(images).im2col(g.baseAddress!, scratch) }
              let chunkInput = x.baseAddress! + images.lowerBound * area
              if weight.requiresGrad {
                // dW[i, (o, kh, kw)] += x[i, chunk] · colsᵀ.
                weight.accumulateGrad { d in
                  gemm(
                    transposeB: true, m: inChannels, n: k, k: width, chunkInput, lda: columns, cols, beta: 1,
                    d.baseAddress!)
                }
              }
              if input.requiresGrad {
                // dx[i, chunk] += W · cols.
                input.accumulateGrad { d in
                  gemm(
                    m: inChannels, n: width, k: k, wt.baseAddress!, cols, beta: 1,
                    d.baseAddress! + images.lowerBound * area, ldc: columns)
                }
              }
            }
          }
        }
      }
    }
  }
}

/// Sets every element of row `r` of a `rows x width` matrix to `values[r]` (a per-channel bias in CNHW), or to zero
/// without values.
func fillRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, width: Int, with values: [Float]?) {
  parallelChunks(rows, grain: max(1, parallelGrain / width)) { range in
    for r in range { (matrix + r * width).update(repeating: values?[r] ?? 0, count: width) }
  }
}

/// The sum of each row of a `rows x width` matrix (a per-channel bias gradient in CNHW).
func sumPerRow(_ matrix: UnsafePointer<Float>, rows: Int, width: Int) -> [Float] {
  uninitializedFloats(rows) { sums in
    parallelChunks(rows, grain: max(1, parallelGrain / width)) { range in
      for r in range { sums[r] = vectorSum(matrix + r * width, count: width) }
    }
  }
}

/// target += the stride-1 correlation of `source` (`[weight.shape[0], batch, size]`) with the taps of `weight`
/// (`[outer, inner, kh, kw]`) turned by 180°, giving `[inner, batch, outputSize]`: a convolution's input gradient
/// from its output gradient (`padding` is the convolution's, top and left). One GEMM over im2col, built a chunk of
/// images at a time.
func addTurnedCorrelation(
  _ source: UnsafePointer<Float>, weight: Tensor, batch: Int, size: (Int, Int), padding: (Int, Int),
  outputSize: (Int, Int), into target: UnsafeMutablePointer<Float>
) {
  let (outer, inner, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
  let geometry = ConvGeometry(
    batch: batch, channels: outer, height: size.0, width: size.1, kernelHeight: kh, kernelWidth: kw,
    strideHeight: 1, strideWidth: 1, paddingHeight: kh - 1 - padding.0, paddingWidth: kw - 1 - padding.1,
    outputHeight: outputSize.0, outputWidth: outputSize.1)
  let turned = turnedKernel(weight.data, outer: outer, inner: inner, taps: kh * kw)
  let (area, k, chunk) = (outputSize.0 * outputSize.1, geometry.patchSize, geometry.imagesPerChunk)
  turned.withUnsafeBufferPointer { weights in
    ScratchPool.withBuffer(k * chunk * area) { scratch in
      for start in Swift.stride(from: 0, to: batch, by: chunk) {
        let images = start..<Swift.min(start + chunk, batch)
        geometry.images(images).im2col(source, scratch)
        gemm(
          m: inner, n: images.count * area, k: k, weights.baseAddress!, scratch, beta: 1, target + start * area,
          ldc: geometry.patchCount)
      }
    }
  }
}

/// turned[i, o, t] = kernel[o, i, last tap - t]: a kernel `[outer, inner, kh, kw]` turned by 180°, its two channel
/// axes swapped. Turning twice gives the kernel back.
private func turnedKernel(_ kernel: [Float], outer: Int, inner: Int, taps: Int) -> [Float] {
  uninitializedFloats(inner * outer * taps) { turned in
    kernel.withUnsafeBufferPointer { w in
      for i in 0..<inner {
        for o in 0..<outer {
          for t in 0..<taps { turned[(i * outer + o) * taps + t] = w[(o * inner + i) * taps + taps - 1 - t] }
        }
      }
    }
  }
}

extension Tensor {
  /// The kernel `[outer, inner, kh, kw]` turned by 180° with its channel axes swapped, `[inner, outer, kh, kw]`:
  /// a stride-1 transposed convolution's kernel as a convolution's.
  func turnedKernel() -> Tensor {
    let (outer, inner, taps) = (shape[0], shape[1], shape[2] * shape[3])
    let turned = TensorEngine.turnedKernel(data, outer: outer, inner: inner, taps: taps)
    return Tensor.record(turned, shape: [inner, outer, shape[2], shape[3]], inputs: [self]) { result in
      self.accumulateGrad(TensorEngine.turnedKernel(result.grad!, outer: inner, inner: outer, taps: taps))
    }
  }
}
