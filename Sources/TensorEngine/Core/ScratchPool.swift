import Foundation

/// Reusable scratch buffers for the im2col matrices and transposes of convolutions, so that a training step does not
/// allocate (and page-fault in) tens of megabytes per layer. Buffers are handed out under a lock and kept for reuse.
enum ScratchPool {
  nonisolated(unsafe) private static var free: [UnsafeMutableBufferPointer<Float>] = []
  private static let lock = NSLock()

  /// Runs `body` with a buffer of at least `count` floats (contents undefined).
  static func withBuffer<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    let buffer = take(count)
    defer { give(buffer) }
    return try body(buffer.baseAddress!)
  }

  private static func take(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
    lock.lock()
    defer { lock.unlock() }
    // The smallest free buffer that fits; otherwise replace the largest with a bigger one.
    if let index = free.indices.filter({ free[$0].count >= count }).min(by: { free[$0].count < free[$1].count }) {
      return free.remove(at: index)
    }
    if let largest = free.indices.max(by: { free[$0].count < free[$1].count }) {
      free.remove(at: largest).deallocate()
    }
    return .allocate(capacity: Swift.max(count, 1))
  }

  private static func give(_ buffer: UnsafeMutableBufferPointer<Float>) {
    lock.lock()
    free.append(buffer)
    lock.unlock()
  }
}
