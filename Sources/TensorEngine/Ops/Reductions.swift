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
