import CBLAS
import Foundation

/// How many threads the engine uses: GEMMs are split into that many blocks, each computed by single-threaded
/// OpenBLAS on its own core, and im2col/col2im split the same way. One pool for everything: OpenBLAS's own
/// threads spin (sched_yield) between calls and would fight our loops for the same cores.
public enum EngineThreads {
  nonisolated(unsafe) private static var configured = 0

  /// The thread count; defaults to the number of available cores (OMP_NUM_THREADS or OPENBLAS_NUM_THREADS
  /// override it, as for PyTorch and OpenBLAS).
  public static var count: Int {
    get {
      if configured == 0 {
        setUpProcess()
        let environment = ProcessInfo.processInfo.environment
        let requested = (environment["OMP_NUM_THREADS"] ?? environment["OPENBLAS_NUM_THREADS"]).flatMap { Int($0) }
        configured = max(1, requested ?? ProcessInfo.processInfo.activeProcessorCount)
      }
      return configured
    }
    set {
      setUpProcess()
      configured = max(1, newValue)
    }
  }

  /// What the engine needs of the process whichever way the count is set: a caller that sets it (the bench's
  /// measuring child processes, MPI ranks) skipped the allocator settings, and its steps page-faulted their
  /// activations in anew.
  private static func setUpProcess() {
    keepFreedMemoryForReuse()
    openblas_set_num_threads(1)
  }
}

/// Tells glibc to serve large arrays from the heap and keep freed memory there: activations of a few MB are
/// allocated and freed every step, and with the default mmap threshold each one is page-faulted in anew (about 10%
/// of a training step's time went to the kernel's page-fault path).
private func keepFreedMemoryForReuse() {
  #if os(Linux)
    // M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_THRESHOLD = -3 (malloc.h, which Glibc does not import).
    _ = glibcMallopt(-3, 32 << 20)
    _ = glibcMallopt(-1, 256 << 20)
    _ = glibcMallopt(-2, 16 << 20)
  #endif
}

#if os(Linux)
  @_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// C = alpha · op(A) · op(B) + beta · C, row-major, through OpenBLAS. `m x k` is op(A), `k x n` is op(B); the
/// leading dimensions are those of the stored (untransposed) matrices, by default their widths (`lda`, `ldb` and
/// `ldc` let a product read or write a block of columns of a wider matrix). Large products are split along the
/// larger of m and n (or along k, when k is far larger than both) into one block per engine thread, unless `split`
/// is false (a caller that already runs one product per thread).
func gemm(
  transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
  _ a: UnsafePointer<Float>, lda: Int? = nil, _ b: UnsafePointer<Float>, ldb: Int? = nil, beta: Float = 0,
  _ c: UnsafeMutablePointer<Float>, ldc: Int? = nil, split: Bool = true
) {
  guard m > 0, n > 0 else { return }
  let ldc = ldc ?? n
  if k == 0 {
    // OpenBLAS leaves C untouched for k = 0; the product of empty matrices is zero.
    if beta == 0 { for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) } }
    return
  }
  let lda = lda ?? (transposeA ? m : k)
  let ldb = ldb ?? (transposeB ? k : n)
  /// alpha · op(A)[rows, depth] · op(B)[depth, columns] + beta · target, into `target` (`ldt` wide; by default the
  /// block of C).
  func block(
    rows: Range<Int>, columns: Range<Int>, depth: Range<Int> = 0..<k, beta: Float = beta,
    into target: UnsafeMutablePointer<Float>? = nil, ldt: Int = ldc
  ) {
    let aStart = a + (transposeA ? depth.lowerBound * lda + rows.lowerBound : rows.lowerBound * lda + depth.lowerBound)
    let bStart =
      b + (transposeB ? columns.lowerBound * ldb + depth.lowerBound : depth.lowerBound * ldb + columns.lowerBound)
    cblas_sgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
      blasint(rows.count), blasint(columns.count), blasint(depth.count), alpha, aStart, blasint(lda), bStart,
      blasint(ldb), beta, target ?? c + rows.lowerBound * ldc + columns.lowerBound, blasint(ldt))
  }
  let threads = EngineThreads.count
  // Below ~2 M multiply-adds a split costs more in synchronisation than it gains.
  guard split, threads > 1, m * n * k >= 1 << 21 else {
    block(rows: 0..<m, columns: 0..<n)
    return
  }
  // A long, thin product (a weight gradient: a few dozen rows and columns, thousands deep) split along m or n would
  // have every thread pack the whole of the other operand; split along k instead, each thread packing its own
  // share: the first slice adds its product onto C (with beta), the others write theirs into scratch, added to C
  // after in a fixed order, so the result depends only on the thread count.
  if k >= 8 * max(m, n) {
    ScratchPool.withBuffer((threads - 1) * m * n) { partials in
      parallelWorkers(threads) { _, part in
        let depth = k * part.lowerBound / threads..<k * part.upperBound / threads
        if part.lowerBound == 0 {
          block(rows: 0..<m, columns: 0..<n, depth: depth)
        } else {
          block(
            rows: 0..<m, columns: 0..<n, depth: depth, beta: 0, into: partials + (part.lowerBound - 1) * m * n, ldt: n)
        }
      }
      for part in 0..<threads - 1 {
        let partial = partials + part * m * n
        for row in 0..<m {
          let target = c + row * ldc
          for column in 0..<n { target[column] += partial[row * n + column] }
        }
      }
    }
    return
  }
  let splitRows = m >= n
  let extent = splitRows ? m : n
  let parts = min(threads, max(1, extent / 16))
  // Each block writes its own rows or columns of C.
  parallelWorkers(parts) { _, part in
    let range = extent * part.lowerBound / parts..<extent * part.upperBound / parts
    block(rows: splitRows ? range : 0..<m, columns: splitRows ? 0..<n : range)
  }
}
