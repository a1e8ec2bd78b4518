import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import DataFiles

/// TensorBoard event files: TFRecord framing with the reference CRC-32C, records that decode to what was written, a
/// torn or corrupted record that ends the readable part, and a resumed run that keeps only its steps up to the
/// checkpoint. (TensorBoard's own reader checks the same files in PipelineTests.)
final class EventFileTests: FolderTestCase {
  func testCRC32CIsTheCastagnoliChecksum() {
    // The check value of CRC-32C, and RFC 3720's vectors (32 zero bytes, 32 bytes of 0xFF).
    XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
    XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
    XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
    // Masking: rotate right by 15 bits, add 0xa282ead8.
    let crc: UInt32 = 0xE306_9283
    XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
  }

  func testRecordsAreFramedAndDecodeToWhatWasWritten() throws {
    let events = try EventFile(folder: path("tb"), keepingThrough: nil)
    XCTAssertTrue((events.path as NSString).lastPathComponent.hasPrefix("events.out.tfevents."))
    try events.scalars([("train/loss", 0.5), ("train/psnr", 21.25)], step: 10)
    try events.histogram(tag: "test/code_usage", counts: [3, 0, 5], step: 10)
    try events.text(tag: "settings", markdown: "`a`", step: 0)
    try events.image(tag: "samples", png: [1, 2, 3], width: 4, height: 5, channels: 1, step: 20)
    let bytes = try FileIO.read(events.path)
    // The first record by hand: length 8 bytes little-endian, its masked CRC, the payload, the payload's masked CRC.
    let length = Int(bytes[0]) | Int(bytes[1]) << 8
    XCTAssertEqual(Array(bytes[2..<8]), [0, 0, 0, 0, 0, 0])
    XCTAssertEqual(
      Array(bytes[8..<12]), withUnsafeBytes(of: CRC32C.masked(bytes[0..<8]).littleEndian, Array.init))
    XCTAssertEqual(
      Array(bytes[(12 + length)..<(16 + length)]),
      withUnsafeBytes(of: CRC32C.masked(bytes[12..<(12 + length)]).littleEndian, Array.init))

    let (records, intact) = EventFile.records(in: bytes)
    XCTAssertEqual(intact, bytes.count)
    let decoded = try records.map { try Tensorboard_Event(serializedBytes: $0) }
    XCTAssertEqual(decoded.count, 5)
    XCTAssertEqual(decoded[0].fileVersion, "brain.Event:2")
    XCTAssertEqual(decoded[1].step, 10)
    XCTAssertEqual(decoded[1].summary.value.map { $0.tag }, ["train/loss", "train/psnr"])
    XCTAssertEqual(decoded[1].summary.value.map { $0.simpleValue }, [0.5, 21.25])
    let histogram = decoded[2].summary.value[0].histo
    XCTAssertEqual(histogram.bucket, [3, 0, 5])
    XCTAssertEqual(histogram.bucketLimit, [0, 1, 2])
    XCTAssertEqual(
      [histogram.num, histogram.sum, histogram.sumSquares, histogram.min, histogram.max], [8, 10, 20, 0, 2])
    XCTAssertEqual(decoded[3].summary.value[0].metadata.pluginData.pluginName, "text")
    XCTAssertEqual(decoded[3].summary.value[0].tensor.stringVal, [Data("`a`".utf8)])
    XCTAssertEqual(decoded[4].summary.value[0].image.encodedImageString, Data([1, 2, 3]))
    XCTAssertEqual(decoded[4].summary.value[0].image.height, 5)

    // A flipped byte in the third record's payload ends the readable part there; so does a cut in the fourth.
    let starts = records.indices.map { k in records[..<k].reduce(0) { $0 + $1.count + 16 } }
    var corrupted = bytes
    corrupted[starts[2] + 14] ^= 0x40
    XCTAssertEqual(EventFile.records(in: corrupted).records.count, 2)
    XCTAssertEqual(EventFile.records(in: corrupted).intactBytes, starts[2])
    XCTAssertEqual(EventFile.records(in: Array(bytes[..<(starts[3] + 20)])).records.count, 3)
    // A length that points past the end is a cut record, not a crash.
    var huge = bytes
    for k in 0..<8 { huge[starts[1] + k] = 0xFF }
    XCTAssertEqual(EventFile.records(in: huge).records.count, 1)
  }

  func testAResumedRunKeepsItsStepsUpToTheCheckpointAndDropsATornTail() throws {
    let folder = path("tb")
    let first = try EventFile(folder: folder, keepingThrough: nil)
    for step in [10, 20, 30, 40] { try first.scalars([("train/loss", Double(step))], step: step) }
    // A kill in the middle of a write leaves half a record.
    let handle = try XCTUnwrap(FileHandle(forWritingAtPath: first.path))
    handle.seekToEndOfFile()
    handle.write(Data([9, 0, 0, 0, 0, 0, 0, 0, 1, 2]))
    handle.closeFile()

    let resumed = try EventFile(folder: folder, keepingThrough: 20)
    XCTAssertEqual(resumed.path, first.path, "the same file goes on")
    try resumed.scalars([("train/loss", 30.5)], step: 30)
    let steps = try EventFile.records(in: FileIO.read(resumed.path)).records.map {
      try Tensorboard_Event(serializedBytes: $0).step
    }
    XCTAssertEqual(steps, [0, 10, 20, 30], "the file version, the kept steps, the redone one")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).count, 1)
  }
}
