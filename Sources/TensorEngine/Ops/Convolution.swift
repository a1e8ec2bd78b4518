/// The largest im2col matrix (in floats, 16 MiB) a conv2d keeps from forward to backward; larger ones (big batches)
/// are rebuilt in backward, trading a memory-bound copy for a bounded peak memory.
let maxKeptColumns = 4 << 20

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
  guard input.rank == 4 else { throw TensorError("\(op): input must be NCHW (rank 4), got \(input.shape)") }
  guard weight.rank == 4 else { throw TensorError("\(op): weight must have rank 4, got \(weight.shape)") }
  guard stride.0 > 0, stride.1 > 0, padding.0 >= 0, padding.1 >= 0 else {
    throw TensorError("\(op): stride \(stride) must be positive and padding \(padding) non-negative")
  }
  if let bias, bias.shape != [biasCount] {
    throw TensorError("\(op): bias shape \(bias.shape) should be [\(biasCount)]")
  }
}

extension Tensor {
  /// 2-D convolution (cross-correlation, as PyTorch's `conv2d`): input `[N, C, H, W]`, weight
  /// `[outChannels, C, kh, kw]`, optional bias `[outChannels]`. One GEMM over the whole batch after im2col.
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
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
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
    let geometry = ConvGeometry(
      batch: n, channels: c, height: h, width: w, kernelHeight: kh, kernelWidth: kw, strideHeight: stride.0,
      strideWidth: stride.1, paddingHeight: padding.top, paddingWidth: padding.left, outputHeight: oh,
      outputWidth: ow)
    let k = geometry.patchSize
    let columns = geometry.patchCount
    let area = oh * ow

    // The backward pass needs the im2col matrix again: keep it when it is small, rebuild it when it is not.
    let kept: [Float]? =
      GradMode.isEnabled && weight.requiresGrad && k * columns <= maxKeptColumns
      ? uninitializedFloats(k * columns) { c in
        input.data.withUnsafeBufferPointer { x in geometry.im2col(x.baseAddress!, c.baseAddress!) }
      } : nil
    let columnScratch = kept == nil ? k * columns : 0
    /// Calls `body` with the im2col matrix: the kept one, or one built in `scratch`.
    func withColumns(_ scratch: UnsafeMutablePointer<Float>, _ body: (UnsafePointer<Float>) -> Void) {
      if let kept { return kept.withUnsafeBufferPointer { body($0.baseAddress!) } }
      input.data.withUnsafeBufferPointer { x in geometry.im2col(x.baseAddress!, scratch) }
      body(scratch)
    }

    // out[o, (n, p)] = W[o, :] · cols[:, (n, p)], then [o, n, p] -> [n, o, p] with the bias.
    let out = uninitializedFloats(n * outChannels * area) { o in
      ScratchPool.withBuffer(columnScratch + outChannels * columns) { scratch in
        let product = scratch + columnScratch
        withColumns(scratch) { cols in
          weight.data.withUnsafeBufferPointer { wt in
            gemm(m: outChannels, n: columns, k: k, wt.baseAddress!, cols, product)
          }
        }
        withOptionalPointer(bias?.data) { b in
          swapBatchAndChannels(
            product, o.baseAddress!, first: outChannels, second: n, area: area, biasPerFirst: b)
        }
      }
    }
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(out, shape: [n, outChannels, oh, ow], inputs: inputs) { result in
      let g = result.grad!
      g.withUnsafeBufferPointer { gp in
        if let bias, bias.requiresGrad {
          bias.accumulateGrad(sumPerChannel(gp.baseAddress!, batch: n, channels: outChannels, area: area))
        }
        guard input.requiresGrad || weight.requiresGrad else { return }
        // The input gradient needs a k x columns buffer even when the im2col matrix was kept.
        let scratchSize = input.requiresGrad ? k * columns : columnScratch
        ScratchPool.withBuffer(scratchSize + outChannels * columns) { scratch in
          // dOut as [o, (n, p)], the layout of the forward GEMM's output.
          let gradProduct = scratch + scratchSize
          swapBatchAndChannels(gp.baseAddress!, gradProduct, first: n, second: outChannels, area: area)
          if weight.requiresGrad {
            // dW[o, k] += dOut[o, cols] · colsᵀ.
            withColumns(scratch) { cols in
              weight.accumulateGrad { d in
                gemm(transposeB: true, m: outChannels, n: k, k: columns, gradProduct, cols, beta: 1, d.baseAddress!)
              }
            }
          }
          if input.requiresGrad {
            // dCols = Wᵀ · dOut, folded back onto the image.
            weight.data.withUnsafeBufferPointer { wt in
              gemm(transposeA: true, m: k, n: columns, k: outChannels, wt.baseAddress!, gradProduct, scratch)
            }
            input.accumulateGrad { d in geometry.col2im(scratch, d.baseAddress!) }
          }
        }
      }
    }
  }

  /// 2-D transposed convolution (PyTorch's `conv_transpose2d`, the adjoint of `conv2d` in the input): input
  /// `[N, inChannels, H, W]`, weight `[inChannels, outChannels, kh, kw]`, optional bias `[outChannels]`; the output
  /// is `(H - 1) · stride - 2 · padding + kh` high (likewise wide). One GEMM, then col2im.
  /// - Throws: `TensorError` on mismatched channels, wrong ranks or an output size < 1.
  public func convTranspose2d(
    weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)
  ) throws -> Tensor {
    let input = self
    try checkConvArguments(
      "convTranspose2d", input: input, weight: weight, bias: bias, biasCount: weight.rank == 4 ? weight.shape[1] : 0,
      stride: stride, padding: padding)
    let (n, inChannels, h, w) = (shape[0], shape[1], shape[2], shape[3])
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
    let outArea = oh * ow

    var out = [Float](repeating: 0, count: n * outChannels * outArea)
    ScratchPool.withBuffer(k * columns + inChannels * columns) { scratch in
      let permuted = scratch + k * columns
      input.data.withUnsafeBufferPointer { x in
        swapBatchAndChannels(x.baseAddress!, permuted, first: n, second: inChannels, area: area)
      }
      // cols[(o, kh, kw), (n, p)] = Wᵀ · x[i, (n, p)], with W viewed as [inChannels, outChannels · kh · kw].
      weight.data.withUnsafeBufferPointer { wt in
        gemm(transposeA: true, m: k, n: columns, k: inChannels, wt.baseAddress!, permuted, scratch)
      }
      out.withUnsafeMutableBufferPointer { o in
        geometry.col2im(scratch, o.baseAddress!)
        if let bias {
          for b in 0..<n {
            for c in 0..<outChannels {
              let plane = o.baseAddress! + (b * outChannels + c) * outArea
              let value = bias.data[c]
              for p in 0..<outArea { plane[p] += value }
            }
          }
        }
      }
    }
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(out, shape: [n, outChannels, oh, ow], inputs: inputs) { result in
      let g = result.grad!
      g.withUnsafeBufferPointer { gp in
        if let bias, bias.requiresGrad {
          bias.accumulateGrad(sumPerChannel(gp.baseAddress!, batch: n, channels: outChannels, area: outArea))
        }
        guard input.requiresGrad || weight.requiresGrad else { return }
        ScratchPool.withBuffer(k * columns + inChannels * columns) { scratch in
          let permuted = scratch + k * columns
          // The gradient's patches are a conv2d's im2col of dOut.
          geometry.im2col(gp.baseAddress!, scratch)
          if weight.requiresGrad {
            // dW[i, (o, kh, kw)] += x[i, (n, p)] · colsᵀ.
            input.data.withUnsafeBufferPointer { x in
              swapBatchAndChannels(x.baseAddress!, permuted, first: n, second: inChannels, area: area)
            }
            weight.accumulateGrad { d in
              gemm(transposeB: true, m: inChannels, n: k, k: columns, permuted, scratch, beta: 1, d.baseAddress!)
            }
          }
          if input.requiresGrad {
            // dx[i, (n, p)] = W · cols, then back to [n, i, p].
            weight.data.withUnsafeBufferPointer { wt in
              gemm(m: inChannels, n: columns, k: k, wt.baseAddress!, scratch, permuted)
            }
            input.accumulateGrad { d in
              swapBatchAndChannels(permuted, d.baseAddress!, first: inChannels, second: n, area: area, accumulate: true)
            }
          }
        }
      }
    }
  }
}

/// Calls `body` with a pointer to `values`, or nil when there are none (an optional bias).
func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
  guard let values else { return body(nil) }
  return values.withUnsafeBufferPointer { body($0.baseAddress!) }
}
