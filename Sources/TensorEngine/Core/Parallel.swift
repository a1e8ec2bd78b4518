import Foundation
import Synchronization

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
  WorkerPool.shared.run(workers) { worker in
    body(worker, count * worker / workers..<count * (worker + 1) / workers)
  }
}

/// The engine's own threads for its parallel loops. A training step runs a few hundred of them, many of well under
/// a millisecond: waking parked threads for each (as Dispatch does) spent about a tenth of a small convolution in
/// the kernel's scheduler. These threads instead wait for the next loop by polling (yielding the core between
/// polls) for a while before they park, and the caller polls for their end.
final class WorkerPool: @unchecked Sendable {
  static let shared = WorkerPool()

  /// Bumped to hand out a job; workers wait for it to change.
  private let generation = Atomic<Int>(0)
  /// Threads that have not yet finished (or, past the job's worker count, skipped) the current job. Every thread
  /// answers every job, so none can still be reading one job's fields when the next is handed out.
  private let running = Atomic<Int>(0)
  /// Set while a job runs: a loop started inside one (or beside one, from another thread) runs on its own thread.
  private let busy = Atomic<Bool>(false)
  private let parking = NSCondition()
  /// The job and its worker count: written before `generation` is bumped, read by the workers after they see it.
  private var job: ((Int) -> Void)?
  private var workers = 0
  /// Threads started so far (worker 1, 2, ...; the caller is worker 0).
  private var threads = 0

  /// Runs `body(worker)` for workers 0..<count at once, the calling thread as worker 0, and returns when all are done.
  func run(_ count: Int, _ body: (Int) -> Void) {
    guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
      for worker in 0..<count { body(worker) }
      return
    }
    defer { busy.store(false, ordering: .releasing) }
    while threads < count - 1 {
      threads += 1
      let (index, start) = (threads, generation.load(ordering: .relaxed))
      let thread = Thread { [self] in workerLoop(index, seen: start) }
      thread.start()
    }
    withoutActuallyEscaping(body) { body in
      (job, workers) = (body, count)
      running.store(threads, ordering: .relaxed)
      parking.lock()
      generation.add(1, ordering: .releasing)
      parking.broadcast()
      parking.unlock()
      body(0)
      Self.poll { running.load(ordering: .acquiring) == 0 }
      job = nil
    }
  }

  private func workerLoop(_ index: Int, seen start: Int) {
    var seen = start
    while true {
      if !Self.poll(untilNanoseconds: 2_000_000, { generation.load(ordering: .acquiring) != seen }) {
        parking.lock()
        while generation.load(ordering: .acquiring) == seen { parking.wait() }
        parking.unlock()
      }
      seen += 1
      if index < workers { job!(index) }
      running.subtract(1, ordering: .releasing)
    }
  }

  /// Polls `done`, yielding the core between polls, until it holds (true) or `limit` nanoseconds have passed (false).
  @discardableResult
  private static func poll(untilNanoseconds limit: UInt64 = .max, _ done: () -> Bool) -> Bool {
    let start = DispatchTime.now().uptimeNanoseconds
    var polls = 0
    while !done() {
      polls += 1
      if polls % 64 == 0, DispatchTime.now().uptimeNanoseconds - start > limit { return false }
      sched_yield()
    }
    return true
  }
}

/// Elements per thread below which splitting an elementwise loop costs more in synchronisation than it saves.
let parallelGrain = 1 << 14

/// Runs `body` over `0..<count` in one contiguous chunk per engine thread when every chunk gets at least `grain`
/// items, else in one call. Chunks depend only on `count` and the thread count, so results are reproducible.
func parallelChunks(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
  parallelChunks(count, parallel: count >= 2 * grain, body)
}
