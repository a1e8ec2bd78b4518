import Dispatch

/// Runs `body` over `0..<count` split into contiguous chunks, one per engine thread, when `parallel` is true.
func parallelChunks(_ count: Int, parallel: Bool = true, _ body: (Range<Int>) -> Void) {
  let workers = parallel ? min(EngineThreads.count, count) : 1
  guard workers > 1 else {
    body(0..<count)
    return
  }
  withoutActuallyEscaping(body) { escapable in
    let box = UncheckedSendable(escapable)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      box.value(count * worker / workers..<count * (worker + 1) / workers)
    }
  }
}

/// Carries a value the caller knows is safe to share into a `@Sendable` closure (disjoint writes through pointers).
struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
