extension Tensor {
  /// The sum of all elements, as a scalar tensor.
  public func sum() -> Tensor {
    // Accumulate in Double: a batch of activations has millions of terms.
    let total = data.withUnsafeBufferPointer { x in x.reduce(0.0) { $0 + Double($1) } }
    return Tensor.record([Float(total)], shape: [], inputs: [self]) { [self] result in
      accumulateGrad([Float](repeating: result.grad![0], count: count))
    }
  }

  /// The mean of all elements, as a scalar tensor.
  public func mean() -> Tensor {
    sum() * (1 / Float(Swift.max(count, 1)))
  }
}

/// The sum of `count` floats from `values`, in 16 running partial sums (a single running sum is one dependent add
/// per element and does not vectorise).
func vectorSum(_ values: UnsafePointer<Float>, count: Int) -> Float {
  var partial = SIMD16<Float>()
  let vectorCount = count / 16 * 16
  for i in Swift.stride(from: 0, to: vectorCount, by: 16) {
    partial += UnsafeRawPointer(values + i).loadUnaligned(as: SIMD16<Float>.self)
  }
  var total = partial.sum()
  for i in vectorCount..<count { total += values[i] }
  return total
}
