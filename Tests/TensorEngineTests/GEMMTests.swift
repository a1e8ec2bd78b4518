import XCTest

@testable import TensorEngine

final class GEMMTests: XCTestCase {
  /// Every way `gemm` splits a product (along m, along n, along k, or not at all) gives the naive triple loop's
  /// result, for each transposition, alpha, beta and a C that is a block of columns of a wider matrix.
  func testSplitProductsMatchNaiveLoop() {
    let previous = EngineThreads.count
    defer { EngineThreads.count = previous }
    // (m, n, k): split along m, along n, along k (k >= 8 · max(m, n)), and too small to split.
    let shapes = [(256, 96, 128), (40, 300, 200), (24, 20, 9000), (5, 7, 3)]
    var rng = RandomGenerator(seed: 3)
    for threads in [1, 2, 3] {
      EngineThreads.count = threads
      for (m, n, k) in shapes {
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
          let a = rng.uniformArray(m * k, in: -1..<1)
          let b = rng.uniformArray(k * n, in: -1..<1)
          let ldc = n + 3
          let c = rng.uniformArray(m * ldc, in: -1..<1)
          var expected = c
          for i in 0..<m {
            for j in 0..<n {
              var sum = 0.0
              for p in 0..<k {
                let left = transposeA ? a[p * m + i] : a[i * k + p]
                let right = transposeB ? b[j * k + p] : b[p * n + j]
                sum += Double(left) * Double(right)
              }
              expected[i * ldc + j] = Float(0.5 * sum + 2 * Double(c[i * ldc + j]))
            }
          }
          var result = c
          result.withUnsafeMutableBufferPointer { out in
            gemm(
              transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a, b, beta: 2,
              out.baseAddress!, ldc: ldc)
          }
          let label = "threads \(threads), \(m)x\(n)x\(k), transposes \(transposeA) \(transposeB)"
          let error = zip(result, expected).map { abs($0 - $1) / max(1, abs($1)) }.max()!
          XCTAssertLessThan(error, 1e-4, label)
        }
      }
    }
  }
}
