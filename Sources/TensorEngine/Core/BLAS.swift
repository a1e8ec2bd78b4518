import CBLAS

/// C = alpha · op(A) · op(B) + beta · C, row-major, through OpenBLAS (which owns the threads).
/// `m x k` is op(A), `k x n` is op(B); leading dimensions are those of the stored (untransposed) matrices.
@inline(__always)
func gemm(
  transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
  _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, beta: Float = 0, _ c: UnsafeMutablePointer<Float>
) {
  guard m > 0, n > 0 else { return }
  if k == 0 {
    // OpenBLAS leaves C untouched for k = 0; the product of empty matrices is zero.
    if beta == 0 { c.update(repeating: 0, count: m * n) }
    return
  }
  cblas_sgemm(
    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
    blasint(m), blasint(n), blasint(k), alpha, a, blasint(transposeA ? m : k), b, blasint(transposeB ? k : n),
    beta, c, blasint(n))
}

/// Sets the number of threads OpenBLAS uses inside GEMM.
public func setBLASThreadCount(_ count: Int) { openblas_set_num_threads(Int32(count)) }

/// The number of threads OpenBLAS uses inside GEMM.
public var blasThreadCount: Int { Int(openblas_get_num_threads()) }
