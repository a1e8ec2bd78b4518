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

  /// The column index of the smallest value in each row of a 2-D tensor (ties go to the first), as
  /// `torch.argmin(dim=1)`. Not differentiable.
  /// - Throws: `TensorError` if this is not 2-D with at least one column.
  public func argminRows() throws -> [Int] {
    guard rank == 2, shape[1] > 0 else { throw TensorError("argminRows: need a 2-D tensor with columns, got \(shape)") }
    let width = shape[1]
    return data.withUnsafeBufferPointer { x in
      (0..<shape[0]).map { row in
        let base = row * width
        var best = 0
        var bestValue = x[base]
        for j in 1..<width where x[base + j] < bestValue {
          best = j
          bestValue = x[base + j]
        }
        return best
      }
    }
  }
}
