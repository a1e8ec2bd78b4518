import Foundation

/// The lock that keeps two processes from writing one run folder: `flock` on the folder's `.lock`, which names the
/// holder's pid. The descriptor stays open until the process ends, and the kernel drops the lock with it, so a
/// killed run never leaves a stale lock behind.
enum FolderLock {
  /// Folders this process holds already (a resumed run in the same process takes its lock again).
  nonisolated(unsafe) private static var held: Set<String> = []
  private static let guardian = NSLock()

  /// Takes the lock of the folder at `path` (which must exist) for the rest of the process.
  /// - Throws: `TrainingError` naming the pid of the process that holds it, or why `.lock` cannot be made.
  static func take(_ path: String) throws {
    let lockPath = (path as NSString).appendingPathComponent(".lock")
    let key = (lockPath as NSString).standardizingPath
    guardian.lock()
    defer { guardian.unlock() }
    if held.contains(key) { return }
    let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw TrainingError("cannot create \(lockPath): \(String(cString: strerror(errno)))")
    }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      close(fd)
      // The holder writes its pid just after it takes the lock: give it a moment.
      var holder = ""
      for _ in 0..<20 where holder.isEmpty {
        holder =
          (try? FileIO.read(lockPath)).map {
            String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
          } ?? ""
        if holder.isEmpty { usleep(5000) }
      }
      throw TrainingError(
        "output folder \(path) is in use by another run (pid \(holder.isEmpty ? "unknown" : holder)); "
          + "wait for it to end, or choose another --output-dir")
    }
    let pid = Array("\(getpid())\n".utf8)
    if ftruncate(fd, 0) == 0 { _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
    held.insert(key)
  }
}
