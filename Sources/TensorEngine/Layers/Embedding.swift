/// A lookup table of `count` vectors of `dimension` values, PyTorch's `nn.Embedding` (`weight` `[count, dim]`,
/// initialised from a standard normal unless an initial table is given).
public final class Embedding: Module {
  public let weight: Parameter

  /// - Parameters:
  ///   - count: number of entries (codes, classes).
  ///   - dimension: length of each vector.
  ///   - rng: the generator that draws the initial table.
  public init(count: Int, dimension: Int, rng: inout RandomGenerator) {
    precondition(count > 0 && dimension > 0, "Embedding: count and dimension must be > 0")
    weight = Parameter(unchecked: rng.normalArray(count * dimension), shape: [count, dimension], requiresGrad: true)
  }

  /// A table with the given initial values (`count · dimension` of them).
  public init(initialValues: [Float], count: Int, dimension: Int) throws {
    weight = try Parameter(initialValues, shape: [count, dimension], requiresGrad: true)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

  /// The vectors of `indices`, as `[indices.count, dimension]`.
  public func callAsFunction(_ indices: [Int]) throws -> Tensor { try weight.gatherRows(indices) }
}

/// A fully connected layer, PyTorch's `nn.Linear` (`weight` `[out, in]`, `bias` `[out]`, default initialisation).
public final class Linear: Module {
  public let weight: Parameter
  public let bias: Parameter?

  /// - Parameters:
  ///   - inFeatures: input width.
  ///   - outFeatures: output width.
  ///   - bias: whether to add a learned bias.
  ///   - rng: the generator that draws the initial weights.
  public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout RandomGenerator) {
    precondition(inFeatures > 0 && outFeatures > 0, "Linear: sizes must be > 0")
    weight = kaimingUniformParameter([outFeatures, inFeatures], fanIn: inFeatures, using: &rng)
    self.bias = bias ? kaimingUniformParameter([outFeatures], fanIn: inFeatures, using: &rng) : nil
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
  }

  /// `input · weightᵀ + bias` for `input` of shape `[N, in]`.
  public func callAsFunction(_ input: Tensor) throws -> Tensor {
    let product = try input.matmul(weight, transposeRight: true)
    guard let bias else { return product }
    return try product + bias
  }
}
