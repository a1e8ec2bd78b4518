import Crypto
import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Downloads a dataset's files into a folder as torchvision's `download=True` does, with what it lacks: each file is
/// fetched into `<name>.part`, resumed where an earlier try stopped (an HTTP range request), checked against its size,
/// SHA-256 and MD5, and renamed into place only then; a mirror that fails (no answer, an HTTP error, a wrong digest)
/// hands over to the next. With no mirror left, the error says where to put the files by hand.
public final class Downloader {
  /// The environment variable that names mirrors to use instead of the official ones (base URLs, separated by
  /// spaces or commas): a local copy, or a server on a machine with no internet.
  public static let mirrorVariable = "VQVAE_DATA_MIRROR"

  /// Mirrors that replace every source's own; nil: `VQVAE_DATA_MIRROR`, else each source's.
  private let mirrors: [String]?
  /// Where progress goes: a status line (bytes, rate, ETA) while a file comes, a message when it is done.
  public var reporter: ProgressReporter?
  /// Seconds without data after which a connection counts as lost.
  public var timeout: Double = 30

  public init(mirrors: [String] = []) {
    let variable =
      ProcessInfo.processInfo.environment[Self.mirrorVariable]?
      .split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) ?? []
    let chosen = mirrors.isEmpty ? variable : mirrors
    self.mirrors = chosen.isEmpty ? nil : chosen.map { $0.hasSuffix("/") ? $0 : $0 + "/" }
  }

  /// Makes every file of `source` present and verified in `folder` (made if missing), downloading what is not, and
  /// unpacks an archive source. Files already there and whole are not fetched again.
  /// - Parameter dataset: its name, for messages.
  /// - Throws: `TrainingError` naming each mirror's failure and where to put the files by hand.
  public func fetch(_ source: DatasetSource, into folder: String, dataset: String) throws {
    let made = !FileManager.default.fileExists(atPath: folder)
    do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
      throw TrainingError("cannot create the data folder \(folder): \(error.localizedDescription)")
    }
    // A folder made for a download that brought nothing is not left behind.
    defer {
      if made, (try? FileManager.default.contentsOfDirectory(atPath: folder))?.isEmpty == true {
        try? FileManager.default.removeItem(atPath: folder)
      }
    }
    let mirrors = self.mirrors ?? source.mirrors
    for file in source.files {
      let target = (folder as NSString).appendingPathComponent(file.name)
      if FileManager.default.fileExists(atPath: target) {
        if let problem = try Self.check(target, against: file) {
          reporter?.message("\(file.name): \(problem); fetching it again")
          try? FileManager.default.removeItem(atPath: target)
        } else {
          reporter?.message("\(file.name): present and verified")
          continue
        }
      }
      try fetch(file, to: target, from: mirrors, source: source, dataset: dataset, folder: folder)
    }
    if let unpacked = source.unpacksTo, let archive = source.files.first {
      try unpack((folder as NSString).appendingPathComponent(archive.name), holding: unpacked, into: folder)
    }
  }

  /// Fetches one file from the first mirror that gives it whole.
  private func fetch(
    _ file: RemoteFile, to target: String, from mirrors: [String], source: DatasetSource, dataset: String,
    folder: String
  ) throws {
    let part = target + ".part"
    var failures: [String] = []
    for mirror in mirrors {
      let url = mirror + file.name
      // A cut connection is resumed from where it stopped, as long as each try brings more bytes.
      var lastSize = -1
      var outcome: String?
      while true {
        if Self.size(part) > file.bytes { try? FileManager.default.removeItem(atPath: part) }
        let size = Self.size(part)
        // A part that is whole (a run stopped before renaming it) only needs checking.
        guard size > lastSize, size < file.bytes else { break }
        lastSize = size
        outcome = transfer(url, to: part, expected: file.bytes, name: file.name)
        guard outcome == "cut" else { break }
      }
      if let outcome, outcome != "cut" {
        failures.append("\(url): \(outcome)")
        continue
      }
      if let problem = try Self.check(part, against: file) {
        failures.append("\(url): \(problem)")
        try? FileManager.default.removeItem(atPath: part)
        continue
      }
      guard rename(part, target) == 0 else {
        throw TrainingError("cannot rename \(part) to \(target): \(String(cString: strerror(errno)))")
      }
      reporter?.message("\(file.name): \(MemoryBudget.format(Double(file.bytes))) from \(mirror), SHA-256 verified")
      return
    }
    // Bytes that came are kept for the next try to resume from; an empty part is not.
    if Self.size(part) == 0 { try? FileManager.default.removeItem(atPath: part) }
    let names = source.files.map(\.name).joined(separator: ", ")
    throw TrainingError(
      "could not download \(file.name) of \(dataset):\n  " + failures.joined(separator: "\n  ")
        + "\nWith no network, put \(names) by hand into \(folder) (from \(source.mirrors[0])), or serve them "
        + "from a machine that has them and pass --mirror URL (or set \(Self.mirrorVariable))")
  }

  /// One HTTP request for `url` from the end of `part` on, appending to it: nil when the file is complete, "cut"
  /// when the connection broke after some bytes came, or what went wrong.
  private func transfer(_ url: String, to part: String, expected: Int, name: String) -> String? {
    guard let address = URL(string: url) else { return "not a URL" }
    if !FileManager.default.fileExists(atPath: part) { _ = FileManager.default.createFile(atPath: part, contents: nil) }
    guard let output = FileHandle(forWritingAtPath: part) else { return "cannot write \(part)" }
    defer { try? output.close() }
    let offset = Self.size(part)
    var request = URLRequest(url: address, timeoutInterval: timeout)
    if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
    let transfer = Transfer(output: output, offset: offset) { [reporter] received, seconds in
      let rate = Double(received - offset) / max(seconds, 1e-3)
      let done = MemoryBudget.format(Double(received))
      reporter?.status(
        "\(name): \(done) of \(MemoryBudget.format(Double(expected)))  \(MemoryBudget.format(rate))/s"
          + (rate > 0 ? "  ETA \(ProgressReporter.duration(Double(expected - received) / rate))" : ""))
    }
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = timeout
    let session = URLSession(configuration: configuration, delegate: transfer, delegateQueue: nil)
    session.dataTask(with: request).resume()
    transfer.done.wait()
    session.finishTasksAndInvalidate()
    reporter?.clear()
    if let problem = transfer.problem { return problem }
    if let status = transfer.status, status != 200 && status != 206 { return "HTTP \(status)" }
    if let error = transfer.error {
      return transfer.received > offset ? "cut" : "\((error as NSError).localizedDescription)"
    }
    return Self.size(part) < expected && transfer.received > offset ? "cut" : nil
  }

  /// Why the file at `path` is not `file` (its size, SHA-256 or MD5 differs), or nil when it is.
  static func check(_ path: String, against file: RemoteFile) throws -> String? {
    let size = Self.size(path)
    guard size == file.bytes else { return "\(size) bytes where \(file.bytes) were expected" }
    guard let input = FileHandle(forReadingAtPath: path) else { return "cannot be read" }
    defer { try? input.close() }
    var (sha256, md5) = (SHA256(), Insecure.MD5())
    while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
      sha256.update(data: chunk)
      md5.update(data: chunk)
    }
    if hexDigits(sha256.finalize()) != file.sha256 { return "its SHA-256 is not the published one (corrupt)" }
    if let expected = file.md5, hexDigits(md5.finalize()) != expected {
      return "its MD5 is not the published one (corrupt)"
    }
    return nil
  }

  /// Unpacks the verified `archive` with the system's `tar` into a staging folder, then renames the folder it holds
  /// into place, so that a half-unpacked archive is never taken for the dataset.
  private func unpack(_ archive: String, holding unpacked: String, into folder: String) throws {
    let destination = (folder as NSString).appendingPathComponent(unpacked)
    if FileManager.default.fileExists(atPath: destination) { return }
    let staging = (folder as NSString).appendingPathComponent(".unpack-\(getpid())")
    try? FileManager.default.removeItem(atPath: staging)
    defer { try? FileManager.default.removeItem(atPath: staging) }
    try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
    let tar = Process()
    tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    tar.arguments = ["tar", "-xzf", archive, "-C", staging]
    do { try tar.run() } catch { throw TrainingError("cannot run tar to unpack \(archive): \(error)") }
    tar.waitUntilExit()
    let inside = (staging as NSString).appendingPathComponent(unpacked)
    guard tar.terminationStatus == 0, FileManager.default.fileExists(atPath: inside) else {
      throw TrainingError(
        "tar could not unpack \(archive) (exit \(tar.terminationStatus)), or it holds no \(unpacked)/")
    }
    guard rename(inside, destination) == 0 else {
      throw TrainingError("cannot move \(inside) to \(destination): \(String(cString: strerror(errno)))")
    }
    reporter?.message("\((archive as NSString).lastPathComponent): unpacked into \(destination)")
  }

  /// The size of the file at `path`, 0 when there is none.
  private static func size(_ path: String) -> Int {
    var status = stat()
    return stat(path, &status) == 0 ? Int(status.st_size) : 0
  }
}

/// One request's delegate: appends the body to the file, and says how it ended. (URLSession calls it on its own
/// queue, one callback at a time; the caller reads it after `done`.)
private final class Transfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
  let output: FileHandle
  let offset: Int
  let progress: (_ received: Int, _ seconds: Double) -> Void
  let done = DispatchSemaphore(value: 0)
  let start = DispatchTime.now().uptimeNanoseconds
  var status: Int?
  var error: Error?
  var problem: String?
  /// Bytes in the file: the offset it started from plus what came.
  var received: Int

  init(output: FileHandle, offset: Int, progress: @escaping (Int, Double) -> Void) {
    (self.output, self.offset, self.progress, received) = (output, offset, progress, offset)
  }

  func urlSession(
    _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
  ) {
    status = (response as? HTTPURLResponse)?.statusCode
    do {
      if status == 200 {
        // The whole file (a server that ignores ranges sends it all again): start the part over.
        try output.truncate(atOffset: 0)
        received = 0
      } else {
        try output.seekToEnd()
      }
    } catch {
      problem = "cannot write: \(error.localizedDescription)"
    }
    completionHandler(problem == nil && (status == 200 || status == 206) ? .allow : .cancel)
  }

  func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
    // An error page's body (the task is being cancelled) is not the file.
    guard problem == nil, status == 200 || status == 206 else { return }
    do { try output.write(contentsOf: data) } catch {
      problem = "cannot write: \(error.localizedDescription)"
      dataTask.cancel()
      return
    }
    received += data.count
    progress(received, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
  }

  func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
    self.error = error
    done.signal()
  }
}

extension Downloader {
  /// The folder that holds `dataset`'s files: `dataDir` (default: the dataset's default folder) when they are there,
  /// else where they are downloaded to. Fashion-MNIST without Debian's package (and no `dataDir`) goes to
  /// `data/fashion-mnist`, since its default folder belongs to the package.
  /// - Throws: `TrainingError` for FOLDER (a user's own images) or a download that fails.
  public func ensure(_ dataset: DatasetName, dataDir: String?) throws -> String {
    guard let source = DatasetSource.of(dataset) else {
      throw TrainingError("--download: FOLDER is a folder of your own PNGs; there is nothing to download")
    }
    var dir = dataDir ?? dataset.defaultDataDirectory
    if dataset == .fashionMNIST && dataDir == nil && !datasetFilesPresent(dataset, dataDir: dir) {
      dir = "data/fashion-mnist"
    }
    if datasetFilesPresent(dataset, dataDir: dir) {
      reporter?.message("\(dataset.rawValue): present in \(dir)")
      return dir
    }
    try fetch(source, into: dir, dataset: dataset.rawValue)
    return dir
  }
}

/// A digest as lower-case hex, as checksums are published and `latents.json` records them.
func hexDigits<Digest: Sequence<UInt8>>(_ digest: Digest) -> String {
  digest.map { String(format: "%02x", $0) }.joined()
}
