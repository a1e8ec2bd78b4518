import Foundation
import TensorEngine

/// One update's traffic between the ranks of a `ProcessGroup`: every rank's gradients, weighted by its share of the
/// batch, its loss, likewise weighted, and the stage's own sums (code counts, EMA statistics, hits) go into one flat
/// buffer and one all-reduce. Afterwards every rank holds the gradients and the loss of the whole batch, as one
/// process computing it alone would, up to the order of the sums.
final class GradientExchange {
  let group: ProcessGroup
  /// Reused by every update.
  private var buffer: [Float] = []

  init(group: ProcessGroup) { self.group = group }

  /// Floats all-reduced per update for `parameters` and `sums` extra values.
  static func floatsPerUpdate(parameters: [(name: String, tensor: Tensor)], sums: Int) -> Int {
    parameters.reduce(0) { $0 + $1.tensor.count } + 1 + sums
  }

  /// Sums the gradients of `parameters` (each rank's scaled by `weight`, its share of the batch), `loss` (likewise)
  /// and `sums` over the ranks. A parameter without a gradient counts as zeros and keeps none.
  /// - Returns: the batch's loss; `sums` hold the ranks' totals.
  func exchange(
    parameters: [(name: String, tensor: Tensor)], weight: Float, loss: Float, sums: inout [Float]
  ) -> Float {
    guard group.size > 1 else { return loss }
    let total = Self.floatsPerUpdate(parameters: parameters, sums: sums.count)
    if buffer.count != total { buffer = [Float](repeating: 0, count: total) }
    buffer.withUnsafeMutableBufferPointer { flat in
      var offset = 0
      for (_, tensor) in parameters {
        let count = tensor.count
        if let grad = tensor.grad {
          for i in 0..<count { flat[offset + i] = grad[i] * weight }
        } else {
          for i in 0..<count { flat[offset + i] = 0 }
        }
        offset += count
      }
      flat[offset] = loss * weight
      for (i, value) in sums.enumerated() { flat[offset + 1 + i] = value }
    }
    group.sum(&buffer)
    var offset = 0
    for (_, tensor) in parameters {
      let count = tensor.count
      if tensor.grad != nil {
        tensor.grad!.withUnsafeMutableBufferPointer { grad in
          for i in 0..<count { grad[i] = buffer[offset + i] }
        }
      }
      offset += count
    }
    for i in sums.indices { sums[i] = buffer[offset + 1 + i] }
    return buffer[offset]
  }

  /// Gives every rank the leader's `parameters` and `buffers` (the start of a run, or after a k-means start).
  func broadcast(parameters: [Tensor]) {
    guard group.size > 1 else { return }
    var flat = parameters.flatMap(\.data)
    group.broadcast(&flat)
    var offset = 0
    for tensor in parameters {
      tensor.data = Array(flat[offset..<(offset + tensor.count)])
      offset += tensor.count
    }
  }
}
