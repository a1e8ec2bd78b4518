/// Layer normalisation over the last dimension, PyTorch's `nn.LayerNorm(dimension)` (`weight` `[D]` initialised to
/// ones, `bias` `[D]` to zeros).
public final class LayerNorm: Module {
  public let weight: Parameter
  public let bias: Parameter
  /// Added to the variance before the square root.
  public let epsilon: Float

  /// - Parameters:
  ///   - dimension: the size D of the last dimension that is normalised.
  ///   - epsilon: added to the variance (PyTorch's `eps`).
  public init(_ dimension: Int, epsilon: Float = 1e-5) {
    precondition(dimension > 0, "LayerNorm: the dimension must be > 0, got \(dimension)")
    weight = Parameter(unchecked: [Float](repeating: 1, count: dimension), shape: [dimension], requiresGrad: true)
    bias = Parameter(zeros: [dimension], requiresGrad: true)
    self.epsilon = epsilon
  }

  public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }

  /// Normalises each row of the last dimension of `input` (`[..., D]`).
  public func callAsFunction(_ input: Tensor) throws -> Tensor {
    try input.layerNormalized(weight: weight, bias: bias, epsilon: epsilon)
  }
}
