extension Tensor {
  /// The matrix product of two 2-D tensors, `[m, k] x [k, n] -> [m, n]`, optionally transposing either operand
  /// first (`transposeRight: true` computes `self · rhsᵀ`).
  /// - Throws: `TensorError` on wrong ranks or inner dimensions that differ.
  public func matmul(_ rhs: Tensor, transposeSelf: Bool = false, transposeRight: Bool = false) throws -> Tensor {
    guard rank == 2, rhs.rank == 2 else {
      throw TensorError("matmul: need 2-D operands, got \(shape) and \(rhs.shape)")
    }
    let (m, k) = transposeSelf ? (shape[1], shape[0]) : (shape[0], shape[1])
    let (k2, n) = transposeRight ? (rhs.shape[1], rhs.shape[0]) : (rhs.shape[0], rhs.shape[1])
    guard k == k2 else {
      let (left, right) = ("\(shape)\(transposeSelf ? "ᵀ" : "")", "\(rhs.shape)\(transposeRight ? "ᵀ" : "")")
      throw TensorError("matmul: inner dimensions differ: \(left) x \(right)")
    }
    let lhs = self
    let out = uninitializedFloats(m * n) { c in
      lhs.data.withUnsafeBufferPointer { a in
        rhs.data.withUnsafeBufferPointer { b in
          gemm(
            transposeA: transposeSelf, transposeB: transposeRight, m: m, n: n, k: k, a.baseAddress!, b.baseAddress!,
            c.baseAddress!)
        }
      }
    }
    return Tensor.record(out, shape: [m, n], inputs: [lhs, rhs]) { result in
      result.grad!.withUnsafeBufferPointer { g in
        // dA = dC · op(B)ᵀ (stored transposed when A was), dB = op(A)ᵀ · dC (likewise).
        if lhs.requiresGrad {
          rhs.data.withUnsafeBufferPointer { b in
            lhs.accumulateGrad { d in
              if transposeSelf {
                gemm(
                  transposeA: transposeRight, transposeB: true, m: k, n: m, k: n, b.baseAddress!, g.baseAddress!,
                  beta: 1, d.baseAddress!)
              } else {
                gemm(
                  transposeA: false, transposeB: !transposeRight, m: m, n: k, k: n, g.baseAddress!, b.baseAddress!,
                  beta: 1, d.baseAddress!)
              }
            }
          }
        }
        if rhs.requiresGrad {
          lhs.data.withUnsafeBufferPointer { a in
            rhs.accumulateGrad { d in
              if transposeRight {
                gemm(
                  transposeA: true, transposeB: transposeSelf, m: n, n: k, k: m, g.baseAddress!, a.baseAddress!,
                  beta: 1, d.baseAddress!)
              } else {
                gemm(
                  transposeA: !transposeSelf, transposeB: false, m: k, n: n, k: m, a.baseAddress!, g.baseAddress!,
                  beta: 1, d.baseAddress!)
              }
            }
          }
        }
      }
    }
  }
}
