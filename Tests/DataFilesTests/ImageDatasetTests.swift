import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import DataFiles

final class ImageDatasetTests: FolderTestCase {
  private typealias Support = DataTestSupport

  /// Two 1x2x2 images.
  private let tiny = ImageDataset(
    pixels: [0, 51, 102, 255, 255, 255, 0, 0], count: 2, channels: 1, height: 2, width: 2, labels: [3, 1],
    classCount: 4)

  func testBatchesScaleToMinusOneToOneInIndexOrder() {
    func assertClose(_ a: [Float], _ b: [Float], line: UInt = #line) {
      XCTAssertEqual(a.count, b.count, line: line)
      for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6, line: line) }
    }
    assertClose(tiny.batch(indices: [1, 0]), [1, 1, -1, -1, -1, -0.6, -0.2, 1])
    XCTAssertEqual(tiny.batchLabels(indices: [1, 0, 1]), [1, 3, 1])
    var buffer = [Float](repeating: 9, count: 5)
    buffer.withUnsafeMutableBufferPointer { tiny.fillBatch(indices: [0], into: $0) }
    assertClose(buffer, [-1, -0.6, -0.2, 1, 9])
  }

  func testPixelVarianceOfScaledPixels() {
    // Scaled values -1, -0.6, -0.2, 1, 1, 1, -1, -1: mean -0.1, mean square 0.8, variance 0.79.
    let scaled = tiny.pixels.map { Double($0) / 127.5 - 1 }
    let mean = scaled.reduce(0, +) / 8
    let expected = scaled.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 8
    XCTAssertEqual(tiny.pixelVariance(), expected, accuracy: 1e-15)
    XCTAssertEqual(expected, 0.79, accuracy: 1e-12)
    let twoTone = ImageDataset(pixels: [0, 255, 0, 255], count: 1, channels: 1, height: 2, width: 2)
    XCTAssertEqual(twoTone.pixelVariance(), 1, accuracy: 1e-15)
  }

  func testPrefixAndPadding() {
    let first = tiny.prefix(1)
    XCTAssertEqual(first.count, 1)
    XCTAssertEqual(first.pixels, [0, 51, 102, 255])
    XCTAssertEqual(first.labels, [3])
    XCTAssertEqual(tiny.prefix(10).count, 2)
    let padded = tiny.padded(to: 4)
    XCTAssertEqual(Array(padded.servedPixels()[..<16]), [0, 0, 0, 0, 0, 0, 51, 0, 0, 102, 255, 0, 0, 0, 0, 0])
    XCTAssertEqual(padded.pixels, tiny.pixels, "the padding is not stored")
    XCTAssertEqual(padded.labels, [3, 1])
    // Served padded, it trains, is scored and is cut exactly as the same images stored padded.
    let stored = ImageDataset(
      pixels: padded.servedPixels(), count: 2, channels: 1, height: 4, width: 4, labels: [3, 1], classCount: 4)
    XCTAssertEqual(padded.batch(indices: [1, 0, 1]), stored.batch(indices: [1, 0, 1]))
    XCTAssertEqual(padded.pixelVariance(), stored.pixelVariance(), accuracy: 1e-15)
    XCTAssertEqual(padded.subset([1]).batch(indices: [0]), stored.subset([1]).batch(indices: [0]))
    XCTAssertEqual(padded.prefix(1).servedPixels(), stored.prefix(1).servedPixels())
    XCTAssertEqual([padded.prefix(1).height, padded.subset([1, 1]).width], [4, 4])
  }

  // MARK: CIFAR-10

  /// Two records per batch file: label, then red, green and blue planes.
  private func cifarBatch(seed: UInt64) -> [UInt8] {
    let images = Support.bytes(2 * 3072, seed: seed)
    return [UInt8(seed % 10)] + images[0..<3072] + [UInt8((seed + 1) % 10)] + images[3072...]
  }

  func testCIFAR10BinaryBatches() throws {
    let dir = "\(folder)/cifar-10-batches-bin"
    for i in 1...5 { try Support.write(cifarBatch(seed: UInt64(i)), to: "\(dir)/data_batch_\(i).bin") }
    try Support.write(cifarBatch(seed: 7), to: "\(dir)/test_batch.bin")
    let (train, test) = try loadDataset(.cifar10, dataDir: folder)
    XCTAssertEqual([train.count, train.channels, train.height, train.width], [10, 3, 32, 32])
    XCTAssertEqual(train.labels, [1, 2, 2, 3, 3, 4, 4, 5, 5, 6])
    XCTAssertEqual(test.labels, [7, 8])
    XCTAssertEqual(Array(test.pixels[3072...]), Array(Support.bytes(2 * 3072, seed: 7)[3072...]))
    XCTAssertEqual(try loadDataset(.cifar10, dataDir: dir).train.pixels, train.pixels)

    try Support.write(cifarBatch(seed: 3) + [0], to: "\(dir)/data_batch_3.bin")
    Support.assertThrows(["\(dir)/data_batch_3.bin", "not a multiple of the 3073-byte"]) {
      _ = try loadDataset(.cifar10, dataDir: folder)
    }
  }

  // MARK: Folders of PNG files

  /// Writes `count` gray or RGB `width x height` PNGs into `dir`, named 00.png, 01.png, ...; returns their pixels.
  @discardableResult
  private func writePNGs(
    _ dir: String, count: Int, channels: Int, width: Int = 6, height: Int = 5, seed: UInt64 = 1
  ) throws -> [[UInt8]] {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return try (0..<count).map { i in
      let pixels = Support.bytes(width * height * channels, seed: seed + UInt64(i))
      try writePNG(
        path: "\(dir)/\(String(format: "%02d", i)).png", pixels: pixels, width: width, height: height,
        channels: channels)
      return pixels
    }
  }

  /// PNG pixels (interleaved) rearranged into the dataset's channel planes.
  private func planar(_ pixels: [UInt8], channels: Int) -> [UInt8] {
    (0..<channels).flatMap { c in stride(from: c, to: pixels.count, by: channels).map { pixels[$0] } }
  }

  func testUnlabeledGrayFolderHoldsOutTheLastTenPercent() throws {
    let written = try writePNGs(folder, count: 12, channels: 1)
    let (train, test) = try loadDataset(.folder, dataDir: folder)
    XCTAssertEqual([train.count, test.count], [11, 1])
    XCTAssertEqual([train.channels, train.height, train.width], [1, 5, 6])
    XCTAssertEqual(train.labels, [])
    XCTAssertEqual(train.classCount, 0)
    XCTAssertEqual(train.pixels, Array(written[0..<11].joined()))
    XCTAssertEqual(test.pixels, written[11])
  }

  func testRGBClassSubfoldersGiveLabelsAndTrainTestFoldersAreUsed() throws {
    let cats = try writePNGs("\(folder)/train/cat", count: 2, channels: 3, seed: 10)
    let dogs = try writePNGs("\(folder)/train/dog", count: 3, channels: 3, seed: 20)
    try writePNGs("\(folder)/test/dog", count: 1, channels: 3, seed: 30)
    let (train, test) = try loadDataset(.folder, dataDir: folder)
    XCTAssertEqual(train.labels, [0, 0, 1, 1, 1])
    XCTAssertEqual(test.labels, [1], "test classes are numbered like the training classes")
    XCTAssertEqual([train.classCount, test.classCount], [2, 2])
    XCTAssertEqual(train.channels, 3)
    XCTAssertEqual(train.pixels, (cats + dogs).flatMap { planar($0, channels: 3) })

    try writePNGs("\(folder)/test/bird", count: 1, channels: 3)
    Support.assertThrows(["\(folder)/test/bird", "not among the training classes"]) {
      _ = try loadDataset(.folder, dataDir: folder)
    }
  }

  func testMixedGrayAndRGBFolderBecomesRGB() throws {
    let gray = try writePNGs("\(folder)/a", count: 1, channels: 1)
    try writePNGs("\(folder)/b", count: 1, channels: 3)
    let dataset = try ImageFolder.load(folder)
    XCTAssertEqual(dataset.channels, 3)
    XCTAssertEqual(Array(dataset.pixels[0..<60]), gray[0] + gray[0], "gray is copied into each channel")
  }

  func testFolderErrorsNameTheFile() throws {
    Support.assertThrows([folder, "no PNG files"]) { _ = try ImageFolder.load(folder) }
    try writePNGs(folder, count: 3, channels: 1)
    try writePNG(path: "\(folder)/99.png", pixels: [UInt8](repeating: 0, count: 12), width: 4, height: 3, channels: 1)
    Support.assertThrows(["\(folder)/99.png", "is 4x3", "\(folder)/00.png is 6x5"]) {
      _ = try ImageFolder.load(folder)
    }
    try Data("not a png".utf8).write(to: URL(fileURLWithPath: "\(folder)/99.png"))
    Support.assertThrows(["\(folder)/99.png", "not a readable PNG"]) { _ = try ImageFolder.load(folder) }
    Support.assertThrows(["\(folder)/missing", "not found"]) { _ = try ImageFolder.load("\(folder)/missing") }
  }
}
