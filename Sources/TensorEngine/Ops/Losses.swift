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
  // Softmax probabilities, kept for the backward pass: dLogits = (p - onehot) / positions.
  var probabilities = [Float](repeating: 0, count: logits.count)
  var total = 0.0
  logits.data.withUnsafeBufferPointer { x in
    probabilities.withUnsafeMutableBufferPointer { p in
      for b in 0..<batch {
        for s in 0..<spatial {
          let base = b * classes * spatial + s
          var maximum = -Float.infinity
          for c in 0..<classes { maximum = Swift.max(maximum, x[base + c * spatial]) }
          var sum: Float = 0
          for c in 0..<classes {
            let e = Foundation.exp(x[base + c * spatial] - maximum)
            p[base + c * spatial] = e
            sum += e
          }
          for c in 0..<classes { p[base + c * spatial] /= sum }
          let target = targets[b * spatial + s]
          total += Double(maximum + Foundation.log(sum) - x[base + target * spatial])
        }
      }
    }
  }
  let loss = Float(total / Double(Swift.max(positions, 1)))
  return Tensor.record([loss], shape: [], inputs: [logits]) { result in
    let scale = result.grad![0] / Float(Swift.max(positions, 1))
    for b in 0..<batch {
      for s in 0..<spatial {
        probabilities[b * classes * spatial + targets[b * spatial + s] * spatial + s] -= 1
      }
    }
    logits.accumulateGrad(probabilities.map { $0 * scale })
  }
}
