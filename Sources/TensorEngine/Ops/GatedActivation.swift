extension Tensor {
  /// The gated activation unit of the gated PixelCNN (van den Oord et al. 2016): for a pre-activation `[N, 2C, H, W]`
  /// whose channels are `(a, b)`, `tanh(a + c_a) · σ(b + c_b)`, `[N, C, H, W]`. `condition`, `[N, 2C]`, is the
  /// optional per-image bias `(c_a, c_b)` (a class embedding), added at every position.
  ///
  /// One pass over the data, where split + add + tanh + sigmoid + multiply would take five and keep four
  /// intermediate tensors alive for the backward pass; this one keeps tanh and σ.
  /// - Throws: `TensorError` if the input is not NCHW with an even channel count or `condition` is not `[N, 2C]`.
  public func gatedActivation(condition: Tensor? = nil) throws -> Tensor {
    guard rank == 4, shape[1] % 2 == 0, shape[1] > 0 else {
      throw TensorError("gatedActivation: input must be [N, 2C, H, W] with an even channel count, got \(shape)")
    }
    let (n, channels, area) = (shape[0], shape[1] / 2, shape[2] * shape[3])
    if let condition, condition.shape != [n, 2 * channels] {
      throw TensorError("gatedActivation: condition \(condition.shape) should be [\(n), \(2 * channels)] for \(shape)")
    }
    let half = n * channels * area
    // t = tanh(a + c_a) and s = σ(b + c_b), image by image and channel by channel.
    var tanhValues = [Float](repeating: 0, count: half)
    var sigmoidValues = [Float](repeating: 0, count: half)
    let out = uninitializedFloats(half) { o in
      data.withUnsafeBufferPointer { x in
        tanhValues.withUnsafeMutableBufferPointer { t in
          sigmoidValues.withUnsafeMutableBufferPointer { s in
            withOptionalPointer(condition?.data) { c in
              for image in 0..<n {
                for channel in 0..<channels {
                  let a = x.baseAddress! + (image * 2 * channels + channel) * area
                  let b = a + channels * area
                  let biasA = c?[image * 2 * channels + channel] ?? 0
                  let biasB = c?[image * 2 * channels + channels + channel] ?? 0
                  let target = (image * channels + channel) * area
                  for p in 0..<area {
                    let tp = fastTanh(a[p] + biasA)
                    let sp = fastSigmoid(b[p] + biasB)
                    t[target + p] = tp
                    s[target + p] = sp
                    o[target + p] = tp * sp
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
    return Tensor.record(out, shape: [n, channels, shape[2], shape[3]], inputs: inputs) { result in
      let g = result.grad!
      // d/da = g · s · (1 - t²), d/db = g · t · s · (1 - s); the condition's gradient sums them over positions.
      let dx = uninitializedFloats(2 * half) { d in
        g.withUnsafeBufferPointer { gp in
          tanhValues.withUnsafeBufferPointer { t in
            sigmoidValues.withUnsafeBufferPointer { s in
              for image in 0..<n {
                for channel in 0..<channels {
                  let da = d.baseAddress! + (image * 2 * channels + channel) * area
                  let db = da + channels * area
                  let source = (image * channels + channel) * area
                  for p in 0..<area {
                    let (tp, sp, gv) = (t[source + p], s[source + p], gp[source + p])
                    da[p] = gv * sp * (1 - tp * tp)
                    db[p] = gv * tp * sp * (1 - sp)
                  }
                }
              }
            }
          }
        }
      }
      if let condition, condition.requiresGrad {
        condition.accumulateGrad { dc in
          dx.withUnsafeBufferPointer { d in
            for row in 0..<(n * 2 * channels) {
              var sum: Float = 0
              for p in 0..<area { sum += d[row * area + p] }
              dc[row] += sum
            }
          }
        }
      }
      input.accumulateGrad(dx)
    }
  }
}
