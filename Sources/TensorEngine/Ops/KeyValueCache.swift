/// The keys and values of one attention layer for the positions decoded so far, so that a decoder computes each
/// position's keys and values once: each step appends the new position's and attends its query to all of them
/// (`Tensor.causalAttention` with one query, reading the cache in place). Inference only: nothing is recorded.
public struct KeyValueCache {
  /// Sequences decoded side by side.
  public let batch: Int
  /// Attention heads.
  public let heads: Int
  /// The most positions the cache holds.
  public let capacity: Int
  /// Values per head.
  public let headDim: Int
  /// Positions appended so far.
  public private(set) var count = 0

  /// `[batch, heads, capacity, headDim]`: the first `count` positions of each head are filled.
  private var keys: [Float]
  private var values: [Float]

  /// An empty cache for `batch` sequences of up to `capacity` positions.
  public init(batch: Int, heads: Int, capacity: Int, headDim: Int) {
    precondition(batch > 0 && heads > 0 && capacity > 0 && headDim > 0, "KeyValueCache: sizes must be > 0")
    (self.batch, self.heads, self.capacity, self.headDim) = (batch, heads, capacity, headDim)
    keys = [Float](repeating: 0, count: batch * heads * capacity * headDim)
    values = keys
  }

  /// Appends one position's `key` and `value` and returns the attention of `query` to every position so far.
  /// - Parameters: `query`, `key` and `value` are `[batch, heads, 1, headDim]` (or any shape of that many values,
  ///   in that order).
  /// - Returns: `[batch, heads, 1, headDim]`.
  /// - Throws: `TensorError` if the cache is full or a tensor has the wrong number of values.
  public mutating func attend(query: Tensor, key: Tensor, value: Tensor) throws -> Tensor {
    let size = batch * heads * headDim
    guard query.count == size, key.count == size, value.count == size else {
      throw TensorError(
        "KeyValueCache.attend: query, key and value need \(size) values ([\(batch), \(heads), 1, \(headDim)]), got "
          + "\(query.shape), \(key.shape), \(value.shape)")
    }
    guard count < capacity else { throw TensorError("KeyValueCache.attend: all \(capacity) positions are filled") }
    let (heads, capacity, headDim, position) = (batch * self.heads, self.capacity, self.headDim, count)
    for head in 0..<heads {
      let (from, to) = (head * headDim, (head * capacity + position) * headDim)
      for d in 0..<headDim {
        keys[to + d] = key.data[from + d]
        values[to + d] = value.data[from + d]
      }
    }
    count += 1
    let scale = 1 / Float(headDim).squareRoot()
    let out = uninitializedFloats(size) { o in
      query.data.withUnsafeBufferPointer { q in
        keys.withUnsafeBufferPointer { k in
          values.withUnsafeBufferPointer { v in
            eachHead(heads, scratch: position + 1) { head, scores in
              attentionHead(
                query: q.baseAddress! + head * headDim, queries: 1, key: k.baseAddress! + head * capacity * headDim,
                value: v.baseAddress! + head * capacity * headDim, keys: position + 1, headDim: headDim, scale: scale,
                scores: scores, output: o.baseAddress! + head * headDim, logSumExp: nil)
            }
          }
        }
      }
    }
    return Tensor(unchecked: out, shape: [batch, self.heads, 1, headDim])
  }
}
