import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import DataFiles

/// SHA-256 against FIPS 180-4's examples and, where installed, coreutils' sha256sum.
final class SHA256Tests: XCTestCase {
  func testKnownDigests() {
    XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    // 56 bytes: the padding spills into a second block.
    XCTAssertEqual(
      SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    XCTAssertEqual(
      SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  func testMatchesSha256sumOnEveryLengthAroundABlock() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") else {
      throw XCTSkip("sha256sum is not installed")
    }
    let folder = try DataTestSupport.makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    for length in [1, 55, 63, 64, 65, 119, 1000] {
      let bytes = DataTestSupport.bytes(length, seed: UInt64(length))
      let path = (folder as NSString).appendingPathComponent("f\(length)")
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
      process.arguments = [path]
      let pipe = Pipe()
      process.standardOutput = pipe
      try process.run()
      let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      XCTAssertEqual(String(output.prefix(64)), SHA256.hex(bytes), "length \(length)")
    }
  }
}
