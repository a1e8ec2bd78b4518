import CZlib
import Foundation
import XCTest

/// Helpers every test target shares: temporary folders and tiny hand-made files.
public enum DataTestSupport {
  /// A fresh empty folder under the system temporary directory.
  public static func makeTemporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "vqvae-data-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Writes `bytes` to `path`, gzipped through zlib's gzopen/gzwrite when `gzip` is set.
  public static func write(_ bytes: [UInt8], to path: String, gzip: Bool = false) throws {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    guard gzip else {
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      return
    }
    guard let file = gzopen(path, "wb") else { throw CocoaError(.fileWriteUnknown) }
    let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
    XCTAssertEqual(gzclose(file), Z_OK)
    XCTAssertEqual(Int(written), bytes.count)
  }

  /// An IDX file: big-endian magic and dimensions, then the data bytes.
  public static func idx(magic: UInt32, dimensions: [Int], data: [UInt8]) -> [UInt8] {
    let words = [Int(magic)] + dimensions
    return words.flatMap { w in [24, 16, 8, 0].map { UInt8((w >> $0) & 0xFF) } } + data
  }

  /// Deterministic pseudo-random bytes (a linear congruential generator; tests need variety, not quality).
  public static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt8(truncatingIfNeeded: state >> 56)
    }
  }

  /// Asserts that `body` throws an error whose description contains every fragment.
  public static func assertThrows(
    _ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
  ) {
    do {
      try body()
      XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch {
      let message = "\(error)"
      for fragment in fragments where !message.contains(fragment) {
        XCTFail("error \"\(message)\" lacks \"\(fragment)\"", file: file, line: line)
      }
    }
  }

  /// Runs `python3 -c script args...` and returns its standard output; nil when there is no python3 to run
  /// (`env` exits with 127). Any other failure fails the test.
  public static func python(_ script: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line)
    throws -> String?
  {
    try python(arguments: ["-c", script] + arguments, file: file, line: line)
  }

  /// Runs `python3 arguments...` (a script file and its arguments, say); as `python(_:_:)` otherwise.
  public static func python(arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus == 127 { return nil }
    XCTAssertEqual(process.terminationStatus, 0, "python3 failed", file: file, line: line)
    return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

/// Asserts two float arrays agree within `absolute + relative · |expected|` elementwise.
public func assertClose(
  _ actual: [Float], _ expected: [Float], absolute: Float = 1e-5, relative: Float = 1e-4, _ what: String = "",
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.count, expected.count, "\(what): counts differ", file: file, line: line)
  for i in 0..<min(actual.count, expected.count)
  where abs(actual[i] - expected[i]) > absolute + relative * abs(expected[i]) {
    XCTFail("\(what) element \(i): \(actual[i]) vs expected \(expected[i])", file: file, line: line)
    return
  }
}

/// A test case with a fresh temporary folder per test, removed afterwards.
open class FolderTestCase: XCTestCase {
  /// The test's folder.
  public private(set) var folder = ""

  override open func setUpWithError() throws { folder = try DataTestSupport.makeTemporaryFolder() }
  override open func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  /// `name` inside the folder.
  public func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
}
