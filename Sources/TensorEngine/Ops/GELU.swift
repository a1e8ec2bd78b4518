extension Tensor {
  /// The Gaussian error linear unit x · Φ(x) elementwise, in the exact erf form of PyTorch's `nn.GELU()` (not its
  /// tanh approximation): Φ(x) = (1 + erf(x / √2)) / 2. The backward pass is g · (Φ(x) + x · φ(x)).
  public func gelu() -> Tensor {
    let input = self
    let out = uninitializedFloats(count) { o in
      input.data.withUnsafeBufferPointer { x in
        eightWideChunks(o.count) { start, end in
          mapEightWide(x.baseAddress! + start, o.baseAddress! + start, count: end - start) { $0 * normalCumulative($0) }
        }
      }
    }
    return Tensor.record(out, shape: shape, inputs: [input]) { result in
      let g = result.grad!
      input.accumulateGrad { d in
        g.withUnsafeBufferPointer { gp in
          input.data.withUnsafeBufferPointer { x in
            eightWideChunks(d.count) { start, end in
              func derivative(_ x: SIMD8<Float>) -> SIMD8<Float> {
                // φ(x) = e^(-x²/2) / √(2π).
                normalCumulative(x) + x * 0.398_942_28 * fastExp(-0.5 * x * x)
              }
              let whole = start + (end - start) / 8 * 8
              let (source, upstream) = (UnsafeRawPointer(x.baseAddress!), UnsafeRawPointer(gp.baseAddress!))
              let target = UnsafeMutableRawPointer(d.baseAddress!)
              for i in stride(from: start, to: whole, by: 8) {
                let value = source.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                let sum =
                  target.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                  + upstream.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * derivative(value)
                target.storeBytes(of: sum, toByteOffset: 4 * i, as: SIMD8<Float>.self)
              }
              for i in whole..<end { d[i] += gp[i] * derivative(SIMD8(repeating: x[i]))[0] }
            }
          }
        }
      }
    }
  }
}

/// Runs `body(start, end)` over `0..<count` in chunks of whole groups of eight (the last takes the tail), one per
/// engine thread when the count is large enough to be worth splitting.
private func eightWideChunks(_ count: Int, _ body: (Int, Int) -> Void) {
  let groups = count / 8
  parallelChunks(groups, grain: parallelGrain / 8) { range in
    body(8 * range.lowerBound, range.upperBound == groups ? count : 8 * range.upperBound)
  }
}

/// Φ(x), the standard normal distribution function, through `fastErf`, eight lanes at a time.
@inline(__always)
func normalCumulative(_ x: SIMD8<Float>) -> SIMD8<Float> { 0.5 + 0.5 * fastErf(x * 0.707_106_77) }

/// erf(x) by Abramowitz and Stegun's 7.1.26: 1 - (a₁t + ... + a₅t⁵) e^(-x²) with t = 1 / (1 + p|x|), within 1.5e-7
/// of the exact value everywhere. Eight lanes of multiply-adds, one division and `fastExp`, where libm's `erff` is a
/// call per value.
@inline(__always)
func fastErf(_ x: SIMD8<Float>) -> SIMD8<Float> {
  let negative = x .< 0
  let magnitude = x.replacing(with: -x, where: negative)
  let t = 1 / (1 + 0.327_591_1 * magnitude)
  var p = SIMD8<Float>(repeating: 1.061_405_429)
  p = p * t - 1.453_152_027
  p = p * t + 1.421_413_741
  p = p * t - 0.284_496_736
  p = p * t + 0.254_829_592
  let y = 1 - p * t * fastExp(-magnitude * magnitude)
  return y.replacing(with: -y, where: negative)
}
