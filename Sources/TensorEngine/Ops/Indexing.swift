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
  /// does not move the argmin) are computed a block of columns at a time, one GEMM per block on each thread, and
  /// searched while the block is still in cache, 16 columns at a time.
  /// - Throws: `TensorError` unless this is `[K, D]` with K > 0 and `points` is `[D, N]`.
  public func nearestRows(toColumnsOf points: Tensor) throws -> [Int] {
    guard rank == 2, points.rank == 2, shape[0] > 0, shape[1] == points.shape[0] else {
      throw TensorError("nearestRows: need a [K, D] table and [D, N] points, got \(shape) and \(points.shape)")
    }
    let (k, d, n) = (shape[0], shape[1], points.shape[1])
    let norms = data.withUnsafeBufferPointer { e in
      (0..<k).map { j in (0..<d).reduce(Float(0)) { $0 + e[j * d + $1] * e[j * d + $1] } }
    }
    // 128 columns of K scores: 256 KB for K = 512, within a core's L2.
    let width = 128
    var nearest = [Int](repeating: 0, count: n)
    data.withUnsafeBufferPointer { e in
      points.data.withUnsafeBufferPointer { z in
        nearest.withUnsafeMutableBufferPointer { out in
          let blocks = (n + width - 1) / width
          parallelChunks(blocks, parallel: blocks > 1 && k * d * width * blocks >= 1 << 21) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: k * width)
            defer { scores.deallocate() }
            for block in range {
              let first = block * width
              let columns = Swift.min(width, n - first)
              gemm(
                m: k, n: columns, k: d, alpha: -2, e.baseAddress!, z.baseAddress! + first, ldb: n, scores,
                split: false)
              nearestInBlock(scores, norms: norms, columns: columns, into: out.baseAddress! + first)
            }
          }
        }
      }
    }
    return nearest
  }
}

/// For each of `columns` columns of a `[norms.count, columns]` block of scores, the row with the smallest
/// `norms[j] + score` (ties to the first), 16 columns at a time.
private func nearestInBlock(
  _ scores: UnsafePointer<Float>, norms: [Float], columns: Int, into out: UnsafeMutablePointer<Int>
) {
  let vectorColumns = columns / 16 * 16
  for column in Swift.stride(from: 0, to: vectorColumns, by: 16) {
    var (bestScore, bestRow) = (SIMD16<Float>(repeating: .infinity), SIMD16<Int32>(repeating: 0))
    for (j, norm) in norms.enumerated() {
      let score = UnsafeRawPointer(scores + j * columns + column).loadUnaligned(as: SIMD16<Float>.self) + norm
      let better = score .< bestScore
      bestScore.replace(with: score, where: better)
      bestRow.replace(with: Int32(j), where: better)
    }
    for lane in 0..<16 { out[column + lane] = Int(bestRow[lane]) }
  }
  for column in vectorColumns..<columns {
    var (bestScore, bestRow) = (Float.infinity, 0)
    for (j, norm) in norms.enumerated() where norm + scores[j * columns + column] < bestScore {
      (bestScore, bestRow) = (norm + scores[j * columns + column], j)
    }
    out[column] = bestRow
  }
}
