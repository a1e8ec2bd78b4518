import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import DataFiles

/// The `.npy` writer and reader: round trips, NumPy's own reading of our files, and every malformed file rejected
/// with an error that names the problem.
final class NPYTests: FolderTestCase {
  /// A hand-built file: magic, version, header length (2 bytes for 1.x, 4 for 2.x), header, data.
  private func file(header: String, data: [UInt8], version: (UInt8, UInt8) = (1, 0), length: Int? = nil) -> [UInt8] {
    let text = Array(header.utf8)
    let n = length ?? text.count
    let lengthBytes =
      version.0 == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF)] : (0..<4).map { UInt8(n >> (8 * $0) & 0xFF) }
    return [0x93] + Array("NUMPY".utf8) + [version.0, version.1] + lengthBytes + text + data
  }

  private func int64Bytes(_ values: [Int64]) -> [UInt8] {
    values.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
  }

  func testRoundTripKeepsValuesAndShapeAndAlignsTheData() throws {
    let values = (0..<(3 * 2 * 4)).map { $0 * 37 - 400 } + []
    let bytes = NPY.encode(values, shape: [3, 2, 4])
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    XCTAssertEqual((10 + headerLength) % 64, 0, "data starts 64-byte aligned")
    XCTAssertEqual(bytes[10 + headerLength - 1], UInt8(ascii: "\n"))
    XCTAssertEqual(bytes.count, 10 + headerLength + 8 * values.count)
    let (decoded, shape) = try NPY.decode(bytes, source: "mem")
    XCTAssertEqual(decoded, values)
    XCTAssertEqual(shape, [3, 2, 4])

    try NPY.write([7, 8, 9], shape: [3], to: path("v.npy"))
    let back = try NPY.read(contentsOf: path("v.npy"))
    XCTAssertEqual(back.values, [7, 8, 9])
    XCTAssertEqual(back.shape, [3])
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["v.npy"], "no temporary left")
  }

  func testReadsWhatNumPyWritesInOtherIntegerTypesAndVersion2() throws {
    let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }\n"
    let data: [UInt8] = [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 2, 1, 0, 0, 0, 0, 0, 0x80]
    XCTAssertEqual(try NPY.decode(file(header: header, data: data), source: "i4").values, [1, -1, 258, Int(Int32.min)])
    let bytesHeader = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }\n"
    XCTAssertEqual(
      try NPY.decode(file(header: bytesHeader, data: [0, 128, 255], version: (2, 0)), source: "u1").values,
      [0, 128, 255])
    let scalar = "{'descr': '<i8', 'fortran_order': False, 'shape': (), }\n"
    let decoded = try NPY.decode(file(header: scalar, data: int64Bytes([42])), source: "scalar")
    XCTAssertEqual(decoded.values, [42])
    XCTAssertEqual(decoded.shape, [])
  }

  func testMalformedFilesAreRejectedWithTheReason() throws {
    let good = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }\n"
    let data = int64Bytes([1, 2, 3, 4, 5, 6])
    let cases: [([UInt8], String)] = [
      (Array("PK\u{3}\u{4}not numpy at all".utf8), "magic"),
      ([0x93] + Array("NUMP".utf8), "magic"),
      (file(header: good, data: data, version: (3, 0)), "unsupported .npy version 3.0"),
      (file(header: good.replacingOccurrences(of: "<i8", with: "<f4"), data: data), "unsupported dtype '<f4'"),
      (file(header: good.replacingOccurrences(of: "<i8", with: ">i8"), data: data), "unsupported dtype '>i8'"),
      (file(header: good.replacingOccurrences(of: "False", with: "True"), data: data), "Fortran-order"),
      (file(header: good, data: Array(data.prefix(40))), "truncated: shape [2, 3] needs 48 data bytes but only 40"),
      (file(header: good, data: data + int64Bytes([7])), "shape [2, 3] needs 48 data bytes but 56 are stored"),
      (file(header: good.replacingOccurrences(of: "(2, 3)", with: "(2, 4)"), data: data), "needs 64 data bytes"),
      (file(header: good, data: data, version: (2, 0), length: 1 << 30), "header length 1073741824 bytes is absurd"),
      (file(header: good, data: [], length: 60_000), "runs past the end"),
      (file(header: "{'fortran_order': False, 'shape': (2, 3), }\n", data: data), "lacks 'descr'"),
      (file(header: "{'descr': '<i8', 'fortran_order': False, 'shape': (2, x), }\n", data: data), "bad dimension 'x'"),
      (file(header: "not a dict\n", data: data), "not a Python dict"),
      // Found by fuzzing: dimensions whose product overflows, then a 0 that made the overflow check pass.
      (
        file(
          header: good.replacingOccurrences(of: "(2, 3)", with: "(777777776, 88, 8888888, 888, 8, 8888, 0, 8)"),
          data: []),
        "absurdly large"
      ),
    ]
    for (bytes, fragment) in cases {
      DataTestSupport.assertThrows(["bad.npy", fragment]) { _ = try NPY.decode(bytes, source: "bad.npy") }
    }
    DataTestSupport.assertThrows(["missing.npy", "file not found"]) {
      _ = try NPY.read(contentsOf: path("missing.npy"))
    }
  }

  /// NumPy, an independent reader, loads our file with no flags: same dtype, shape and values.
  func testNumPyLoadsOurFiles() throws {
    let values = (0..<(5 * 8 * 8)).map { ($0 * 7919) % 512 }
    try NPY.write(values, shape: [5, 8, 8], to: path("indices.npy"))
    let script = """
      import sys
      try:
          import numpy as np
      except ImportError:
          print("no numpy"); sys.exit(0)
      a = np.load(sys.argv[1])
      print(a.dtype, a.shape, a.flags['C_CONTIGUOUS'], int(a.sum()), int(a[4, 7, 7]), int(a[1, 2, 3]))
      """
    guard let output = try DataTestSupport.python(script, [path("indices.npy")]), output != "no numpy" else {
      throw XCTSkip("python3 with numpy is not installed; skipping the NumPy cross-check")
    }
    XCTAssertEqual(output, "int64 (5, 8, 8) True \(values.reduce(0, +)) \(values[319]) \(values[64 + 16 + 3])")
  }
}
