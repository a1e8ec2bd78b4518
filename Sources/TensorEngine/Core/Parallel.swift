import Dispatch

/// Runs `body` over `0..<count` split into contiguous chunks, one per engine thread, when `parallel` is true.
func parallelChunks(_ count: Int, parallel: Bool = true, _ body: (Range<Int>) -> Void) {
  parallelWorkers(count, parallel: parallel) { body($1) }
}

/// Runs `body(worker, range)` over `0..<count` split into contiguous chunks, one per engine thread (at most
/// `count`), when `parallel` is true; `worker` numbers the chunks from 0, so each can keep results of its own.
func parallelWorkers(_ count: Int, parallel: Bool = true, _ body: (Int, Range<Int>) -> Void) {
  let workers = parallel ? min(EngineThreads.count, count) : 1
  guard workers > 1 else {
    body(0, 0..<count)
    return
  }
  withoutActuallyEscaping(body) { escapable in
    let box = UncheckedSendable(escapable)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      box.value(worker, count * worker / workers..<count * (worker + 1) / workers)
    }
  }
}

/// Elements per thread below which splitting an elementwise loop costs more in synchronisation than it saves.
let parallelGrain = 1 << 14

/// Runs `body` over `0..<count` in one contiguous chunk per engine thread when every chunk gets at least `grain`
/// items, else in one call. Chunks depend only on `count` and the thread count, so results are reproducible.
func parallelChunks(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
  parallelChunks(count, parallel: count >= 2 * grain, body)
}

/// Carries a value the caller knows is safe to share into a `@Sendable` closure (disjoint writes through pointers).
struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
