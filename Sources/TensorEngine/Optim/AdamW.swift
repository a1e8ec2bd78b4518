extension Adam {
  /// AdamW with PyTorch's `torch.optim.AdamW` semantics and defaults: Adam whose weight decay shrinks each parameter
  /// by `learningRate · weightDecay` before the step instead of entering the gradient. The optimiser state (moments,
  /// step) is Adam's, under the same names, so checkpoints carry it alike.
  /// - Parameters:
  ///   - parameters: named parameters, usually a module's `namedParameters`.
  ///   - learningRate: step size (PyTorch's `lr`).
  ///   - betas: decay of the first and second moment estimates.
  ///   - epsilon: added to the denominator for stability.
  ///   - weightDecay: the decoupled decay rate (PyTorch's default 0.01).
  ///   - exemptFromWeightDecay: names of parameters that are not decayed.
  ///   - amsgrad: use the maximum of past second moments (Reddi et al.).
  public static func adamW(
    parameters: [(name: String, tensor: Tensor)], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
    epsilon: Float = 1e-8, weightDecay: Float = 0.01, exemptFromWeightDecay: Set<String> = [], amsgrad: Bool = false
  ) -> Adam {
    Adam(
      parameters: parameters, learningRate: learningRate, betas: betas, epsilon: epsilon, weightDecay: weightDecay,
      decoupledWeightDecay: true, exemptFromWeightDecay: exemptFromWeightDecay, amsgrad: amsgrad)
  }
}
