import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file (or folder) that cannot be read, written or used, the toolkit's one error about files: it names the path
/// and says what is wrong with it, and where useful how to fix it (`train.bin: truncated: ...`).
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The file or folder at fault.
  public let path: String
  /// What is wrong (`cannot create ...: Permission denied`, `bad magic number ...`).
  public let message: String

  /// An error about `path`.
  public init(_ path: String, _ message: String) { (self.path, self.message) = (path, message) }

  /// An error about `path`.
  public init(path: String, message: String) { self.init(path, message) }

  public var description: String { "\(path): \(message)" }
}

/// Whole-file reads and atomic writes, shared by every file format of the toolkit.
public enum FileIO {
  /// The bytes of the file at `path`, read into one buffer of the size `fstat` gives (and on past it, should the
  /// file grow meanwhile). The toolkit's one whole-file reader.
  /// - Throws: `FileError` with errno's reason, or for a folder, a device, a pipe, or a file larger than the memory
  ///   budget (before reading it).
  public static func read(_ path: String) throws -> [UInt8] {
    // Non-blocking, so that opening a pipe with no writer does not hang before the check below refuses it.
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw FileError(path: path, message: "cannot open: \(reason(errno))") }
    defer { close(fd) }
    var status = stat()
    guard fstat(fd, &status) == 0 else { throw FileError(path: path, message: "cannot stat: \(reason(errno))") }
    // A device (/dev/zero) or a pipe has no end to read to.
    try requireRegularFile(status, path)
    if let shortfall = MemoryBudget.shortfall(Double(status.st_size), for: "reading it") {
      throw FileError(path: path, message: shortfall)
    }
    var bytes = [UInt8](repeating: 0, count: max(Int(status.st_size), 0) + 1)
    var count = 0
    while true {
      if count == bytes.count { bytes += [UInt8](repeating: 0, count: max(count, 1 << 16)) }
      let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
      if got < 0 {
        if errno == EINTR { continue }
        throw FileError(path: path, message: "cannot read: \(reason(errno))")
      }
      if got == 0 { break }
      count += got
    }
    bytes.removeLast(bytes.count - count)
    return bytes
  }

  /// Refuses a path that is not a regular file before it is opened for reading, so that a pipe or a device given as
  /// a data file is an error rather than a hang or an endless read.
  /// - Returns: the file's size in bytes.
  /// - Throws: `FileError` saying what the path is.
  @discardableResult
  public static func requireRegularFile(_ path: String) throws -> Int {
    var status = stat()
    guard stat(path, &status) == 0 else { throw FileError(path: path, message: "cannot open: \(reason(errno))") }
    try requireRegularFile(status, path)
    return Int(status.st_size)
  }

  private static func requireRegularFile(_ status: stat, _ path: String) throws {
    let kind = status.st_mode & S_IFMT
    guard kind != S_IFREG else { return }
    let what =
      switch kind {
      case S_IFDIR: "a folder"
      case S_IFIFO: "a pipe"
      case S_IFCHR, S_IFBLK: "a device"
      case S_IFSOCK: "a socket"
      default: "not a regular file"
      }
    throw FileError(path: path, message: "is \(what), expected a file")
  }

  /// Writes `bytes` atomically: into `<path>.tmp-<pid>` in the same folder, flushed to disk, then renamed over
  /// `path`, so readers see the old file or the new one, never a partial one; the temporary file is removed on
  /// failure. A folder, device, pipe or socket at `path` is refused rather than replaced.
  /// - Throws: `FileError` with errno's reason.
  public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    try writeAtomically(to: path) { append in try bytes.withUnsafeBytes { try append($0) } }
  }

  /// Writes what `fill` hands its `append` atomically, as `writeAtomically(_:to:)` writes bytes, without gathering
  /// them in memory first.
  /// - Throws: `FileError` with errno's reason, or what `fill` throws (the temporary file is removed then).
  public static func writeAtomically(
    to path: String, _ fill: (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
  ) throws {
    // The rename would replace whatever is there: a device or a pipe named as the output is refused instead.
    var existing = stat()
    if lstat(path, &existing) == 0, existing.st_mode & S_IFMT != S_IFLNK { try requireRegularFile(existing, path) }
    let temporary = "\(path).tmp-\(getpid())"
    func fail(_ what: String, _ code: Int32) -> FileError {
      FileError(path: path, message: "\(what): \(reason(code))")
    }
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw fail("cannot create \(temporary)", errno) }
    var failure: Error?
    do {
      try fill { chunk in
        if let code = writeAll(fd, chunk) { throw fail("cannot write \(temporary)", code) }
      }
    } catch {
      failure = error
    }
    if failure == nil, fsync(fd) != 0 { failure = fail("cannot flush \(temporary)", errno) }
    if close(fd) != 0, failure == nil { failure = fail("cannot close \(temporary)", errno) }
    if failure == nil, rename(temporary, path) != 0 { failure = fail("cannot rename \(temporary) to it", errno) }
    if let failure {
      unlink(temporary)
      throw failure
    }
  }

  /// Makes the folder at `path` whole or not at all: `fill` writes into a new sibling `<path>.tmp-<pid>`, which then
  /// takes the place of `path` (an older folder there is removed after the swap). A kill or a full disk leaves the
  /// old folder or the new one, never a mix; staging folders of killed processes are removed first.
  /// - Throws: `FileError` naming the folder, or what `fill` throws (the staging folder is removed then).
  public static func replaceFolder(at path: String, _ fill: (String) throws -> Void) throws {
    let parent = (path as NSString).deletingLastPathComponent
    let name = (path as NSString).lastPathComponent
    let manager = FileManager.default
    for entry in (try? manager.contentsOfDirectory(atPath: parent.isEmpty ? "." : parent)) ?? [] {
      guard entry.hasPrefix("\(name).tmp-") || entry.hasPrefix("\(name).old-"),
        let pid = Int32(entry.split(separator: "-").last ?? ""), kill(pid, 0) != 0 && errno == ESRCH
      else { continue }
      try? manager.removeItem(atPath: (parent as NSString).appendingPathComponent(entry))
    }
    let staged = "\(path).tmp-\(getpid())"
    let old = "\(path).old-\(getpid())"
    try? manager.removeItem(atPath: staged)
    guard mkdir(staged, 0o755) == 0 else { throw FileError(path, "cannot create \(staged): \(reason(errno))") }
    do {
      try fill(staged)
      var isDirectory: ObjCBool = false
      let replacing = manager.fileExists(atPath: path, isDirectory: &isDirectory)
      if replacing && !isDirectory.boolValue { throw FileError(path, "is a file, not a folder") }
      if replacing && rename(path, old) != 0 { throw FileError(path, "cannot move aside: \(reason(errno))") }
      guard rename(staged, path) == 0 else {
        let failure = FileError(path, "cannot rename \(staged) to it: \(reason(errno))")
        if replacing { _ = rename(old, path) }
        throw failure
      }
      if replacing { try? manager.removeItem(atPath: old) }
    } catch {
      try? manager.removeItem(atPath: staged)
      throw error
    }
  }

  /// Appends `bytes` to the open file `fd` (opened with `O_APPEND`), all of them or an error.
  /// - Throws: `FileError` naming `path` with errno's reason ("No space left on device").
  public static func append(_ bytes: [UInt8], to fd: Int32, path: String) throws {
    let code = bytes.withUnsafeBytes { writeAll(fd, $0) }
    if let code { throw FileError(path: path, message: "cannot append: \(reason(code))") }
  }

  /// Writes all of `raw` to `fd`, retrying short writes and interrupts; returns errno on failure.
  private static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Int32? {
    var done = 0
    while done < raw.count {
      let written = write(fd, raw.baseAddress.map { $0 + done }, raw.count - done)
      if written < 0 {
        if errno == EINTR { continue }
        return errno
      }
      done += written
    }
    return nil
  }

  private static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }
}
