extension Tensor {
  /// The matrix products of two stacks of matrices, PyTorch's `torch.matmul` on `[..., m, k] x [..., k, n] ->
  /// [..., m, n]` with the same leading dimensions on both sides (no broadcasting); either operand may be transposed
  /// first, as in `matmul`. One GEMM per matrix, the matrices split over the engine's threads.
  /// - Throws: `TensorError` on ranks below 3, leading dimensions that differ, or inner dimensions that differ.
  public func batchedMatmul(_ rhs: Tensor, transposeSelf: Bool = false, transposeRight: Bool = false) throws -> Tensor {
    guard rank >= 3, rhs.rank == rank, Array(shape.dropLast(2)) == Array(rhs.shape.dropLast(2)) else {
      throw TensorError(
        "batchedMatmul: need stacks of matrices with the same leading dimensions, got \(shape) and "
          + "\(rhs.shape)")
    }
    let (rows, columns) = (shape[rank - 2], shape[rank - 1])
    let (rhsRows, rhsColumns) = (rhs.shape[rank - 2], rhs.shape[rank - 1])
    let (m, k) = transposeSelf ? (columns, rows) : (rows, columns)
    let (k2, n) = transposeRight ? (rhsColumns, rhsRows) : (rhsRows, rhsColumns)
    guard k == k2 else {
      let (left, right) = ("\(shape)\(transposeSelf ? "ᵀ" : "")", "\(rhs.shape)\(transposeRight ? "ᵀ" : "")")
      throw TensorError("batchedMatmul: inner dimensions differ: \(left) x \(right)")
    }
    let batches = elementCount(Array(shape.dropLast(2)))
    let lhs = self
    let out = uninitializedFloats(batches * m * n) { c in
      lhs.data.withUnsafeBufferPointer { a in
        rhs.data.withUnsafeBufferPointer { b in
          eachMatrix(batches) { i, split in
            gemm(
              transposeA: transposeSelf, transposeB: transposeRight, m: m, n: n, k: k, a.baseAddress! + i * m * k,
              b.baseAddress! + i * k * n, c.baseAddress! + i * m * n, split: split)
          }
        }
      }
    }
    return Tensor.record(out, shape: Array(shape.dropLast(2)) + [m, n], inputs: [lhs, rhs]) { result in
      // Per matrix, as `matmul`: dA = dC · op(B)ᵀ, dB = op(A)ᵀ · dC, each stored transposed when its operand was.
      result.grad!.withUnsafeBufferPointer { g in
        if lhs.requiresGrad {
          rhs.data.withUnsafeBufferPointer { b in
            lhs.accumulateGrad { d in
              eachMatrix(batches) { i, split in
                let (gi, bi, di) = (g.baseAddress! + i * m * n, b.baseAddress! + i * k * n, d.baseAddress! + i * m * k)
                if transposeSelf {
                  gemm(
                    transposeA: transposeRight, transposeB: true, m: k, n: m, k: n, bi, gi, beta: 1, di, split: split)
                } else {
                  gemm(
                    transposeA: false, transposeB: !transposeRight, m: m, n: k, k: n, gi, bi, beta: 1, di, split: split)
                }
              }
            }
          }
        }
        if rhs.requiresGrad {
          lhs.data.withUnsafeBufferPointer { a in
            rhs.accumulateGrad { d in
              eachMatrix(batches) { i, split in
                let (gi, ai, di) = (g.baseAddress! + i * m * n, a.baseAddress! + i * m * k, d.baseAddress! + i * k * n)
                if transposeRight {
                  gemm(transposeA: true, transposeB: transposeSelf, m: n, n: k, k: m, gi, ai, beta: 1, di, split: split)
                } else {
                  gemm(
                    transposeA: !transposeSelf, transposeB: false, m: k, n: n, k: m, ai, gi, beta: 1, di, split: split)
                }
              }
            }
          }
        }
      }
    }
  }
}

/// Runs `body(matrix, split)` for each of `count` matrices: with at least as many matrices as engine threads, the
/// matrices are shared out between the threads and each product runs on one (`split` false); with fewer, they run
/// one after another, each product split over the threads by `gemm`.
func eachMatrix(_ count: Int, _ body: (Int, Bool) -> Void) {
  guard count >= EngineThreads.count else {
    for i in 0..<count { body(i, true) }
    return
  }
  parallelChunks(count) { range in
    for i in range { body(i, false) }
  }
}
