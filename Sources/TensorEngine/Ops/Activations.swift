extension Tensor {
  /// max(x, 0) elementwise.
  public func relu() -> Tensor {
    let out = uninitializedFloats(count) { o in
      data.withUnsafeBufferPointer { x in
        parallelChunks(o.count, grain: parallelGrain) { range in
          // A select, not a branch: this loop vectorises.
          for i in range { o[i] = x[i] > 0 ? x[i] : 0 }
        }
      }
    }
    return reluNode(out)
  }

  /// max(x, 0) written over this tensor's own values, returned as a node that shares them (PyTorch's
  /// `ReLU(inplace=True)`): the backward pass keeps one buffer where `relu()` keeps two, and no new one is written.
  /// Only for a tensor whose values nothing else reads afterwards, such as a convolution's or a sum's fresh output
  /// (their backward passes need their inputs, not their own values).
  public func reluInPlace() -> Tensor {
    data.withUnsafeMutableBufferPointer { x in
      parallelChunks(x.count, grain: parallelGrain) { range in
        for i in range { x[i] = x[i] > 0 ? x[i] : 0 }
      }
    }
    return reluNode(data)
  }

  /// The ReLU of this tensor given its output: the gradient passes where the output is positive.
  private func reluNode(_ out: [Float]) -> Tensor {
    Tensor.record(out, shape: shape, inputs: [self]) { [self] result in
      let g = result.grad!
      accumulateGrad { d in
        g.withUnsafeBufferPointer { gp in
          result.data.withUnsafeBufferPointer { y in
            parallelChunks(d.count, grain: parallelGrain) { range in
              for i in range {
                let value = gp[i]
                d[i] += y[i] > 0 ? value : 0
              }
            }
          }
        }
      }
    }
  }

  /// tanh elementwise (a rational approximation within a few ulp of libm's, see `fastTanh`).
  public func tanh() -> Tensor {
    unary({ fastTanh($0) }) { y, g in g * (1 - y * y) }
  }

  /// The logistic sigmoid 1 / (1 + e^-x) elementwise (through `fastSigmoid`).
  public func sigmoid() -> Tensor {
    unary({ fastSigmoid($0) }) { y, g in g * y * (1 - y) }
  }

  /// An elementwise function whose derivative is expressed through its output `y` and the upstream gradient `g`.
  private func unary(
    _ function: (SIMD8<Float>) -> SIMD8<Float>, derivative: @escaping (Float, Float) -> Float
  ) -> Tensor {
    let out = uninitializedFloats(count) { o in
      data.withUnsafeBufferPointer { x in
        parallelChunks(count / 8, grain: parallelGrain / 8) { range in
          let end = range.upperBound == count / 8 ? count : 8 * range.upperBound
          let start = 8 * range.lowerBound
          mapEightWide(x.baseAddress! + start, o.baseAddress! + start, count: end - start, function)
        }
      }
    }
    return Tensor.record(out, shape: shape, inputs: [self]) { [self] result in
      accumulateGrad(zip(result.data, result.grad!).map(derivative))
    }
  }
}

/// tanh as Eigen computes it: an odd rational function of degree 13/6 on [-7.9, 7.9], ±1 beyond, eight lanes at a
/// time. Multiply-adds, two selects and one division, where libm's `tanhf` costs tens of cycles a call; the error
/// stays within a few float ulp (see the activation tests). Written on `SIMD8` because the compiler does not
/// vectorise the loops that use it otherwise.
@inline(__always)
func fastTanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
  let bound: Float = 7.905_311_107_635_498_05
  var clamped = x.replacing(with: bound, where: x .> bound)
  clamped = clamped.replacing(with: -bound, where: clamped .< -bound)
  let x2 = clamped * clamped
  var p = SIMD8<Float>(repeating: -2.760_768_477_423_55e-16)
  p = p * x2 + 2.000_187_904_824_77e-13
  p = p * x2 - 8.604_671_522_137_35e-11
  p = p * x2 + 5.122_297_090_371_14e-08
  p = p * x2 + 1.485_722_357_179_79e-05
  p = p * x2 + 6.372_619_288_754_36e-04
  p = p * x2 + 4.893_524_558_917_86e-03
  var q = SIMD8<Float>(repeating: 1.198_258_394_667_02e-06)
  q = q * x2 + 1.185_347_056_866_54e-04
  q = q * x2 + 2.268_434_632_439_00e-03
  q = q * x2 + 4.893_525_185_543_85e-03
  return clamped * p / q
}

/// The logistic sigmoid through `fastTanh`: σ(x) = (1 + tanh(x / 2)) / 2, within about 1e-7 of the exact value.
@inline(__always)
func fastSigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 0.5 + 0.5 * fastTanh(0.5 * x) }

/// `fastTanh` of one value.
@inline(__always)
func fastTanh(_ x: Float) -> Float { fastTanh(SIMD8(repeating: x))[0] }

/// `fastSigmoid` of one value.
@inline(__always)
func fastSigmoid(_ x: Float) -> Float { fastSigmoid(SIMD8(repeating: x))[0] }

/// Eight floats from `source`, which need not be aligned.
@inline(__always)
func loadEight(_ source: UnsafePointer<Float>) -> SIMD8<Float> {
  UnsafeRawPointer(source).loadUnaligned(as: SIMD8<Float>.self)
}

/// Eight floats to `target`, which need not be aligned.
@inline(__always)
func storeEight(_ values: SIMD8<Float>, _ target: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(target).storeBytes(of: values, as: SIMD8<Float>.self)
}

/// `output[i] = transform(input[i])` for `count` values, eight at a time, the tail lane by lane.
@inline(__always)
func mapEightWide(
  _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
  _ transform: (SIMD8<Float>) -> SIMD8<Float>
) {
  let whole = count / 8 * 8
  let source = UnsafeRawPointer(input)
  let target = UnsafeMutableRawPointer(output)
  for i in stride(from: 0, to: whole, by: 8) {
    target.storeBytes(
      of: transform(source.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)), toByteOffset: 4 * i,
      as: SIMD8<Float>.self)
  }
  for i in whole..<count { output[i] = transform(SIMD8(repeating: input[i]))[0] }
}

/// e^x as Cephes' `expf` computes it: x = n · ln 2 + r with |r| <= ln 2 / 2, a degree-5 polynomial for e^r, and
/// 2^n put straight into the exponent bits. Branch-free, so softmax loops over it vectorise; within 2 ulp of libm's
/// for x in [-87, 88] (inputs outside are clamped: e^-87 is about the smallest normal float).
@inline(__always)
func fastExp(_ x: Float) -> Float {
  let clamped = x < -87 ? -87 : (x > 88 ? 88 : x)
  // Round to nearest by adding and subtracting 1.5 · 2^23.
  let n = (clamped * 1.442_695_04 + 12_582_912) - 12_582_912
  let r = clamped - n * 0.693_359_375 + n * 2.121_944_4e-4
  var p: Float = 1.987_569_150_0e-4
  p = p * r + 1.398_199_950_7e-3
  p = p * r + 8.333_451_907_3e-3
  p = p * r + 4.166_579_589_4e-2
  p = p * r + 1.666_666_545_9e-1
  p = p * r + 5.000_000_120_1e-1
  let y = p * r * r + r + 1
  return y * Float(bitPattern: UInt32(bitPattern: Int32(n) + 127) << 23)
}

/// `fastExp` eight lanes at a time (the same clamping, reduction and polynomial), for loops the compiler does not
/// vectorise otherwise.
@inline(__always)
func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
  var clamped = x.replacing(with: -87, where: x .< -87)
  clamped = clamped.replacing(with: 88, where: clamped .> 88)
  // n + 1.5 · 2^23 holds n in its low mantissa bits: 2^n comes from them without a float-to-int conversion
  // (whose SIMD form is a generic, unspecialised call).
  let shifted = clamped * 1.442_695_04 + 12_582_912
  let n = shifted - 12_582_912
  let r = clamped - n * 0.693_359_375 + n * 2.121_944_4e-4
  var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
  p = p * r + 1.398_199_950_7e-3
  p = p * r + 8.333_451_907_3e-3
  p = p * r + 4.166_579_589_4e-2
  p = p * r + 1.666_666_545_9e-1
  p = p * r + 5.000_000_120_1e-1
  let y = p * r * r + r + 1
  let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
  return y * unsafeBitCast(exponent, to: SIMD8<Float>.self)
}
