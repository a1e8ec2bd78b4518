extension Tensor {
  /// The Gaussian error linear unit x · Φ(x) elementwise, in the exact erf form of PyTorch's `nn.GELU()` (not its
  /// tanh approximation): Φ(x) = (1 + erf(x / √2)) / 2. The backward pass is g · (Φ(x) + x · φ(x)).
  public func gelu() -> Tensor {
    let input = self
    let out = uninitializedFloats(count) { o in
      input.data.withUnsafeBufferPointer { x in
        parallelChunks(o.count, grain: parallelGrain) { range in
          for i in range { o[i] = x[i] * normalCumulative(x[i]) }
        }
      }
    }
    return Tensor.record(out, shape: shape, inputs: [input]) { result in
      let g = result.grad!
      input.accumulateGrad { d in
        g.withUnsafeBufferPointer { gp in
          input.data.withUnsafeBufferPointer { x in
            parallelChunks(d.count, grain: parallelGrain) { range in
              for i in range {
                let value = x[i]
                // φ(x) = e^(-x²/2) / √(2π).
                let density = 0.398_942_28 * fastExp(-0.5 * value * value)
                d[i] += gp[i] * (normalCumulative(value) + value * density)
              }
            }
          }
        }
      }
    }
  }
}

/// Φ(x), the standard normal distribution function, through `fastErf`.
@inline(__always)
func normalCumulative(_ x: Float) -> Float { 0.5 + 0.5 * fastErf(x * 0.707_106_77) }

/// erf(x) by Abramowitz and Stegun's 7.1.26: 1 - (a₁t + ... + a₅t⁵) e^(-x²) with t = 1 / (1 + p|x|), within 1.5e-7
/// of the exact value everywhere. Branch-free (through `fastExp`) where libm's `erff` is a call per value.
@inline(__always)
func fastErf(_ x: Float) -> Float {
  let magnitude = abs(x)
  let t = 1 / (1 + 0.327_591_1 * magnitude)
  var p: Float = 1.061_405_429
  p = p * t - 1.453_152_027
  p = p * t + 1.421_413_741
  p = p * t - 0.284_496_736
  p = p * t + 0.254_829_592
  let y = 1 - p * t * fastExp(-magnitude * magnitude)
  return x < 0 ? -y : y
}
