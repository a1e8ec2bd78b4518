import Foundation

/// The mean squared error between two tensors of the same shape, `mean((prediction - target)²)`, as PyTorch's
/// `F.mse_loss`; gradients reach both operands.
/// - Throws: `TensorError` if the shapes differ.
public func meanSquaredError(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
  guard prediction.shape == target.shape else {
    throw TensorError("meanSquaredError: prediction \(prediction.shape) and target \(target.shape) differ")
  }
  let n = prediction.count
  let difference = zip(prediction.data, target.data).map { $0 - $1 }
  let total = difference.reduce(0.0) { $0 + Double($1 * $1) }
  let loss = Float(total / Double(Swift.max(n, 1)))
  return Tensor.record([loss], shape: [], inputs: [prediction, target]) { result in
    let scale = 2 * result.grad![0] / Float(Swift.max(n, 1))
    if prediction.requiresGrad { prediction.accumulateGrad(difference.map { $0 * scale }) }
    if target.requiresGrad { target.accumulateGrad(difference.map { -$0 * scale }) }
  }
}

/// Softmax cross-entropy, averaged over all positions, as PyTorch's `F.cross_entropy`: `logits` is `[N, C]` or
/// `[N, C, d1, ...]` with the classes on axis 1, `targets` holds one class per position (`N · d1 · ...` values, in
/// row-major order of the non-class axes). Uses a stable log-sum-exp.
/// - Throws: `TensorError` on a count mismatch or a target outside `0..<C`.
public func softmaxCrossEntropy(logits: Tensor, targets: [Int]) throws -> Tensor {
  guard logits.rank >= 2 else {
    throw TensorError("softmaxCrossEntropy: logits need a class axis, got \(logits.shape)")
  }
  let (batch, classes) = (logits.shape[0], logits.shape[1])
  let spatial = elementCount(Array(logits.shape.dropFirst(2)))
  let positions = batch * spatial
  guard targets.count == positions else {
    throw TensorError("softmaxCrossEntropy: \(targets.count) targets for \(positions) positions of \(logits.shape)")
  }
  if let bad = targets.first(where: { $0 < 0 || $0 >= classes }) {
    throw TensorError("softmaxCrossEntropy: target \(bad) outside 0..<\(classes)")
  }
  // Softmax probabilities, kept for the backward pass: dLogits = (p - onehot) / positions. Each pass walks one
  // class's row of a chunk of positions, so the loops run over contiguous memory whatever the layout; the chunks
  // split over the engine's threads, each with its own partial sum (added in order, so the total is reproducible).
  var probabilities = [Float](repeating: 0, count: logits.count)
  let chunks = spatial >= 2 * 512 ? EngineThreads.count : 1
  var partial = [Double](repeating: 0, count: batch * chunks)
  logits.data.withUnsafeBufferPointer { x in
    probabilities.withUnsafeMutableBufferPointer { p in
      partial.withUnsafeMutableBufferPointer { totals in
        parallelChunks(batch * chunks, parallel: true) { work in
          for item in work {
            let (b, chunk) = (item / chunks, item % chunks)
            let range = spatial * chunk / chunks..<spatial * (chunk + 1) / chunks
            let base = b * classes * spatial
            var m = [Float](repeating: -Float.infinity, count: range.count)
            var z = [Float](repeating: 0, count: range.count)
            for c in 0..<classes {
              let row = base + c * spatial + range.lowerBound
              for s in 0..<range.count { m[s] = Swift.max(m[s], x[row + s]) }
            }
            // fastExp eight positions at a time (the scalar loop did not vectorise), the same values as one by one.
            let whole = range.count / 8 * 8
            m.withUnsafeBufferPointer { m in
              z.withUnsafeMutableBufferPointer { z in
                let (mp, zp) = (m.baseAddress!, z.baseAddress!)
                for c in 0..<classes {
                  let row = base + c * spatial + range.lowerBound
                  let (xp, pp) = (x.baseAddress! + row, p.baseAddress! + row)
                  for s in stride(from: 0, to: whole, by: 8) {
                    let e = fastExp(loadEight(xp + s) - loadEight(mp + s))
                    storeEight(e, pp + s)
                    storeEight(loadEight(zp + s) + e, zp + s)
                  }
                  for s in whole..<range.count {
                    let e = fastExp(x[row + s] - m[s])
                    p[row + s] = e
                    z[s] += e
                  }
                }
              }
            }
            for s in 0..<range.count { z[s] = 1 / z[s] }
            for c in 0..<classes {
              let row = base + c * spatial + range.lowerBound
              for s in 0..<range.count { p[row + s] *= z[s] }
            }
            var sum = 0.0
            for s in 0..<range.count {
              let position = range.lowerBound + s
              let target = targets[b * spatial + position]
              sum += Double(m[s] - Foundation.log(z[s]) - x[base + target * spatial + position])
            }
            totals[item] = sum
          }
        }
      }
    }
  }
  let total = partial.reduce(0, +)
  let loss = Float(total / Double(Swift.max(positions, 1)))
  return Tensor.record([loss], shape: [], inputs: [logits]) { result in
    let scale = result.grad![0] / Float(Swift.max(positions, 1))
    logits.accumulateGrad { d in
      probabilities.withUnsafeBufferPointer { p in
        parallelChunks(d.count, grain: parallelGrain) { range in
          for i in range { d[i] += p[i] * scale }
        }
      }
      for b in 0..<batch {
        for s in 0..<spatial { d[b * classes * spatial + targets[b * spatial + s] * spatial + s] -= scale }
      }
    }
  }
}
