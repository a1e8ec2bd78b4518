/// How a smaller operand spreads over a full-shaped one: the full tensor is viewed as `[outer, middle, inner]` and
/// the small one as `[middle]`. That covers what the models need: a scalar, a per-channel vector `[1, C, 1, 1]` over
/// NCHW, a row vector `[D]` over `[N, D]`, and equal shapes.
struct Broadcast {
  let outer: Int
  let middle: Int
  let inner: Int

  /// The plan for spreading `small` over `full`, or an error naming `op` when the shapes do not allow it.
  init(_ small: [Int], over full: [Int], op: String) throws {
    let mismatch = TensorError("\(op): cannot broadcast shape \(small) to \(full)")
    guard small.count <= full.count else { throw mismatch }
    let padded = [Int](repeating: 1, count: full.count - small.count) + small
    // The dimensions where `small` is not 1 must match `full` and form one contiguous block.
    let varying = padded.indices.filter { padded[$0] != 1 }
    for axis in varying where padded[axis] != full[axis] { throw mismatch }
    guard let first = varying.first, let last = varying.last else {
      (outer, middle, inner) = (1, 1, elementCount(full))
      return
    }
    for axis in first...last where padded[axis] != full[axis] { throw mismatch }
    outer = elementCount(Array(full[..<first]))
    middle = elementCount(Array(full[first...last]))
    inner = elementCount(Array(full[(last + 1)...]))
  }

  /// Sums `values` (full-shaped) over the broadcast dimensions, giving a small-shaped gradient; `weights`, when
  /// given, multiplies each value first (the product rule of `*`).
  func reduce(_ values: UnsafeBufferPointer<Float>, weightedBy weights: UnsafeBufferPointer<Float>?) -> [Float] {
    var result = [Float](repeating: 0, count: middle)
    result.withUnsafeMutableBufferPointer { r in
      if inner == 1 {
        // A row vector over rows (a bias over [N, D]): add each row into the result, which vectorises along it.
        for o in 0..<outer {
          let base = o * middle
          if let weights {
            for m in 0..<middle { r[m] += values[base + m] * weights[base + m] }
          } else {
            for m in 0..<middle { r[m] += values[base + m] }
          }
        }
        return
      }
      for o in 0..<outer {
        for m in 0..<middle {
          let base = (o * middle + m) * inner
          if let weights {
            var sum: Float = 0
            for i in 0..<inner { sum += values[base + i] * weights[base + i] }
            r[m] += sum
          } else {
            r[m] += vectorSum(values.baseAddress! + base, count: inner)
          }
        }
      }
    }
    return result
  }
}
