/// A stride-2 convolution as a stride-1 one over the four phases of its padded input (a "space to depth"): with
/// x_pq[u, v] = xpad[2u + p, 2v + q] and the kernel's taps split the same way, w_pq[a, b] = w[2a + p, 2b + q],
/// conv(x, w, stride 2) = Σ_pq conv(x_pq, w_pq, stride 1). Stacking the phases as channels (channel c's phase pq is
/// channel 4c + 2p + q) makes that one stride-1 convolution with 4x the input channels and half the kernel side,
/// which F(2x2, 2x2) or F(2x2, 3x3) then computes (a 4x4 kernel becomes 2x2 taps: 9 multiply-adds per 4 outputs
/// where im2col needs 16). A stride-2 transposed convolution is that convolution's adjoint in its input, run backwards
/// through the same phases.
struct PhaseGeometry {
  /// The image side `[channels, batch, height, width]`.
  let channels: Int
  let batch: Int
  let height: Int
  let width: Int
  /// The zeros added above and left of the image.
  let paddingTop: Int
  let paddingLeft: Int
  /// Each phase plane's size: the stride-2 convolution's output size + half the kernel side - 1.
  let phaseHeight: Int
  let phaseWidth: Int

  /// Writes phase plane `plane` (channel 4c + 2p + q) of image `image` to `target`, `rowStride` apart: the values
  /// of `source` (the whole `[channels, batch, height, width]` tensor) at rows 2u + p and columns 2v + q of the
  /// padded image, zeros where they lie in the padding.
  func split(
    _ source: UnsafePointer<Float>, plane: Int, image: Int, into target: UnsafeMutablePointer<Float>, rowStride: Int
  ) {
    forEachRow(plane: plane, image: image) { offset, u, columns in
      let row = target + u * rowStride
      row.update(repeating: 0, count: phaseWidth)
      guard let offset else { return }
      for v in columns { row[v] = source[offset + 2 * v] }
    }
  }

  /// Adds phase plane `plane` of image `image`, `rowStride` apart at `source`, back into `target` (the whole
  /// `[channels, batch, height, width]` tensor): the adjoint of `split`, dropping what lies in the padding.
  func merge(
    _ source: UnsafePointer<Float>, rowStride: Int, plane: Int, image: Int, into target: UnsafeMutablePointer<Float>
  ) {
    forEachRow(plane: plane, image: image) { offset, u, columns in
      guard let offset else { return }
      let row = source + u * rowStride
      for v in columns { target[offset + 2 * v] += row[v] }
    }
  }

  /// Calls `body(offset, u, columns)` for every row u of a phase plane: `offset` is where the image value of the
  /// row's column 0 would lie (nil when the row lies in the padding), `columns` the phase columns inside the image.
  @inline(__always)
  private func forEachRow(plane: Int, image: Int, _ body: (Int?, Int, Range<Int>) -> Void) {
    let (c, p, q) = (plane / 4, plane / 2 % 2, plane % 2)
    // 0 <= 2v + q - paddingLeft < width.
    let lower = max(0, (paddingLeft - q + 1) / 2)
    let columns = lower..<max(lower, min(phaseWidth, (width + paddingLeft - q + 1) / 2))
    for u in 0..<phaseHeight {
      let y = 2 * u + p - paddingTop
      body(y >= 0 && y < height ? ((c * batch + image) * height + y) * width + q - paddingLeft : nil, u, columns)
    }
  }
}

extension Tensor {
  /// A kernel `[outer, inner, kh, kw]` (even sides) split into phases as the input is: `[outer, 4 · inner, kh / 2,
  /// kw / 2]`, with tap (a, b) of phase channel 4i + 2p + q the kernel's tap (2a + p, 2b + q) of channel i.
  func phaseKernel() -> Tensor {
    let (outer, inner, kh, kw) = (shape[0], shape[1], shape[2], shape[3])
    let (ph, pw) = (kh / 2, kw / 2)
    /// Calls `body(index, source)` for every index of the phase kernel and that of its tap in the kernel, the
    /// (outer, inner) channel pairs shared out over the engine threads (each tap has one index: a permutation).
    func forEachTap(_ body: (Int, Int) -> Void) {
      parallelChunks(outer * inner, grain: 256) { pairs in
        for pair in pairs {
          for pq in 0..<4 {
            for a in 0..<ph {
              let (index, source) = (((pair * 4 + pq) * ph + a) * pw, (pair * kh + 2 * a + pq / 2) * kw + pq % 2)
              for b in 0..<pw { body(index + b, source + 2 * b) }
            }
          }
        }
      }
    }
    let out = uninitializedFloats(count) { out in
      data.withUnsafeBufferPointer { w in forEachTap { out[$0] = w[$1] } }
    }
    return Tensor.record(out, shape: [outer, 4 * inner, ph, pw], inputs: [self]) { result in
      self.accumulateGrad { d in
        result.grad!.withUnsafeBufferPointer { g in forEachTap { d[$1] += g[$0] } }
      }
    }
  }
}
