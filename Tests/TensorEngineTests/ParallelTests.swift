import Dispatch
import XCTest

@testable import TensorEngine

final class ParallelTests: XCTestCase {
  private func withThreads(_ count: Int, _ body: () throws -> Void) rethrows {
    let previous = EngineThreads.count
    EngineThreads.count = count
    defer { EngineThreads.count = previous }
    try body()
  }

  /// How often each index of `0..<count` was visited by `parallelWorkers`, and by which worker.
  private static func visits(_ count: Int) -> (times: [Int], workers: [Int]) {
    var (times, workers) = ([Int](repeating: 0, count: count), [Int](repeating: -1, count: count))
    times.withUnsafeMutableBufferPointer { t in
      workers.withUnsafeMutableBufferPointer { w in
        parallelWorkers(count) { worker, range in
          for i in range {
            t[i] += 1
            w[i] = worker
          }
        }
      }
    }
    return (times, workers)
  }

  /// Every index runs exactly once, in the contiguous chunk of its worker, for many loops in a row and as the thread
  /// count changes (threads started for 4 workers still answer the 2-worker loops after them).
  func testEveryIndexRunsOnceOnItsWorker() {
    for threads in [2, 4, 3, 2, 4] {
      withThreads(threads) {
        for count in [1, 2, 3, 7, 64, 1000] {
          for _ in 0..<50 {
            let (times, workers) = Self.visits(count)
            XCTAssertEqual(times, [Int](repeating: 1, count: count), "threads \(threads), count \(count)")
            let expected = (0..<count).map { i in
              (0..<min(threads, count)).first { i < count * ($0 + 1) / min(threads, count) }!
            }
            XCTAssertEqual(workers, expected, "threads \(threads), count \(count)")
          }
        }
      }
    }
  }

  /// A loop inside a loop, and loops from two threads at once, run (on their own thread) instead of waiting for a
  /// pool that is busy.
  func testNestedAndConcurrentLoopsComplete() {
    withThreads(2) {
      var inner = [Int](repeating: 0, count: 2 * 10)
      inner.withUnsafeMutableBufferPointer { inner in
        parallelWorkers(2) { worker, _ in
          parallelWorkers(10) { _, range in
            for i in range { inner[worker * 10 + i] += 1 }
          }
        }
      }
      XCTAssertEqual(inner, [Int](repeating: 1, count: 20))

      // Each caller writes its own element.
      nonisolated(unsafe) let sums = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
      defer { sums.deallocate() }
      DispatchQueue.concurrentPerform(iterations: 8) { caller in
        var total = 0
        for _ in 0..<100 { total += Self.visits(33).times.reduce(0, +) }
        sums[caller] = total
      }
      XCTAssertEqual(Array(sums), [Int](repeating: 3300, count: 8))
    }
  }
}
