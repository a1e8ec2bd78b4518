import Foundation
import TestSupport
import XCTest

@testable import TensorEngine

/// The toolkit's one reader and its atomic writers: a file or a folder is replaced whole or not at all.
final class FileIOTests: FolderTestCase {
  private func names(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
  }

  func testWritesLeaveTheOldFileOrTheNewOneAndNoTemporaryFile() throws {
    let file = path("a.bin")
    try FileIO.writeAtomically([1, 2, 3], to: file)
    try FileIO.writeAtomically([4, 5], to: file)
    XCTAssertEqual(try FileIO.read(file), [4, 5])
    XCTAssertThrowsError(try FileIO.writeAtomically([6], to: path("missing/a.bin"))) { error in
      XCTAssertTrue("\(error)".contains("cannot create \(path("missing/a.bin")).tmp-"), "\(error)")
    }
    XCTAssertEqual(names(folder), ["a.bin"])
  }

  func testAStreamedWriteStoppedHalfwayLeavesTheOldFile() throws {
    let file = path("b.bin")
    try FileIO.writeAtomically([9], to: file)
    struct Stop: Error {}
    XCTAssertThrowsError(
      try FileIO.writeAtomically(to: file) { append in
        try [UInt8](repeating: 7, count: 1 << 20).withUnsafeBytes { try append($0) }
        throw Stop()
      }
    ) { XCTAssertTrue($0 is Stop, "\($0)") }
    XCTAssertEqual(try FileIO.read(file), [9])
    XCTAssertEqual(names(folder), ["b.bin"], "no temporary file is left")
    try FileIO.writeAtomically(to: file) { append in
      for part: [UInt8] in [[1, 2], [], [3]] { try part.withUnsafeBytes { try append($0) } }
    }
    XCTAssertEqual(try FileIO.read(file), [1, 2, 3])
  }

  func testPipesAndDevicesAreRefusedRatherThanReadForever() throws {
    let pipe = path("pipe")
    XCTAssertEqual(mkfifo(pipe, 0o644), 0)
    // No writer: a blocking open would wait forever.
    XCTAssertThrowsError(try FileIO.read(pipe)) { XCTAssertEqual("\($0)", "\(pipe): is a pipe, expected a file") }
    // /dev/zero has no end: it would be read until memory ran out.
    XCTAssertThrowsError(try FileIO.read("/dev/zero")) {
      XCTAssertEqual("\($0)", "/dev/zero: is a device, expected a file")
    }
    XCTAssertThrowsError(try FileIO.read(folder)) { XCTAssertEqual("\($0)", "\(folder): is a folder, expected a file") }
    XCTAssertNoThrow(try FileIO.requireRegularFile("/etc/hostname"))
    // A (sparse) file larger than this machine's memory is refused before a byte is read.
    let huge = path("huge")
    XCTAssertTrue(FileManager.default.createFile(atPath: huge, contents: nil))
    XCTAssertEqual(truncate(huge, 1 << 42), 0)
    XCTAssertThrowsError(try FileIO.read(huge)) {
      XCTAssertTrue("\($0)".hasPrefix("\(huge): needs 4 TiB for reading it; this machine has"), "\($0)")
    }
    try FileManager.default.removeItem(atPath: huge)
    // Nor is one replaced by an output: a rename over a device node would swap it for a file (as root).
    XCTAssertThrowsError(try FileIO.writeAtomically([1], to: pipe)) {
      XCTAssertEqual("\($0)", "\(pipe): is a pipe, expected a file")
    }
    XCTAssertEqual(names(folder), ["pipe"])
  }

  func testAFolderIsReplacedWholeOrNotAtAll() throws {
    let target = path("latents")
    try FileIO.replaceFolder(at: target) { staged in
      try FileIO.writeAtomically([1], to: staged + "/one")
      try FileIO.writeAtomically([2], to: staged + "/two")
    }
    XCTAssertEqual(names(target), ["one", "two"])
    // A fill cut short (a full disk, say) leaves the old folder and no staging folder.
    struct Full: Error {}
    XCTAssertThrowsError(
      try FileIO.replaceFolder(at: target) { staged in
        try FileIO.writeAtomically([3], to: staged + "/one")
        throw Full()
      })
    XCTAssertEqual(names(target), ["one", "two"])
    XCTAssertEqual(try FileIO.read(target + "/one"), [1])
    XCTAssertEqual(names(folder), ["latents"])
    // A staging folder left by a killed process (no such pid) is removed; the new folder replaces the old.
    let dead = path("latents.tmp-2147483646")
    try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
    try FileIO.replaceFolder(at: target) { staged in try FileIO.writeAtomically([9], to: staged + "/nine") }
    XCTAssertEqual(names(target), ["nine"])
    XCTAssertEqual(names(folder), ["latents"])
  }
}
