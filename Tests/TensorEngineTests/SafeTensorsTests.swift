import Foundation
import XCTest

@testable import TensorEngine

final class SafeTensorsTests: XCTestCase {
  // MARK: Helpers

  private func littleEndian(_ value: UInt64) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
  }

  /// A file with the given header text (unpadded) and data buffer.
  private func file(_ header: String, data: [UInt8] = []) -> [UInt8] {
    let headerBytes = Array(header.utf8)
    return littleEndian(UInt64(headerBytes.count)) + headerBytes + data
  }

  /// A file holding the single tensor `"w": {dtype, shape, data_offsets}` with the given JSON fields.
  private func file(w fields: String, dataCount: Int = 8) -> [UInt8] {
    file(#"{"w":{\#(fields)}}"#, data: [UInt8](repeating: 0, count: dataCount))
  }

  private func assertRejects(
    _ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertThrowsError(try SafeTensors(bytes: bytes, source: "bad.safetensors"), file: file, line: line) { error in
      guard let error = error as? FileError else {
        return XCTFail("unexpected error type: \(error)", file: file, line: line)
      }
      XCTAssertEqual(error.path, "bad.safetensors", file: file, line: line)
      XCTAssertTrue(
        error.message.contains(fragment), "'\(error.message)' lacks '\(fragment)'", file: file, line: line)
    }
  }

  private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
  }

  /// A set exercising both dtypes, a scalar, zero-size tensors and metadata needing JSON escapes.
  private func sample() -> SafeTensors {
    var tensors = SafeTensors(metadata: [
      "op": "conv2d", "quote\"back\\slash": "line\nbreak\ttab\u{01}ctrl", "unicode": "é😀", "empty": "",
    ])
    tensors.add("enc.weight", floats: (0..<24).map { Float($0) * 0.5 - 3 }, shape: [2, 3, 4])
    tensors.add("enc.bias", floats: [.infinity, -.infinity, -0.0, .leastNonzeroMagnitude], shape: [4])
    tensors.add("scalar", floats: [42.25], shape: [])
    tensors.add("empty", floats: [], shape: [0, 3])
    tensors.add("indices", int64s: [0, -1, .max, .min, 7], shape: [5])
    tensors.add("no_indices", int64s: [], shape: [2, 0])
    return tensors
  }

  private func assertSameContents(
    _ a: SafeTensors, _ b: SafeTensors, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    XCTAssertEqual(a.names, b.names, file: file, line: line)
    XCTAssertEqual(a.metadata, b.metadata, file: file, line: line)
    for name in a.names {
      let entry = try XCTUnwrap(a.entry(name), file: file, line: line)
      XCTAssertEqual(entry, b.entry(name), name, file: file, line: line)
      switch entry.dtype {
      case .float32:
        // Compare bit patterns so -0.0 and infinities are checked exactly.
        XCTAssertEqual(
          try a.floats(name).map(\.bitPattern), try b.floats(name).map(\.bitPattern), name, file: file, line: line)
      case .int64: XCTAssertEqual(try a.int64s(name), try b.int64s(name), name, file: file, line: line)
      }
    }
  }

  // MARK: Round trips and determinism

  func testRoundTripBothDTypesWithMetadata() throws {
    let original = sample()
    let parsed = try SafeTensors(bytes: try original.serialized(), source: "mem")
    try assertSameContents(original, parsed)
    XCTAssertEqual(parsed.names, ["empty", "enc.bias", "enc.weight", "indices", "no_indices", "scalar"])
    XCTAssertEqual(parsed.entry("scalar"), SafeTensors.Entry(dtype: .float32, shape: []))
    XCTAssertEqual(try parsed.floats("scalar"), [42.25])
    XCTAssertEqual(parsed.entry("empty"), SafeTensors.Entry(dtype: .float32, shape: [0, 3]))
    XCTAssertEqual(try parsed.floats("empty"), [])
    XCTAssertEqual(parsed.entry("no_indices"), SafeTensors.Entry(dtype: .int64, shape: [2, 0]))
    XCTAssertEqual(try parsed.int64s("indices"), [0, -1, .max, .min, 7])
    XCTAssertEqual(parsed.metadata["quote\"back\\slash"], "line\nbreak\ttab\u{01}ctrl")
    XCTAssertEqual(parsed.metadata["unicode"], "é😀")
    XCTAssertNil(parsed.entry("missing"))
  }

  func testRoundTripThroughFile() throws {
    let path = try temporaryDirectory().appendingPathComponent("model.safetensors").path
    let original = sample()
    try original.write(to: path)
    try assertSameContents(original, try SafeTensors.read(contentsOf: path))
  }

  func testEmptySetRoundTrips() throws {
    let bytes = try SafeTensors().serialized()
    XCTAssertEqual(bytes, littleEndian(8) + Array("{}      ".utf8))
    let parsed = try SafeTensors(bytes: bytes, source: "mem")
    XCTAssertEqual(parsed.names, [])
    XCTAssertEqual(parsed.metadata, [:])
  }

  func testSerializationIsDeterministic() throws {
    var forward = SafeTensors(metadata: ["b": "2", "a": "1", "c": "3"])
    var backward = SafeTensors(metadata: ["c": "3", "a": "1", "b": "2"])
    let items: [(String, [Float])] = (0..<20).map { ("t\($0)", [Float($0), 1]) }
    for (name, values) in items { forward.add(name, floats: values, shape: [2]) }
    for (name, values) in items.reversed() { backward.add(name, floats: values, shape: [2]) }
    try XCTAssertEqual(forward.serialized(), try backward.serialized())
    try XCTAssertEqual(forward.serialized(), try forward.serialized())
    XCTAssertEqual(
      try SafeTensors(bytes: try forward.serialized(), source: "mem").serialized(), try forward.serialized())
  }

  func testWriterMatchesHandBuiltReference() throws {
    var tensors = SafeTensors(metadata: ["k": "v\""])
    tensors.add("b", int64s: [7], shape: [1])
    tensors.add("a", floats: [1, -2], shape: [2])
    let header =
      #"{"__metadata__":{"k":"v\""},"a":{"data_offsets":[0,8],"dtype":"F32","shape":[2]},"#
      + #""b":{"data_offsets":[8,16],"dtype":"I64","shape":[1]}}"# + " "
    XCTAssertEqual(header.utf8.count, 136)
    let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0, 7, 0, 0, 0, 0, 0, 0, 0]
    try XCTAssertEqual(tensors.serialized(), littleEndian(136) + Array(header.utf8) + data)
  }

  func testHeaderIsPaddedToMultipleOfEight() throws {
    for length in 1...12 {
      var tensors = SafeTensors()
      tensors.add(String(repeating: "x", count: length), floats: [1], shape: [1])
      let bytes = try tensors.serialized()
      let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
      XCTAssertEqual(headerLength % 8, 0, "name length \(length)")
      XCTAssertEqual(bytes.count, 8 + headerLength + 4)
      let padding = bytes[8..<8 + headerLength].reversed().prefix { $0 == UInt8(ascii: " ") }.count
      XCTAssertLessThan(padding, 8)
      XCTAssertEqual(bytes[8 + headerLength - padding - 1], UInt8(ascii: "}"))
    }
  }

  func testLargeTensorRoundTrip() throws {
    // About the size of a real 3 MB checkpoint.
    let values = (0..<786_432).map { Float($0 % 1000) * 0.001 }
    var tensors = SafeTensors()
    tensors.add("big", floats: values, shape: [768, 1024])
    let parsed = try SafeTensors(bytes: try tensors.serialized(), source: "mem")
    XCTAssertEqual(try parsed.floats("big"), values)
  }

  // MARK: Lookup errors

  func testLookupErrorsNameTheTensor() throws {
    let parsed = try SafeTensors(bytes: try sample().serialized(), source: "ckpt.safetensors")
    XCTAssertThrowsError(try parsed.floats("nope")) { error in
      XCTAssertEqual(
        error as? FileError, FileError(path: "ckpt.safetensors", message: "no tensor named 'nope'"))
    }
    XCTAssertThrowsError(try parsed.floats("indices")) { error in
      XCTAssertEqual((error as? FileError)?.message, "tensor 'indices' has dtype I64, not F32")
    }
    XCTAssertThrowsError(try parsed.int64s("scalar")) { error in
      XCTAssertEqual("\(error)", "ckpt.safetensors: tensor 'scalar' has dtype F32, not I64")
    }
  }

  // MARK: Malformed files

  func testRejectsBadFraming() {
    assertRejects([], "short header: file has 0 bytes")
    assertRejects([1, 0, 0], "short header: file has 3 bytes")
    assertRejects(littleEndian(100) + Array("{}".utf8), "header length 100 runs past the end of the file (10 bytes)")
    assertRejects(littleEndian(200_000_000), "header length 200000000 exceeds the limit of 100000000 bytes")
    assertRejects(littleEndian(.max), "header length 18446744073709551615 exceeds the limit")
  }

  func testRejectsBadHeaderText() {
    assertRejects(littleEndian(3) + [UInt8(ascii: "{"), 0xFF, UInt8(ascii: "}")], "header is not valid UTF-8")
    assertRejects(file(""), "header is not valid JSON")
    assertRejects(file("{oops"), "header is not valid JSON")
    assertRejects(file("[1, 2]"), "header is not a JSON object")
    assertRejects(file("\"text\""), "header is not valid JSON")
    assertRejects(file(String(repeating: "[", count: 100_000)), "header is not valid JSON")
  }

  func testRejectsBadEntries() {
    assertRejects(file(#"{"w": 3}"#), "tensor 'w' is not an object")
    assertRejects(file(w: #""shape":[2],"data_offsets":[0,8]"#), "tensor 'w' lacks dtype")
    assertRejects(file(w: #""dtype":"F32","data_offsets":[0,8]"#), "tensor 'w' lacks shape")
    assertRejects(file(w: #""dtype":"F32","shape":[2]"#), "tensor 'w' lacks data_offsets")
    assertRejects(file(w: #""dtype":4,"shape":[2],"data_offsets":[0,8]"#), "tensor 'w' dtype is not a string")
    assertRejects(
      file(w: #""dtype":"BF16","shape":[4],"data_offsets":[0,8]"#), "tensor 'w' has dtype BF16; supported: F32, I64")
  }

  func testRejectsBadShapes() {
    for shape in [#""2""#, #"[2, "a"]"#, "[true]", "[1.5]", "[2.0]", "null", "{}"] {
      assertRejects(file(w: #""dtype":"F32","shape":\#(shape),"data_offsets":[0,8]"#), "tensor 'w' shape")
    }
    assertRejects(
      file(w: #""dtype":"F32","shape":[-1,-2],"data_offsets":[0,8]"#),
      "tensor 'w' has negative dimension -1 in shape [-1, -2]")
    assertRejects(
      file(w: #""dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,8]"#), "shape [9223372036854775807, 2]"
    )
    assertRejects(file(w: #""dtype":"I64","shape":[4611686018427387904],"data_offsets":[0,8]"#), "is too large")
    assertRejects(file(w: #""dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,8]"#), "tensor 'w' shape")
  }

  func testRejectsBadOffsets() {
    for offsets in ["[8]", "[0, 4, 8]", "[-4, 4]", "[8, 4]", "[0, true]", "[0.0, 8]", #"["0", "8"]"#, "8"] {
      assertRejects(
        file(w: #""dtype":"F32","shape":[2],"data_offsets":\#(offsets)"#),
        "are not two non-negative integers [begin, end] with begin <= end")
    }
    assertRejects(
      file(w: #""dtype":"F32","shape":[2],"data_offsets":[0, true]"#), "tensor 'w' data_offsets [0,true] are not")
    assertRejects(
      file(w: #""dtype":"F32","shape":[2],"data_offsets":[8,16]"#),
      "tensor 'w' data_offsets [8, 16] run past the end of the data (8 bytes)")
    assertRejects(
      file(w: #""dtype":"F32","shape":[3],"data_offsets":[0,8]"#),
      "tensor 'w' has 8 bytes of data but shape [3] of F32 needs 12")
    assertRejects(
      file(w: #""dtype":"I64","shape":[2],"data_offsets":[0,8]"#),
      "tensor 'w' has 8 bytes of data but shape [2] of I64 needs 16")
  }

  func testRejectsOverlappingTensors() throws {
    let data = [UInt8](repeating: 0, count: 16)
    let a = #""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
    assertRejects(
      file(#"{\#(a),"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: data),
      "tensors 'a' [0, 8) and 'b' [4, 12) overlap")
    assertRejects(
      file(#"{\#(a),"b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: data),
      "tensors 'a' [0, 8) and 'b' [0, 8) overlap")
    // A later tensor nested inside an earlier, longer one.
    assertRejects(
      file(
        #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"#
          + #""b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"#
          + #""c":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
        data: data), "tensors 'a' [0, 16) and 'b' [4, 8) overlap")
    // Zero-size tensors occupy no bytes, so they may sit anywhere.
    let ok = try SafeTensors(
      bytes: file(#"{\#(a),"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}"#, data: Array(data.prefix(8))),
      source: "ok")
    XCTAssertEqual(ok.names, ["a", "z"])
  }

  func testRejectsBytesThatBelongToNoTensor() throws {
    let a = #""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
    // Garbage appended after the last tensor, as a doctored or badly concatenated file has.
    assertRejects(
      file("{\(a)}", data: [UInt8](repeating: 0, count: 8 + 4096)), "has 4096 bytes after the last tensor's data")
    assertRejects(
      file(#"{\#(a),"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#, data: [UInt8](repeating: 0, count: 16)),
      "bytes [8, 12) of the data belong to no tensor (between 'a' and 'b')")
    assertRejects(
      file(#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
      "bytes [0, 4) of the data belong to no tensor")
  }

  func testRejectsBadMetadata() throws {
    assertRejects(file(#"{"__metadata__":{"k":1}}"#), "__metadata__ value for 'k' is not a string")
    assertRejects(file(#"{"__metadata__":{"k":null}}"#), "__metadata__ value for 'k' is not a string")
    assertRejects(file(#"{"__metadata__":["k"]}"#), "__metadata__ is not an object")
    // Some writers emit null when there is no metadata.
    XCTAssertEqual(try SafeTensors(bytes: file(#"{"__metadata__":null}"#), source: "ok").metadata, [:])
  }

  func testAcceptsPaddingAndUnalignedData() throws {
    // Odd header length puts the data at an unaligned address; trailing spaces are valid padding.
    let bytes = file(#"{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}  "#, data: littleEndian(99))
    XCTAssertEqual(try SafeTensors(bytes: bytes, source: "ok").int64s("w"), [99])
  }

  func testNeverTrapsOnCorruptedInput() throws {
    let valid = try sample().serialized()
    for length in 0..<valid.count {
      _ = try? SafeTensors(bytes: Array(valid[..<length]), source: "truncated")
    }
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<2000 {
      var bytes = valid
      for _ in 0..<Int.random(in: 1...4, using: &generator) {
        bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
      }
      _ = try? SafeTensors(bytes: bytes, source: "corrupt")
    }
  }

  // MARK: Files

  func testAtomicWriteLeavesNoTemporaryFile() throws {
    let directory = try temporaryDirectory()
    let path = directory.appendingPathComponent("ckpt.safetensors").path
    try sample().write(to: path)
    var replacement = SafeTensors()
    replacement.add("only", int64s: [1], shape: [1])
    try replacement.write(to: path)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["ckpt.safetensors"])
    XCTAssertEqual(try SafeTensors.read(contentsOf: path).names, ["only"])
  }

  func testWriteIntoMissingDirectoryNamesThePath() throws {
    let path = try temporaryDirectory().appendingPathComponent("missing/ckpt.safetensors").path
    XCTAssertThrowsError(try sample().write(to: path)) { error in
      let error = error as? FileError
      XCTAssertEqual(error?.path, path)
      XCTAssertTrue(error?.description.contains(path) ?? false)
      XCTAssertTrue(error?.message.contains("No such file or directory") ?? false, "\(String(describing: error))")
    }
  }

  func testAFolderInTheWayIsRefusedAndLeavesNoTemporaryFile() throws {
    // rename(2) would fail over a non-empty folder after the data was written; the write is refused before.
    let directory = try temporaryDirectory()
    let path = directory.appendingPathComponent("ckpt.safetensors").path
    try FileManager.default.createDirectory(atPath: path + "/inner", withIntermediateDirectories: true)
    XCTAssertThrowsError(try sample().write(to: path)) { error in
      XCTAssertEqual(error as? FileError, FileError(path: path, message: "is a folder, expected a file"))
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["ckpt.safetensors"])
  }

  func testReadMissingOrUnreadableFileNamesIt() throws {
    let directory = try temporaryDirectory()
    let cases = [
      (directory.appendingPathComponent("absent.safetensors").path, "cannot open: No such file or directory"),
      (directory.path, "is a folder, expected a file"),
    ]
    for (path, message) in cases {
      XCTAssertThrowsError(try SafeTensors.read(contentsOf: path)) { error in
        XCTAssertEqual(error as? FileError, FileError(path: path, message: message))
      }
    }
  }

  // MARK: Interoperability

  func testPyTorchFixture() throws {
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: "conv2d_k4_s2_p1", withExtension: "safetensors", subdirectory: "Fixtures"))
    let tensors = try SafeTensors.read(contentsOf: url.path)
    XCTAssertEqual(tensors.entry("x"), SafeTensors.Entry(dtype: .float32, shape: [2, 3, 8, 8]))
    XCTAssertEqual(tensors.entry("weight"), SafeTensors.Entry(dtype: .float32, shape: [5, 3, 4, 4]))
    XCTAssertEqual(tensors.entry("bias"), SafeTensors.Entry(dtype: .float32, shape: [5]))
    XCTAssertEqual(tensors.metadata["op"], "conv2d")
    XCTAssertEqual(tensors.metadata["stride"], "[2, 2]")
    let x = try tensors.floats("x")
    XCTAssertEqual(x.count, 2 * 3 * 8 * 8)
    XCTAssertTrue(x.allSatisfy(\.isFinite))
    XCTAssertTrue(x.contains { $0 != 0 })
    try assertSameContents(tensors, try SafeTensors(bytes: try tensors.serialized(), source: "rewritten"))
  }

  func testPythonReadsOurFile() throws {
    let path = try temporaryDirectory().appendingPathComponent("py.safetensors").path
    try sample().write(to: path)
    // Parses the header with plain struct/json, the data with numpy, and cross-checks with the
    // safetensors package when it is installed.
    let script = """
      import json, struct, sys
      try:
          import numpy as np
      except ImportError:
          sys.exit(77)
      raw = open(sys.argv[1], 'rb').read()
      (n,) = struct.unpack('<Q', raw[:8])
      assert n % 8 == 0, n
      header = json.loads(raw[8:8 + n].decode('utf-8'))
      meta = header.pop('__metadata__', {})
      kinds = {'F32': '<f4', 'I64': '<i8'}
      out = {'metadata': meta, 'tensors': {}}
      for name, e in header.items():
          b, end = e['data_offsets']
          a = np.frombuffer(raw[8 + n + b:8 + n + end], dtype=kinds[e['dtype']]).reshape(e['shape'])
          out['tensors'][name] = {'dtype': e['dtype'], 'shape': list(a.shape),
                                  'values': [repr(v) for v in a.ravel().tolist()]}
      try:
          from safetensors.numpy import load_file
          for name, a in load_file(sys.argv[1]).items():
              assert list(a.shape) == out['tensors'][name]['shape'], name
      except ImportError:
          pass
      print(json.dumps(out, sort_keys=True))
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, path]
    let output = Pipe()
    process.standardOutput = output
    do {
      try process.run()
    } catch {
      throw XCTSkip("cannot run python3: \(error)")
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus == 77 || process.terminationStatus == 127 { throw XCTSkip("python3/numpy missing") }
    XCTAssertEqual(process.terminationStatus, 0)

    let result = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    XCTAssertEqual(result["metadata"] as? [String: String], sample().metadata)
    let tensors = try XCTUnwrap(result["tensors"] as? [String: [String: Any]])
    XCTAssertEqual(tensors["enc.weight"]?["shape"] as? [Int], [2, 3, 4])
    XCTAssertEqual(tensors["scalar"]?["shape"] as? [Int], [])
    XCTAssertEqual(tensors["empty"]?["shape"] as? [Int], [0, 3])
    XCTAssertEqual(tensors["indices"]?["dtype"] as? String, "I64")
    XCTAssertEqual(
      tensors["indices"]?["values"] as? [String], ["0", "-1", "9223372036854775807", "-9223372036854775808", "7"])
    XCTAssertEqual(tensors["enc.bias"]?["values"] as? [String], ["inf", "-inf", "-0.0", "1.401298464324817e-45"])
    XCTAssertEqual(tensors["scalar"]?["values"] as? [String], ["42.25"])
    XCTAssertEqual(
      (tensors["enc.weight"]?["values"] as? [String])?.compactMap(Double.init),
      (0..<24).map { Double($0) * 0.5 - 3 })
  }
}
