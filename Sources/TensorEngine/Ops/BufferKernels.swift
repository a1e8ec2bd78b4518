/// Kernels on raw float buffers for loops that run thousands of times over little data (the gated PixelCNN
/// sampler's per-position steps), where a tensor per op would cost more in allocation and copying than in
/// arithmetic. Matrices are row-major; nothing is recorded for autodiff. Where a kernel names a tensor op, it
/// computes what that op computes, value for value.
public enum BufferKernels {
  /// `c = a · b + bias`: `a` is `m x k` (`k` wide), `b` is `k x n` with rows `ldb` apart, `c` is `m x n` and `bias`
  /// holds m values, one per row. With `ldb == n` it is the same product as a 1x1 `conv2d` with a bias over `n`
  /// positions: the bias is written first and the GEMM adds onto it.
  public static func affine(
    m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, ldb: Int, bias: UnsafePointer<Float>,
    into c: UnsafeMutablePointer<Float>
  ) {
    for row in 0..<m { (c + row * n).update(repeating: bias[row], count: n) }
    gemm(m: m, n: n, k: k, a, b, ldb: ldb, beta: 1, c)
  }

  /// `c += a · b`: `a` is `m x k` (`k` wide), `b` is `k x n` with rows `ldb` apart and `c` is `m x n` with rows
  /// `ldc` apart (one tap of a convolution over a block of columns, added onto the others).
  public static func multiplyAdd(
    m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, ldb: Int,
    into c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    gemm(m: m, n: n, k: k, a, b, ldb: ldb, beta: 1, c, ldc: ldc)
  }

  /// `Tensor.gatedActivation` of a position-major pre-activation `x`, `[2C][positions][grids]`, whose bias (each
  /// grid's class embedding, `[2C][grids]`; zeros for none, as the tensor op adds) is added at every position:
  /// `out[c, p, n] = tanh(x[c, p, n] + bias[c, n]) · σ(x[C + c, p, n] + bias[C + c, n])`, `[C][positions][grids]`.
  public static func gatedActivation(
    _ x: UnsafePointer<Float>, bias: UnsafePointer<Float>, channels: Int, positions: Int, grids: Int,
    into out: UnsafeMutablePointer<Float>
  ) {
    let (half, whole) = (channels * positions * grids, grids / 8 * 8)
    for c in 0..<channels {
      let (biasA, biasB) = (bias + c * grids, bias + (channels + c) * grids)
      for position in 0..<positions {
        let row = (c * positions + position) * grids
        let (a, b, o) = (x + row, x + half + row, out + row)
        for n in stride(from: 0, to: whole, by: 8) {
          storeEight(
            fastTanh(loadEight(a + n) + loadEight(biasA + n)) * fastSigmoid(loadEight(b + n) + loadEight(biasB + n)),
            o + n)
        }
        for n in whole..<grids { o[n] = fastTanh(a[n] + biasA[n]) * fastSigmoid(b[n] + biasB[n]) }
      }
    }
  }
}
