extension Tensor {
  /// The straight-through estimator: the values of `forwardValue`, the gradient of the identity in `self`.
  /// Equal to `self + sg[forwardValue - self]` but exact: the output is bit for bit `forwardValue`, so decoding
  /// code indices later reproduces training-time reconstructions exactly.
  /// - Throws: `TensorError` if the shapes differ.
  public func straightThrough(_ forwardValue: Tensor) throws -> Tensor {
    guard forwardValue.shape == shape else {
      throw TensorError("straightThrough: value \(forwardValue.shape) and input \(shape) differ")
    }
    return Tensor.record(forwardValue.data, shape: shape, inputs: [self]) { [self] result in
      accumulateGrad(result.grad!)
    }
  }
}
