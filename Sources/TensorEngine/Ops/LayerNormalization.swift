import Foundation

extension Tensor {
  /// Layer normalisation over the last dimension, PyTorch's `F.layer_norm(x, [D], weight, bias, eps)`: each row of
  /// D values is shifted to mean 0 and scaled to variance 1 (the biased variance, as PyTorch), then multiplied by
  /// `weight` and shifted by `bias`. Gradients reach the input, the weight and the bias.
  /// - Parameters:
  ///   - weight: the per-feature scale, `[D]`.
  ///   - bias: the per-feature shift, `[D]`.
  ///   - epsilon: added to the variance before the square root.
  /// - Throws: `TensorError` if this tensor has no dimensions or `weight` or `bias` is not `[D]`.
  public func layerNormalized(weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) throws -> Tensor {
    guard let width = shape.last, width > 0 else {
      throw TensorError("layerNormalized: need a non-empty last dimension, got \(shape)")
    }
    guard weight.shape == [width], bias.shape == [width] else {
      throw TensorError("layerNormalized: weight \(weight.shape) and bias \(bias.shape) must both be [\(width)]")
    }
    let rows = count / width
    let input = self
    // Each row's mean and 1/σ, kept for the backward pass, which recomputes the normalised values from them.
    var means = [Float](repeating: 0, count: rows)
    var inverseDeviations = [Float](repeating: 0, count: rows)
    let out = uninitializedFloats(count) { o in
      input.data.withUnsafeBufferPointer { x in
        weight.data.withUnsafeBufferPointer { w in
          bias.data.withUnsafeBufferPointer { b in
            means.withUnsafeMutableBufferPointer { mean in
              inverseDeviations.withUnsafeMutableBufferPointer { inverse in
                parallelChunks(rows, grain: Swift.max(1, parallelGrain / width)) { range in
                  for row in range {
                    let base = row * width
                    var sum: Float = 0
                    for j in 0..<width { sum += x[base + j] }
                    let m = sum / Float(width)
                    // Two passes: the variance of the centred values does not lose digits to cancellation.
                    var squares: Float = 0
                    for j in 0..<width {
                      let centred = x[base + j] - m
                      squares += centred * centred
                    }
                    let r = 1 / (squares / Float(width) + epsilon).squareRoot()
                    (mean[row], inverse[row]) = (m, r)
                    for j in 0..<width { o[base + j] = (x[base + j] - m) * r * w[j] + b[j] }
                  }
                }
              }
            }
          }
        }
      }
    }
    return Tensor.record(out, shape: shape, inputs: [input, weight, bias]) { result in
      let threads = rows >= 2 * Swift.max(1, parallelGrain / width) ? EngineThreads.count : 1
      // dx = r · (g·w - mean(g·w) - x̂ · mean(g·w·x̂)); the weight and bias gradients are sums over rows, each
      // thread summing its own rows, added in thread order so the result is reproducible.
      var inputGradient = [Float](repeating: 0, count: input.count)
      var partialWeight = [Float](repeating: 0, count: threads * width)
      var partialBias = [Float](repeating: 0, count: threads * width)
      result.grad!.withUnsafeBufferPointer { g in
        input.data.withUnsafeBufferPointer { x in
          weight.data.withUnsafeBufferPointer { w in
            means.withUnsafeBufferPointer { mean in
              inverseDeviations.withUnsafeBufferPointer { inverse in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                  partialWeight.withUnsafeMutableBufferPointer { dw in
                    partialBias.withUnsafeMutableBufferPointer { db in
                      parallelWorkers(rows, parallel: threads > 1) { worker, range in
                        let (dwPart, dbPart) = (dw.baseAddress! + worker * width, db.baseAddress! + worker * width)
                        for row in range {
                          let base = row * width
                          let (m, r) = (mean[row], inverse[row])
                          var (meanScaled, meanScaledTimesNormalised): (Float, Float) = (0, 0)
                          for j in 0..<width {
                            let normalised = (x[base + j] - m) * r
                            let scaled = g[base + j] * w[j]
                            meanScaled += scaled
                            meanScaledTimesNormalised += scaled * normalised
                            dwPart[j] += g[base + j] * normalised
                            dbPart[j] += g[base + j]
                          }
                          meanScaled /= Float(width)
                          meanScaledTimesNormalised /= Float(width)
                          for j in 0..<width {
                            let normalised = (x[base + j] - m) * r
                            dx[base + j] =
                              r * (g[base + j] * w[j] - meanScaled - normalised * meanScaledTimesNormalised)
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
      func summedOverThreads(_ partial: [Float]) -> [Float] {
        var total = Array(partial[0..<width])
        for t in 1..<threads {
          for j in 0..<width { total[j] += partial[t * width + j] }
        }
        return total
      }
      if input.requiresGrad { input.accumulateGrad(inputGradient) }
      if weight.requiresGrad { weight.accumulateGrad(summedOverThreads(partialWeight)) }
      if bias.requiresGrad { bias.accumulateGrad(summedOverThreads(partialBias)) }
    }
  }
}
