/// A stride-2 convolution as a stride-1 one over the four phases of its padded input (a "space to depth"): with
/// x_pq[u, v] = xpad[2u + p, 2v + q] and the kernel's taps split the same way, w_pq[a, b] = w[2a + p, 2b + q],
/// conv(x, w, stride 2) = Σ_pq conv(x_pq, w_pq, stride 1). Stacking the phases as channels (channel c's phase pq is
/// channel 4c + 2p + q) makes that one stride-1 convolution with 4x the input channels and half the kernel side,
/// which F(2x2, 2x2) or F(2x2, 3x3) then computes (a 4x4 kernel becomes 2x2 taps: 9 multiply-adds per 4 outputs
/// where im2col needs 16). (Transposed convolutions stay on col2im: run backwards this way, their phase planes come
/// out one row and column larger than the tiles divide evenly, and the saving was lost.)
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

  /// The phases `[4 · channels, batch, phaseHeight, phaseWidth]` of `image`, zeros where they reach into padding.
  func split(_ image: UnsafePointer<Float>, into phases: UnsafeMutablePointer<Float>) {
    forEachPhaseRow { source, target, columns in
      target.update(repeating: 0, count: phaseWidth)
      guard let source else { return }
      for v in columns { target[v] = source[2 * v] }
    } images: {
      image + $0
    } phases: {
      phases + $0
    }
  }

  /// image += the phases merged back (the adjoint of `split`; what lies in the padding is dropped).
  func merge(_ phases: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>) {
    forEachPhaseRow { target, source, columns in
      guard let target else { return }
      for v in columns { target[2 * v] += source[v] }
    } images: {
      image + $0
    } phases: {
      UnsafeMutablePointer(mutating: phases + $0)
    }
  }

  /// Calls `body(imageRow, phaseRow, columns)` for every row of every phase plane: `imageRow` points at the image
  /// value of the row's column 0 (nil when the row lies in the padding), and `columns` are the phase columns that
  /// lie inside the image. Channels split over the engine threads (each writes its own planes).
  private func forEachPhaseRow<Image>(
    _ body: (Image?, UnsafeMutablePointer<Float>, Range<Int>) -> Void, images: (Int) -> Image,
    phases: (Int) -> UnsafeMutablePointer<Float>
  ) {
    let columnRanges = (0..<2).map { q in
      // 0 <= 2v + q - paddingLeft < width.
      let lower = max(0, (paddingLeft - q + 1) / 2)
      return lower..<max(lower, min(phaseWidth, (width + paddingLeft - q + 1) / 2))
    }
    parallelChunks(channels, grain: max(1, parallelGrain / (4 * batch * phaseHeight * phaseWidth))) { range in
      for c in range {
        for b in 0..<batch {
          for p in 0..<2 {
            for q in 0..<2 {
              let plane = (((4 * c + 2 * p + q) * batch + b) * phaseHeight) * phaseWidth
              for u in 0..<phaseHeight {
                let y = 2 * u + p - paddingTop
                let row = y >= 0 && y < height ? images(((c * batch + b) * height + y) * width + q - paddingLeft) : nil
                body(row, phases(plane + u * phaseWidth), columnRanges[q])
              }
            }
          }
        }
      }
    }
  }
}

extension Tensor {
  /// The phases of these images (`[channels, batch, height, width]`) for a stride-2 convolution (see
  /// `PhaseGeometry`), recorded for backward.
  func phases(_ geometry: PhaseGeometry) -> Tensor {
    let count = 4 * geometry.channels * geometry.batch * geometry.phaseHeight * geometry.phaseWidth
    let out = uninitializedFloats(count) { out in
      data.withUnsafeBufferPointer { geometry.split($0.baseAddress!, into: out.baseAddress!) }
    }
    let shape = [4 * geometry.channels, geometry.batch, geometry.phaseHeight, geometry.phaseWidth]
    return Tensor.record(out, shape: shape, inputs: [self]) { result in
      result.grad!.withUnsafeBufferPointer { g in
        self.accumulateGrad { d in geometry.merge(g.baseAddress!, into: d.baseAddress!) }
      }
    }
  }

  /// A kernel `[outer, inner, kh, kw]` (even sides) split into phases as the input is: `[outer, 4 · inner, kh / 2,
  /// kw / 2]`, with tap (a, b) of phase channel 4i + 2p + q the kernel's tap (2a + p, 2b + q) of channel i.
  func phaseKernel() -> Tensor {
    let (outer, inner, kh, kw) = (shape[0], shape[1], shape[2], shape[3])
    let (ph, pw) = (kh / 2, kw / 2)
    /// For every index of the phase kernel, that of the kernel.
    func sourceIndex(_ index: Int) -> Int {
      let (b, a, pq, pair) = (index % pw, index / pw % ph, index / (ph * pw) % 4, index / (4 * ph * pw))
      return (pair * kh + 2 * a + pq / 2) * kw + 2 * b + pq % 2
    }
    let count = self.count
    let out = uninitializedFloats(count) { out in
      data.withUnsafeBufferPointer { w in
        for index in 0..<count { out[index] = w[sourceIndex(index)] }
      }
    }
    return Tensor.record(out, shape: [outer, 4 * inner, ph, pw], inputs: [self]) { result in
      self.accumulateGrad { d in
        result.grad!.withUnsafeBufferPointer { g in
          for index in 0..<count { d[sourceIndex(index)] += g[index] }
        }
      }
    }
  }
}
