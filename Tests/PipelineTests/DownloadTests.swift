import Crypto
import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// Downloads from HTTP servers on 127.0.0.1 (a Python `http.server` that can also cut a connection half way, corrupt
/// a file or answer 404): a good download, a corrupted file rejected and taken from the next mirror, a cut
/// connection resumed, a 404 moving on, and no server at all giving the message that says where to put the files.
/// Nothing reaches beyond the loopback address.
final class DownloadTests: FolderTestCase {
  private var server: Process?
  private var base = ""
  private var source = DatasetSource(mirrors: [], files: [])

  /// The server: `/<mode>/<name>` serves `files/<name>`, `good` as it is, `corrupt` with its first byte flipped,
  /// `cut` closing the connection half way through a request from the start, `missing` as 404. Every request is
  /// logged to `requests.log` as `<path> <Range header>`.
  private static let serverScript = """
    import http.server, os, socket, sys
    root = sys.argv[1]
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass
        def do_GET(self):
            with open(os.path.join(root, "requests.log"), "a") as log:
                log.write(f"{self.path} {self.headers.get('Range', '-')}\\n")
            mode, _, name = self.path.lstrip("/").partition("/")
            path = os.path.join(root, "files", name)
            if mode == "missing" or not os.path.isfile(path):
                self.send_error(404)
                return
            data = open(path, "rb").read()
            if mode == "corrupt":
                data = bytes([data[0] ^ 1]) + data[1:]
            start = 0
            if self.headers.get("Range"):
                start = int(self.headers["Range"].split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            if mode == "cut" and start == 0:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(data[start:])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """

  override func setUpWithError() throws {
    try super.setUpWithError()
    try FileManager.default.createDirectory(atPath: path("server/files"), withIntermediateDirectories: true)
    // Two files of a made-up dataset, one large enough to come in many pieces.
    var files: [RemoteFile] = []
    for (name, count) in [("images.gz", 3_000_000), ("labels.gz", 5_000)] {
      let bytes = DataTestSupport.bytes(count, seed: UInt64(count))
      try Data(bytes).write(to: URL(fileURLWithPath: path("server/files/\(name)")))
      let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
      let md5 = Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
      files.append(RemoteFile(name: name, bytes: count, sha256: sha, md5: md5))
    }
    source = DatasetSource(mirrors: ["http://example.invalid/never-used/"], files: files)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", Self.serverScript, path("server")]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    server = process
    let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
    let port = try XCTUnwrap(Int(line.trimmingCharacters(in: .whitespacesAndNewlines)), "server port: \(line)")
    base = "http://127.0.0.1:\(port)"
  }

  override func tearDownWithError() throws {
    server?.terminate()
    server?.waitUntilExit()
    try super.tearDownWithError()
  }

  private var requests: [String] {
    ((try? String(contentsOfFile: path("server/requests.log"), encoding: .utf8)) ?? "").split(separator: "\n")
      .map(String.init)
  }

  private func assertFilesArrived(in folder: String, file: StaticString = #filePath, line: UInt = #line) throws {
    for remote in source.files {
      XCTAssertEqual(
        try FileIO.read("\(folder)/\(remote.name)"), try FileIO.read(path("server/files/\(remote.name)")),
        remote.name, file: file, line: line)
    }
    let left = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".part") }
    XCTAssertEqual(left, [], "no part file is left", file: file, line: line)
  }

  func testAGoodMirrorGivesVerifiedFilesAndASecondRunFetchesNothing() throws {
    let downloader = Downloader(mirrors: ["\(base)/good"])
    try downloader.fetch(source, into: path("data"), dataset: "TOY")
    try assertFilesArrived(in: path("data"))
    XCTAssertEqual(requests, ["/good/images.gz -", "/good/labels.gz -"])
    try downloader.fetch(source, into: path("data"), dataset: "TOY")
    XCTAssertEqual(requests.count, 2, "files that are there and whole are not fetched again")
  }

  func testACorruptedFileIsRejectedAndTakenFromTheNextMirror() throws {
    try Downloader(mirrors: ["\(base)/corrupt", "\(base)/good"]).fetch(source, into: path("data"), dataset: "TOY")
    try assertFilesArrived(in: path("data"))
    XCTAssertEqual(
      requests, ["/corrupt/images.gz -", "/good/images.gz -", "/corrupt/labels.gz -", "/good/labels.gz -"])
    // A file on disk that does not match is fetched again, not trusted.
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path("data/labels.gz")))
    try Downloader(mirrors: ["\(base)/good"]).fetch(source, into: path("data"), dataset: "TOY")
    try assertFilesArrived(in: path("data"))
  }

  func testACutConnectionIsResumedWhereItStopped() throws {
    try Downloader(mirrors: ["\(base)/cut"]).fetch(source, into: path("data"), dataset: "TOY")
    try assertFilesArrived(in: path("data"))
    let images = requests.filter { $0.hasPrefix("/cut/images.gz") }
    XCTAssertEqual(images.count, 2, "\(requests)")
    XCTAssertEqual(images.first, "/cut/images.gz -")
    let resumedAt = try XCTUnwrap(Int(images[1].split(separator: "=")[1].dropLast()))
    XCTAssertGreaterThan(resumedAt, 0, "the second request asks for the rest: \(images[1])")
    XCTAssertLessThanOrEqual(resumedAt, 1_500_000)
  }

  func testA404MovesToTheNextMirror() throws {
    try Downloader(mirrors: ["\(base)/missing", "\(base)/good"]).fetch(source, into: path("data"), dataset: "TOY")
    try assertFilesArrived(in: path("data"))
    XCTAssertEqual(requests.filter { $0.hasPrefix("/missing/") }.count, 2)
  }

  func testNoServerAtAllSaysWhereToPutTheFiles() throws {
    server?.terminate()
    server?.waitUntilExit()
    DataTestSupport.assertThrows([
      "could not download images.gz of TOY", "\(base)/good/images.gz:", "put images.gz, labels.gz by hand into",
      path("data"), "--mirror URL", "VQVAE_DATA_MIRROR",
    ]) {
      try Downloader(mirrors: ["\(base)/good"]).fetch(source, into: path("data"), dataset: "TOY")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("data")), "nothing half-made, not even the folder")
  }

  func testAnArchiveIsUnpackedWholeOrNotAtAll() throws {
    // A CIFAR-10-like archive: a folder of batches, as cifar-10-binary.tar.gz holds.
    try FileManager.default.createDirectory(atPath: path("pack/batches"), withIntermediateDirectories: true)
    for name in ["data_batch_1.bin", "test_batch.bin"] {
      try Data(DataTestSupport.bytes(3073 * 2, seed: 5)).write(to: URL(fileURLWithPath: path("pack/batches/\(name)")))
    }
    let tar = Process()
    tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    tar.arguments = ["tar", "-czf", path("server/files/toy.tar.gz"), "-C", path("pack"), "batches"]
    try tar.run()
    tar.waitUntilExit()
    XCTAssertEqual(tar.terminationStatus, 0)
    let bytes = try FileIO.read(path("server/files/toy.tar.gz"))
    let archive = RemoteFile(
      name: "toy.tar.gz", bytes: bytes.count,
      sha256: SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
    let packed = DatasetSource(mirrors: [], files: [archive], unpacksTo: "batches")
    try Downloader(mirrors: ["\(base)/good"]).fetch(packed, into: path("data"), dataset: "TOY")
    XCTAssertEqual(
      try FileIO.read(path("data/batches/test_batch.bin")), try FileIO.read(path("pack/batches/test_batch.bin")))
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: path("data")).sorted(), ["batches", "toy.tar.gz"])
  }

  func testTheDownloadCommandWithNoServerFailsWithTheMessage() throws {
    server?.terminate()
    server?.waitUntilExit()
    let result = try CommandRunner.run("vqvae-tools", ["download", "MNIST", path("mnist"), "--mirror", "\(base)/good"])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.output.contains("put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz"), result.output)
    XCTAssertTrue(result.output.contains("\(base)/good/train-images-idx3-ubyte.gz: "), result.output)
    XCTAssertFalse(
      result.output.contains("amazonaws.com/mnist/train-images-idx3-ubyte.gz: "),
      "--mirror replaces the official mirrors: \(result.output)")
  }

  func testTheCatalogNamesEveryFileWithItsSizeAndDigests() {
    for dataset in [DatasetName.mnist, .fashionMNIST, .cifar10] {
      let source = DatasetSource.of(dataset)!
      XCTAssertGreaterThanOrEqual(source.mirrors.count, 1)
      for file in source.files {
        XCTAssertEqual(file.sha256.count, 64, file.name)
        XCTAssertEqual(file.md5?.count, 32, file.name)
        XCTAssertGreaterThan(file.bytes, 4000, file.name)
      }
    }
    XCTAssertNil(DatasetSource.of(.folder))
    XCTAssertEqual(DatasetSource.of(.cifar10)?.unpacksTo, "cifar-10-batches-bin")
  }
}
