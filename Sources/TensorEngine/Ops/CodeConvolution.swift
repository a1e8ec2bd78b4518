extension Tensor {
  /// The stride-1 convolution of grids of embedded codes, from each code's products with the kernel's taps: this
  /// tensor is `[K, taps · O]`, the product of code k's embedding with tap t (row-major over the `kernel`) of a weight
  /// `[O, d, kh, kw]` at `[k, t · O ..< (t + 1) · O]`. The result is `conv2d` of the embedded grids `[d, batch,
  /// height, width]` with that weight and `bias`, `[O, batch, OH, OW]`: each position adds up the rows its taps'
  /// codes pick.
  ///
  /// A first layer over codes costs K · taps · O · d multiply-adds for the products (a GEMM before this op) instead
  /// of the convolution's positions · taps · O · d, and needs no im2col matrix: at 2048 positions of 512 codes, a
  /// quarter.
  /// - Parameters:
  ///   - codes: `batch` grids of `height x width` code indices, row-major.
  ///   - padding: as `conv2d`'s; a negative side crops.
  /// - Throws: `TensorError` if this is not `[K, taps · O]`, a code is outside `0..<K`, the counts do not fit or
  ///   the kernel does not fit the padded grid.
  public func codeConvolution(
    codes: [Int], batch: Int, height: Int, width: Int, kernel: (Int, Int), padding: ConvPadding, bias: Tensor? = nil
  ) throws -> Tensor {
    let (kh, kw) = kernel
    guard rank == 2, kh > 0, kw > 0, shape[1] % (kh * kw) == 0, shape[1] > 0 else {
      throw TensorError("codeConvolution: products must be [K, taps · O] for a \(kh)x\(kw) kernel, got \(shape)")
    }
    guard codes.count == batch * height * width else {
      throw TensorError("codeConvolution: \(codes.count) codes for \(batch) grids of \(height)x\(width)")
    }
    let (count, rowWidth, outChannels) = (shape[0], shape[1], shape[1] / (kh * kw))
    if let bad = codes.first(where: { $0 < 0 || $0 >= count }) {
      throw TensorError("codeConvolution: code \(bad) outside 0..<\(count)")
    }
    if let bias, bias.shape != [outChannels] {
      throw TensorError("codeConvolution: bias shape \(bias.shape) should be [\(outChannels)]")
    }
    let (oh, ow) = (height + padding.top + padding.bottom - kh + 1, width + padding.left + padding.right - kw + 1)
    guard oh >= 1, ow >= 1 else {
      throw TensorError("codeConvolution: a \(kh)x\(kw) kernel does not fit \(height)x\(width) with \(padding)")
    }
    let (area, positions) = (oh * ow, batch * oh * ow)
    /// Calls `body(tap, code)` for each tap of output position `p` that lands inside its grid, in tap order.
    func forEachTap(_ p: Int, _ body: (Int, Int) -> Void) {
      let (image, q) = p.quotientAndRemainder(dividingBy: area)
      let (i, j) = q.quotientAndRemainder(dividingBy: ow)
      for r in 0..<kh {
        let y = i - padding.top + r
        guard y >= 0, y < height else { continue }
        for s in 0..<kw {
          let x = j - padding.left + s
          guard x >= 0, x < width else { continue }
          body(r * kw + s, codes[(image * height + y) * width + x])
        }
      }
    }

    let products = self
    // Position-major sums (each position's O channels together, as the rows are), turned channel-major after.
    let out = ScratchPool.withBuffer(positions * outChannels) { sums in
      products.data.withUnsafeBufferPointer { table in
        withOptionalPointer(bias?.data) { b in
          parallelChunks(positions, grain: max(1, parallelGrain / outChannels)) { range in
            for p in range {
              let sum = sums + p * outChannels
              if let b { sum.update(from: b, count: outChannels) } else { sum.update(repeating: 0, count: outChannels) }
              forEachTap(p) { tap, code in
                addRow(table.baseAddress! + code * rowWidth + tap * outChannels, to: sum, count: outChannels)
              }
            }
          }
        }
      }
      return uninitializedFloats(positions * outChannels) { o in
        transpose(sums, rows: positions, columns: outChannels, into: o.baseAddress!)
      }
    }
    let inputs = [products] + (bias.map { [$0] } ?? [])
    return Tensor.record(out, shape: [outChannels, batch, oh, ow], inputs: inputs) { result in
      result.grad!.withUnsafeBufferPointer { g in
        if let bias, bias.requiresGrad {
          bias.accumulateGrad(sumPerRow(g.baseAddress!, rows: outChannels, width: positions))
        }
        guard products.requiresGrad else { return }
        ScratchPool.withBuffer(positions * outChannels) { rows in
          transpose(g.baseAddress!, rows: outChannels, columns: positions, into: rows)
          products.accumulateGrad { d in
            // Each thread adds its own channels of every position's rows, so the sums keep one order.
            parallelChunks(outChannels, grain: 8) { channels in
              for p in 0..<positions {
                forEachTap(p) { tap, code in
                  addRow(
                    rows + p * outChannels + channels.lowerBound,
                    to: d.baseAddress! + code * rowWidth + tap * outChannels + channels.lowerBound,
                    count: channels.count)
                }
              }
            }
          }
        }
      }
    }
  }
}

/// target = sourceᵀ for a row-major `rows x columns` source, in blocks that stay in cache.
private func transpose(
  _ source: UnsafePointer<Float>, rows: Int, columns: Int, into target: UnsafeMutablePointer<Float>
) {
  let block = 32
  for r0 in stride(from: 0, to: rows, by: block) {
    for c0 in stride(from: 0, to: columns, by: block) {
      for r in r0..<min(r0 + block, rows) {
        for c in c0..<min(c0 + block, columns) { target[c * rows + r] = source[r * columns + c] }
      }
    }
  }
}
