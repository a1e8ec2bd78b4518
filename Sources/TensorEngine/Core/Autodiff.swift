/// Whether operations record the graph for `backward()`.
public enum GradMode {
  /// On by default; `withoutGrad` turns it off for inference (evaluation, encoding, sampling).
  nonisolated(unsafe) public static var isEnabled = true
}

/// Runs `body` with gradient recording off: results remember nothing, so no activations are kept alive.
public func withoutGrad<T>(_ body: () throws -> T) rethrows -> T {
  let previous = GradMode.isEnabled
  GradMode.isEnabled = false
  defer { GradMode.isEnabled = previous }
  return try body()
}

extension Tensor {
  /// Back-propagates from this tensor: accumulates d(self)/d(leaf) · seed into the `grad` of every leaf that
  /// requires gradients. The seed defaults to 1 for a one-element tensor (a loss).
  ///
  /// The graph is released as it is walked, so intermediate activations are freed and a second `backward()` from
  /// the same result is an error, as in PyTorch.
  /// - Throws: `TensorError` if this tensor does not require grad, or the seed is missing or has the wrong size.
  public func backward(seed: [Float]? = nil) throws {
    guard requiresGrad else { throw TensorError("backward: the tensor does not require grad (no input needs it)") }
    guard !graphReleased else {
      throw TensorError("backward: the graph of this tensor was already released by an earlier backward()")
    }
    let start: [Float]
    if let seed {
      guard seed.count == count else { throw TensorError("backward: seed has \(seed.count) values, tensor \(shape)") }
      start = seed
    } else {
      guard count == 1 else { throw TensorError("backward: a seed is needed for a non-scalar tensor \(shape)") }
      start = [1]
    }

    let order = topologicalOrder()
    accumulateGrad(start)
    for node in order.reversed() {
      guard let backwardFunction = node.backwardFunction else { continue }
      if node.grad != nil { backwardFunction(node) }
      node.backwardFunction = nil
      node.inputs = []
      node.graphReleased = true
      if !node.retainsGrad { node.grad = nil }
    }
  }

  /// The nodes reachable from this one, every node after all of its inputs (iterative, so deep graphs are fine).
  private func topologicalOrder() -> [Tensor] {
    var order: [Tensor] = []
    var visited = Set<ObjectIdentifier>()
    var stack: [(Tensor, Int)] = [(self, 0)]
    visited.insert(ObjectIdentifier(self))
    while let (node, next) = stack.popLast() {
      if next < node.inputs.count {
        stack.append((node, next + 1))
        let input = node.inputs[next]
        if input.requiresGrad, visited.insert(ObjectIdentifier(input)).inserted { stack.append((input, 0)) }
      } else {
        order.append(node)
      }
    }
    return order
  }
}
