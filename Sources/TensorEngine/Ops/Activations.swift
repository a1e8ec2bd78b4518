import Foundation

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

  /// tanh elementwise.
  public func tanh() -> Tensor {
    unary(Foundation.tanh) { y, g in g * (1 - y * y) }
  }

  /// The logistic sigmoid 1 / (1 + e^-x) elementwise.
  public func sigmoid() -> Tensor {
    unary({ 1 / (1 + Foundation.exp(-$0)) }) { y, g in g * y * (1 - y) }
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
