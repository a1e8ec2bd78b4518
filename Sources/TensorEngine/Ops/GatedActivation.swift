extension Tensor {
  /// The gated activation unit of the gated PixelCNN (van den Oord et al. 2016): for a channel-major
  /// pre-activation `[2C, N, H, W]` whose channels are `(a, b)`, `tanh(a + c_a) · σ(b + c_b)`, `[C, N, H, W]`.
  /// `condition`, `[N, 2C]`, is the optional per-image bias `(c_a, c_b)` (a class embedding), added at every
  /// position.
  ///
  /// One pass over the data, where split + add + tanh + sigmoid + multiply would take five and keep four
  /// intermediate tensors alive for the backward pass; this one keeps tanh and σ.
  /// - Throws: `TensorError` if the input is not rank 4 with an even channel count or `condition` is not `[N, 2C]`.
  public func gatedActivation(condition: Tensor? = nil) throws -> Tensor {
    guard rank == 4, shape[0] % 2 == 0, shape[0] > 0 else {
      throw TensorError("gatedActivation: input must be [2C, N, H, W] with an even channel count, got \(shape)")
    }
    let (channels, n, area) = (shape[0] / 2, shape[1], shape[2] * shape[3])
    if let condition, condition.shape != [n, 2 * channels] {
      throw TensorError("gatedActivation: condition \(condition.shape) should be [\(n), \(2 * channels)] for \(shape)")
    }
    let half = channels * n * area
    // The biases of plane (channel, image) of a and of b.
    func biases(_ c: UnsafePointer<Float>?, channel: Int, image: Int) -> (Float, Float) {
      guard let c else { return (0, 0) }
      return (c[image * 2 * channels + channel], c[image * 2 * channels + channels + channel])
    }
    // t = tanh(a + c_a) and s = σ(b + c_b), plane by plane, eight values at a time; a is the first half of the
    // data, b the second.
    // Every value is written below (each plane in full), so the arrays start uninitialised.
    var tanhValues = uninitializedFloats(half) { _ in }
    var sigmoidValues = uninitializedFloats(half) { _ in }
    let out = uninitializedFloats(half) { o in
      data.withUnsafeBufferPointer { x in
        tanhValues.withUnsafeMutableBufferPointer { t in
          sigmoidValues.withUnsafeMutableBufferPointer { s in
            withOptionalPointer(condition?.data) { c in
              let (a, b) = (x.baseAddress!, x.baseAddress! + half)
              let (tp, sp, op) = (t.baseAddress!, s.baseAddress!, o.baseAddress!)
              // Plane (channel, image) of the output is plane `channel · n + image`.
              parallelChunks(channels * n, grain: max(1, parallelGrain / area)) { planes in
                for plane in planes {
                  let (biasA, biasB) = biases(c, channel: plane / n, image: plane % n)
                  let start = plane * area
                  let whole = start + area / 8 * 8
                  for p in stride(from: start, to: whole, by: 8) {
                    let tv = fastTanh(loadEight(a + p) + biasA)
                    let sv = fastSigmoid(loadEight(b + p) + biasB)
                    storeEight(tv, tp + p)
                    storeEight(sv, sp + p)
                    storeEight(tv * sv, op + p)
                  }
                  for p in whole..<(start + area) {
                    (t[p], s[p]) = (fastTanh(x[p] + biasA), fastSigmoid(x[half + p] + biasB))
                    o[p] = t[p] * s[p]
                  }
                }
              }
            }
          }
        }
      }
    }
    let input = self
    let inputs = [input] + (condition.map { [$0] } ?? [])
    return Tensor.record(out, shape: [channels, n, shape[2], shape[3]], inputs: inputs) { result in
      let g = result.grad!
      // d/da = g · s · (1 - t²), d/db = g · t · s · (1 - s); the condition's gradient sums them over positions.
      let dx = uninitializedFloats(2 * half) { d in
        g.withUnsafeBufferPointer { gp in
          tanhValues.withUnsafeBufferPointer { t in
            sigmoidValues.withUnsafeBufferPointer { s in
              parallelChunks(half, grain: parallelGrain) { range in
                /// Both halves of dx from eight values of t, s and g.
                func gradients(_ tp: SIMD8<Float>, _ sp: SIMD8<Float>, _ gv: SIMD8<Float>) -> (
                  SIMD8<Float>, SIMD8<Float>
                ) { (gv * sp * (1 - tp * tp), gv * tp * sp * (1 - sp)) }
                let whole = range.lowerBound + range.count / 8 * 8
                for p in stride(from: range.lowerBound, to: whole, by: 8) {
                  let (da, db) = gradients(
                    loadEight(t.baseAddress! + p), loadEight(s.baseAddress! + p), loadEight(gp.baseAddress! + p))
                  storeEight(da, d.baseAddress! + p)
                  storeEight(db, d.baseAddress! + half + p)
                }
                for p in whole..<range.upperBound {
                  let (da, db) = gradients(SIMD8(repeating: t[p]), SIMD8(repeating: s[p]), SIMD8(repeating: gp[p]))
                  (d[p], d[half + p]) = (da[0], db[0])
                }
              }
            }
          }
        }
      }
      if let condition, condition.requiresGrad {
        condition.accumulateGrad { dc in
          dx.withUnsafeBufferPointer { d in
            for channel in 0..<channels {
              for image in 0..<n {
                let start = d.baseAddress! + (channel * n + image) * area
                dc[image * 2 * channels + channel] += vectorSum(start, count: area)
                dc[image * 2 * channels + channels + channel] += vectorSum(start + half, count: area)
              }
            }
          }
        }
      }
      input.accumulateGrad(dx)
    }
  }
}

/// Calls `body` with a pointer to `values`, or nil when there are none (an optional bias).
func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
  guard let values else { return body(nil) }
  return values.withUnsafeBufferPointer { body($0.baseAddress!) }
}
