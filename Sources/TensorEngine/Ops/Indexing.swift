extension Tensor {
  /// Rows of this `[rows, width]` table picked by `indices`: the result is `[indices.count, width]`. This is an
  /// embedding lookup; its gradient is scattered back (added) into the picked rows.
  /// - Throws: `TensorError` if this is not 2-D or an index is outside `0..<rows`.
  public func gatherRows(_ indices: [Int]) throws -> Tensor {
    guard rank == 2 else { throw TensorError("gatherRows: the table must be 2-D, got \(shape)") }
    let (rows, width) = (shape[0], shape[1])
    if let bad = indices.first(where: { $0 < 0 || $0 >= rows }) {
      throw TensorError("gatherRows: index \(bad) outside 0..<\(rows) for table \(shape)")
    }
    let table = self
    let out = uninitializedFloats(indices.count * width) { o in
      table.data.withUnsafeBufferPointer { t in
        for (i, row) in indices.enumerated() {
          (o.baseAddress! + i * width).update(from: t.baseAddress! + row * width, count: width)
        }
      }
    }
    return Tensor.record(out, shape: [indices.count, width], inputs: [table]) { result in
      let g = result.grad!
      table.accumulateGrad { d in
        g.withUnsafeBufferPointer { gp in
          for (i, row) in indices.enumerated() {
            for j in 0..<width { d[row * width + j] += gp[i * width + j] }
          }
        }
      }
    }
  }

  /// For each column of `points` (`[D, N]`), the index of the nearest row of this `[K, D]` table in squared
  /// Euclidean distance, ties to the first row: a vector quantizer's code assignment. The scores |e|² - 2 e·z (|z|²
  /// does not move the argmin) come from one GEMM that starts from the rows' norms; the argmin runs down 16 columns
  /// at a time.
  /// - Throws: `TensorError` unless this is `[K, D]` with K > 0 and `points` is `[D, N]`.
  public func nearestRows(toColumnsOf points: Tensor) throws -> [Int] {
    guard rank == 2, points.rank == 2, shape[0] > 0, shape[1] == points.shape[0] else {
      throw TensorError("nearestRows: need a [K, D] table and [D, N] points, got \(shape) and \(points.shape)")
    }
    let (k, d, n) = (shape[0], shape[1], points.shape[1])
    guard n > 0 else { return [] }
    let scores = uninitializedFloats(k * n) { s in
      data.withUnsafeBufferPointer { e in
        for j in 0..<k {
          var norm: Float = 0
          for i in 0..<d { norm += e[j * d + i] * e[j * d + i] }
          (s.baseAddress! + j * n).update(repeating: norm, count: n)
        }
        points.data.withUnsafeBufferPointer { z in
          gemm(m: k, n: n, k: d, alpha: -2, e.baseAddress!, z.baseAddress!, beta: 1, s.baseAddress!)
        }
      }
    }
    var nearest = [Int](repeating: 0, count: n)
    scores.withUnsafeBufferPointer { s in
      nearest.withUnsafeMutableBufferPointer { out in
        let blocks = n / 16
        parallelChunks(blocks, grain: 64) { range in
          for block in range {
            let column = block * 16
            var (bestScore, bestRow) = (SIMD16<Float>(repeating: .infinity), SIMD16<Int32>(repeating: 0))
            for j in 0..<k {
              let score = UnsafeRawPointer(s.baseAddress! + j * n + column).loadUnaligned(as: SIMD16<Float>.self)
              let better = score .< bestScore
              bestScore.replace(with: score, where: better)
              bestRow.replace(with: Int32(j), where: better)
            }
            for lane in 0..<16 { out[column + lane] = Int(bestRow[lane]) }
          }
        }
        for column in (blocks * 16)..<n {
          var (bestScore, bestRow) = (Float.infinity, 0)
          for j in 0..<k where s[j * n + column] < bestScore { (bestScore, bestRow) = (s[j * n + column], j) }
          out[column] = bestRow
        }
      }
    }
    return nearest
  }
}
