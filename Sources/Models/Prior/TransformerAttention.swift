import TensorEngine

/// Multi-head causal self-attention: one linear map to the queries, keys and values of all heads (`qkv`, `[3d, d]`,
/// in that order, each head a consecutive `d / heads` of them), the fused attention of each head over the positions
/// up to its own, and a linear map of the heads' outputs back to d (`proj`).
public final class CausalSelfAttention: Module {
  public let heads: Int
  public let qkv: Linear
  public let projection: Linear

  /// - Parameters: as `TransformerBlock`'s.
  public init(dim: Int, heads: Int, rng: inout RandomGenerator) {
    precondition(heads > 0 && dim % heads == 0, "CausalSelfAttention: dim \(dim) is no multiple of heads \(heads)")
    self.heads = heads
    qkv = gptLinear(dim, 3 * dim, rng: &rng)
    projection = gptLinear(dim, dim, rng: &rng)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("qkv", qkv.namedParameters) + prefixed("proj", projection.namedParameters)
  }

  /// Attention over `batch` whole sequences of `length` positions, `x` being `[batch · length, d]`.
  public func callAsFunction(_ x: Tensor, batch: Int, length: Int) throws -> Tensor {
    let d = x.shape[1]
    // [B · T, d] -> [B, heads, T, d / heads], PyTorch's view(B, T, heads, dh).transpose(1, 2).
    let parts = try qkv(x).split(sizes: [d, d, d], axis: 1).map {
      try $0.reshaped([batch, length, heads, d / heads]).permuted([0, 2, 1, 3])
    }
    let attended = try Tensor.causalAttention(query: parts[0], key: parts[1], value: parts[2])
    return try projection(try attended.permuted([0, 2, 1, 3]).reshaped([batch * length, d]))
  }

  /// One new position of each of `batch` sequences (`x` `[batch, d]`): its keys and values join `cache`, its query
  /// attends to every position cached.
  public func step(_ x: Tensor, cache: inout KeyValueCache) throws -> Tensor {
    let (batch, d) = (x.shape[0], x.shape[1])
    // With one position, [B, d] is already [B, heads, 1, dh] in memory.
    let parts = try qkv(x).split(sizes: [d, d, d], axis: 1)
    let attended = try cache.attend(query: parts[0], key: parts[1], value: parts[2])
    return try projection(try attended.reshaped([batch, d]))
  }
}
