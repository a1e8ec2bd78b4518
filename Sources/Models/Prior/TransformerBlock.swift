import TensorEngine

/// One pre-LN block of a GPT: `x + attn(ln1(x))`, then `x + mlp(ln2(x))`, with dropout on each branch's output
/// while training. Parameter names follow the PyTorch module tree of `scripts/pytorch/transformer_fixtures.py`
/// (`ln1`, `attn.qkv`, `attn.proj`, `ln2`, `mlp.0`, `mlp.2`).
public final class TransformerBlock: Module {
  public let firstNorm: LayerNorm
  public let attention: CausalSelfAttention
  public let secondNorm: LayerNorm
  /// The MLP: `dim` to `4 · dim`, GELU, back to `dim`.
  public let expand: Linear
  public let contract: Linear

  /// - Parameters:
  ///   - dim: the width d of the residual stream.
  ///   - heads: attention heads; d must be a multiple of them.
  ///   - rng: the generator that draws the initial weights (normal, standard deviation 0.02, as GPTs).
  public init(dim: Int, heads: Int, rng: inout RandomGenerator) {
    firstNorm = LayerNorm(dim)
    attention = CausalSelfAttention(dim: dim, heads: heads, rng: &rng)
    secondNorm = LayerNorm(dim)
    expand = gptLinear(dim, 4 * dim, rng: &rng)
    contract = gptLinear(4 * dim, dim, rng: &rng)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("ln1", firstNorm.namedParameters) + prefixed("attn", attention.namedParameters)
      + prefixed("ln2", secondNorm.namedParameters) + prefixed("mlp.0", expand.namedParameters)
      + prefixed("mlp.2", contract.namedParameters)
  }

  /// The block over `batch` whole sequences of `length` positions, `x` being `[batch · length, d]`.
  /// - Parameter dropout: applied to both branches' outputs (the identity when not training).
  public func callAsFunction(_ x: Tensor, batch: Int, length: Int, dropout: (Tensor) throws -> Tensor) throws
    -> Tensor
  {
    let attended = try x + dropout(try attention(try firstNorm(x), batch: batch, length: length))
    return try attended + dropout(try mlp(attended))
  }

  /// One new position of each of the `batch` sequences, `x` being `[batch, d]`, its keys and values appended to
  /// `cache` (inference: no dropout).
  public func step(_ x: Tensor, cache: inout KeyValueCache) throws -> Tensor {
    let attended = try x + attention.step(try firstNorm(x), cache: &cache)
    return try attended + mlp(attended)
  }

  /// `mlp(ln2(x))`.
  private func mlp(_ x: Tensor) throws -> Tensor { try contract(try expand(try secondNorm(x)).gelu()) }
}

/// A linear layer initialised as GPTs do: weights normal with standard deviation 0.02, biases zero.
func gptLinear(_ inFeatures: Int, _ outFeatures: Int, rng: inout RandomGenerator) -> Linear {
  let layer = Linear(inFeatures, outFeatures, rng: &rng)
  layer.weight.data = rng.normalArray(layer.weight.count, standardDeviation: 0.02)
  layer.bias?.data = [Float](repeating: 0, count: outFeatures)
  return layer
}
