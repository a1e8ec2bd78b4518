import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The per-process folder where inputs become files for the readers that take a path: `$FUZZ_SCRATCH` (or
/// /dev/shm, a RAM disk) / `fuzz-readers-<pid>`, removed when the process exits normally. Each reader writes its
/// files under fixed names there, overwriting the previous input's.
enum Scratch {
  /// The folder, made on first use.
  static let root: String = {
    let base = ProcessInfo.processInfo.environment["FUZZ_SCRATCH"] ?? "/dev/shm"
    let path = "\(base)/fuzz-readers-\(getpid())"
    try? FileManager.default.removeItem(atPath: path)
    do {
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
      fatalError("fuzz-readers: cannot create the scratch folder \(path): \(error)")
    }
    atexit { try? FileManager.default.removeItem(atPath: Scratch.root) }
    return path
  }()

  /// `name` (a relative path) inside the folder; its parent folders are made.
  static func path(_ name: String) -> String {
    let path = "\(root)/\(name)"
    let parent = (path as NSString).deletingLastPathComponent
    if !FileManager.default.fileExists(atPath: parent) {
      try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    }
    return path
  }

  /// The folder `name` (a relative path) inside the scratch folder, made if it is not there.
  static func folder(_ name: String) -> String {
    let path = "\(root)/\(name)"
    if !FileManager.default.fileExists(atPath: path) {
      try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    return path
  }

  /// Writes `bytes` to `path`, replacing what was there. A failure here is the harness's, so it stops the process.
  static func write(_ bytes: [UInt8], to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { fatalError("fuzz-readers: cannot create \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    bytes.withUnsafeBytes { raw in
      var done = 0
      while done < raw.count {
        let written = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { fatalError("fuzz-readers: cannot write \(path): \(String(cString: strerror(errno)))") }
        done += written
      }
    }
  }

  /// Removes `path` if it is there.
  static func remove(_ path: String) { unlink(path) }

  /// Makes `link` a symbolic link to `target` (once: an existing link is kept).
  static func link(_ link: String, to target: String) {
    if symlink(target, link) != 0 && errno != EEXIST {
      fatalError("fuzz-readers: cannot link \(link): \(String(cString: strerror(errno)))")
    }
  }
}
