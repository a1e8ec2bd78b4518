extension Tensor {
  /// max(x, 0) elementwise.
  public func relu() -> Tensor {
    let out = uninitializedFloats(count) { o in
      data.withUnsafeBufferPointer { x in
        // A select, not a branch: this loop vectorises.
        for i in 0..<o.count { o[i] = x[i] > 0 ? x[i] : 0 }
      }
    }
    return Tensor.record(out, shape: shape, inputs: [self]) { [self] result in
      let g = result.grad!
      accumulateGrad(
        uninitializedFloats(count) { d in
          g.withUnsafeBufferPointer { gp in
            result.data.withUnsafeBufferPointer { y in
              for i in 0..<d.count {
                let value = gp[i]
                d[i] = y[i] > 0 ? value : 0
              }
            }
          }
        })
    }
  }

  /// tanh elementwise (a rational approximation within a few ulp of libm's, see `fastTanh`).
  public func tanh() -> Tensor {
    unary(fastTanh) { y, g in g * (1 - y * y) }
  }

  /// The logistic sigmoid 1 / (1 + e^-x) elementwise (through `fastSigmoid`).
  public func sigmoid() -> Tensor {
    unary(fastSigmoid) { y, g in g * y * (1 - y) }
  }

  /// An elementwise function whose derivative is expressed through its output `y` and the upstream gradient `g`.
  private func unary(_ function: (Float) -> Float, derivative: @escaping (Float, Float) -> Float) -> Tensor {
    let out = uninitializedFloats(count) { o in
      data.withUnsafeBufferPointer { x in
        for i in 0..<o.count { o[i] = function(x[i]) }
      }
    }
    return Tensor.record(out, shape: shape, inputs: [self]) { [self] result in
      accumulateGrad(zip(result.data, result.grad!).map(derivative))
    }
  }
}

/// tanh as Eigen computes it: an odd rational function of degree 13/6 on [-7.9, 7.9], ±1 beyond. Branch-free
/// multiply-adds and one division, so loops over it vectorise, where libm's `tanhf` costs tens of cycles a call;
/// the error stays within a few float ulp (see the activation tests).
@inline(__always)
func fastTanh(_ x: Float) -> Float {
  let bound: Float = 7.905_311_107_635_498_05
  let clamped = x < -bound ? -bound : (x > bound ? bound : x)
  let x2 = clamped * clamped
  var p: Float = -2.760_768_477_423_55e-16
  p = p * x2 + 2.000_187_904_824_77e-13
  p = p * x2 - 8.604_671_522_137_35e-11
  p = p * x2 + 5.122_297_090_371_14e-08
  p = p * x2 + 1.485_722_357_179_79e-05
  p = p * x2 + 6.372_619_288_754_36e-04
  p = p * x2 + 4.893_524_558_917_86e-03
  var q: Float = 1.198_258_394_667_02e-06
  q = q * x2 + 1.185_347_056_866_54e-04
  q = q * x2 + 2.268_434_632_439_00e-03
  q = q * x2 + 4.893_525_185_543_85e-03
  return clamped * p / q
}

/// The logistic sigmoid through `fastTanh`: σ(x) = (1 + tanh(x / 2)) / 2, within about 1e-7 of the exact value.
@inline(__always)
func fastSigmoid(_ x: Float) -> Float { 0.5 + 0.5 * fastTanh(0.5 * x) }
