import Foundation

extension Tensor {
  /// Causal scaled dot-product attention as one op, PyTorch's `F.scaled_dot_product_attention(q, k, v,
  /// is_causal=True)` for self-attention: softmax(q · kᵀ / √headDim, masked) · v per batch item and head.
  ///
  /// `query` is `[batch, heads, queries, headDim]` and `key` and `value` are `[batch, heads, keys, headDim]` with
  /// `queries <= keys`: the queries are the last `queries` positions of the sequence, and query i (at position
  /// `keys - queries + i`) attends to the keys at positions up to its own. With as many queries as keys this is
  /// self-attention over a whole sequence; with one query it is one step of a decoder (see `KeyValueCache`).
  ///
  /// Per batch item and head, q · kᵀ and p · v are one GEMM each. The softmax subtracts each row's maximum. The
  /// backward pass recomputes the probabilities from q, k and each row's log-sum-exp (kept from the forward pass)
  /// instead of storing `queries x keys` of them per head, so memory stays linear in the sequence length.
  /// - Throws: `TensorError` unless the three are rank 4 with the same batch, heads and headDim and `query` has no
  ///   more positions than `key` and `value`, which have the same count.
  public static func causalAttention(query: Tensor, key: Tensor, value: Tensor) throws -> Tensor {
    guard query.rank == 4, key.shape == value.shape, key.rank == 4,
      query.shape[0] == key.shape[0], query.shape[1] == key.shape[1], query.shape[3] == key.shape[3],
      query.shape[2] <= key.shape[2]
    else {
      throw TensorError(
        "causalAttention: need query [batch, heads, queries, headDim] and key, value [batch, heads, keys, headDim] "
          + "with queries <= keys; got \(query.shape), \(key.shape), \(value.shape)")
    }
    let (heads, queries, keys, headDim) = (
      query.shape[0] * query.shape[1], query.shape[2], key.shape[2], query.shape[3]
    )
    let scale = 1 / Float(headDim).squareRoot()
    var logSumExp = [Float](repeating: 0, count: heads * queries)
    let out = uninitializedFloats(query.count) { o in
      query.data.withUnsafeBufferPointer { q in
        key.data.withUnsafeBufferPointer { k in
          value.data.withUnsafeBufferPointer { v in
            logSumExp.withUnsafeMutableBufferPointer { lse in
              eachHead(heads, scratch: queries * keys) { head, scores in
                attentionHead(
                  query: q.baseAddress! + head * queries * headDim, queries: queries,
                  key: k.baseAddress! + head * keys * headDim, value: v.baseAddress! + head * keys * headDim,
                  keys: keys, headDim: headDim, scale: scale, scores: scores,
                  output: o.baseAddress! + head * queries * headDim, logSumExp: lse.baseAddress! + head * queries)
              }
            }
          }
        }
      }
    }
    return Tensor.record(out, shape: query.shape, inputs: [query, key, value]) { result in
      var (dq, dk, dv) = (
        [Float](repeating: 0, count: query.count), [Float](repeating: 0, count: key.count),
        [Float](repeating: 0, count: value.count)
      )
      result.grad!.withUnsafeBufferPointer { g in
        result.data.withUnsafeBufferPointer { o in
          query.data.withUnsafeBufferPointer { q in
            key.data.withUnsafeBufferPointer { k in
              value.data.withUnsafeBufferPointer { v in
                logSumExp.withUnsafeBufferPointer { lse in
                  dq.withUnsafeMutableBufferPointer { dqp in
                    dk.withUnsafeMutableBufferPointer { dkp in
                      dv.withUnsafeMutableBufferPointer { dvp in
                        eachHead(heads, scratch: 2 * queries * keys) { head, scratch in
                          let (qOffset, kOffset) = (head * queries * headDim, head * keys * headDim)
                          attentionHeadBackward(
                            query: q.baseAddress! + qOffset, queries: queries, key: k.baseAddress! + kOffset,
                            value: v.baseAddress! + kOffset, keys: keys, headDim: headDim, scale: scale,
                            output: o.baseAddress! + qOffset, outputGradient: g.baseAddress! + qOffset,
                            logSumExp: lse.baseAddress! + head * queries, scratch: scratch,
                            queryGradient: dqp.baseAddress! + qOffset, keyGradient: dkp.baseAddress! + kOffset,
                            valueGradient: dvp.baseAddress! + kOffset)
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
      if query.requiresGrad { query.accumulateGrad(dq) }
      if key.requiresGrad { key.accumulateGrad(dk) }
      if value.requiresGrad { value.accumulateGrad(dv) }
    }
  }
}

/// Runs `body(head, scratch)` for each of `count` heads, shared out between the engine's threads, each thread with
/// a scratch buffer of `scratch` floats of its own.
func eachHead(_ count: Int, scratch: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
  parallelChunks(count, parallel: count > 1) { range in
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(scratch, 1))
    defer { buffer.deallocate() }
    for head in range { body(head, buffer) }
  }
}

/// One head's causal attention: `output` (`queries x headDim`) = softmax(scale · q · kᵀ) · v, query i attending to
/// keys `0 ... keys - queries + i`. `scores` holds `queries x keys` floats; `logSumExp`, when given, receives each
/// row's log Σ e^score (for the backward pass). `key` and `value` are `keys` rows of `headDim`.
func attentionHead(
  query: UnsafePointer<Float>, queries: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>, keys: Int,
  headDim: Int, scale: Float, scores: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
  logSumExp: UnsafeMutablePointer<Float>?
) {
  gemm(
    transposeB: true, m: queries, n: keys, k: headDim, alpha: scale, query, key, scores, split: false)
  let offset = keys - queries
  for i in 0..<queries {
    let row = scores + i * keys
    let visible = offset + i + 1
    var maximum = -Float.infinity
    for j in 0..<visible { maximum = Swift.max(maximum, row[j]) }
    var sum: Float = 0
    for j in 0..<visible {
      let e = fastExp(row[j] - maximum)
      row[j] = e
      sum += e
    }
    let inverse = 1 / sum
    for j in 0..<visible { row[j] *= inverse }
    // The masked keys: exactly zero, so neither they nor their gradients take any part.
    for j in visible..<keys { row[j] = 0 }
    logSumExp?[i] = maximum + Foundation.log(sum)
  }
  gemm(m: queries, n: headDim, k: keys, scores, value, output, split: false)
}

/// The gradients of one head's `attentionHead` from the output's gradient, added into `queryGradient`,
/// `keyGradient` and `valueGradient`. With P the probabilities (recomputed from the scores and `logSumExp`) and dO
/// the output gradient: dV = Pᵀ · dO, dP = dO · vᵀ, dS = P ∘ (dP - rowsum(dO ∘ O)), dq = scale · dS · k,
/// dk = scale · dSᵀ · q. `scratch` holds `2 · queries · keys` floats.
func attentionHeadBackward(
  query: UnsafePointer<Float>, queries: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>, keys: Int,
  headDim: Int, scale: Float, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
  logSumExp: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, queryGradient: UnsafeMutablePointer<Float>,
  keyGradient: UnsafeMutablePointer<Float>, valueGradient: UnsafeMutablePointer<Float>
) {
  let (probabilities, gradient) = (scratch, scratch + queries * keys)
  gemm(transposeB: true, m: queries, n: keys, k: headDim, alpha: scale, query, key, probabilities, split: false)
  let offset = keys - queries
  for i in 0..<queries {
    let row = probabilities + i * keys
    let visible = offset + i + 1
    for j in 0..<visible { row[j] = fastExp(row[j] - logSumExp[i]) }
    for j in visible..<keys { row[j] = 0 }
  }
  gemm(
    transposeA: true, m: keys, n: headDim, k: queries, probabilities, outputGradient, beta: 1, valueGradient,
    split: false)
  gemm(transposeB: true, m: queries, n: keys, k: headDim, outputGradient, value, gradient, split: false)
  for i in 0..<queries {
    var dot: Float = 0
    for d in 0..<headDim { dot += outputGradient[i * headDim + d] * output[i * headDim + d] }
    let (p, dp) = (probabilities + i * keys, gradient + i * keys)
    for j in 0..<keys { dp[j] = p[j] * (dp[j] - dot) }
  }
  gemm(m: queries, n: headDim, k: keys, alpha: scale, gradient, key, beta: 1, queryGradient, split: false)
  gemm(
    transposeA: true, m: keys, n: headDim, k: queries, alpha: scale, gradient, query, beta: 1, keyGradient,
    split: false)
}
