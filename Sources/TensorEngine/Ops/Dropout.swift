extension Tensor {
  /// Inverted dropout, PyTorch's `F.dropout`: while `training`, each value is zeroed with probability `probability`
  /// and the others are scaled by 1 / (1 - probability), so the expectation is unchanged; the gradient passes
  /// through the same mask. Not training, or with probability 0, it is the identity (this tensor itself, and no
  /// draws from `rng`).
  /// - Parameters:
  ///   - probability: the chance that a value is dropped, in [0, 1).
  ///   - training: whether to drop at all.
  ///   - rng: the generator that draws the mask, one uniform number per value.
  /// - Throws: `TensorError` for a probability outside [0, 1).
  public func dropout(probability: Float, training: Bool, rng: inout RandomGenerator) throws -> Tensor {
    guard probability >= 0, probability < 1 else {
      throw TensorError("dropout: the probability must be in [0, 1), got \(probability)")
    }
    guard training, probability > 0 else { return self }
    let scale = 1 / (1 - probability)
    // The mask holds the factor of each value: 0 or the scale.
    var mask = [Float](repeating: 0, count: count)
    for i in 0..<count where rng.uniform() >= probability { mask[i] = scale }
    let out = zip(data, mask).map { $0 * $1 }
    return Tensor.record(out, shape: shape, inputs: [self]) { [self] result in
      accumulateGrad(zip(result.grad!, mask).map { $0 * $1 })
    }
  }
}
