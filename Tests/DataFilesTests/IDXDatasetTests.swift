import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import DataFiles

final class IDXDatasetTests: FolderTestCase {
  private typealias Support = DataTestSupport
  private let images = DataTestSupport.bytes(3 * 28 * 28, seed: 1)
  private let labels: [UInt8] = [0, 5, 9]

  /// Writes the three test images and labels as IDX files named like MNIST's, in `subfolder`.
  private func writeSplit(
    _ prefix: String, in subfolder: String = "", gzip: Bool = false, labels customLabels: [UInt8]? = nil
  ) throws -> (images: String, labels: String) {
    let dir = (folder as NSString).appendingPathComponent(subfolder)
    let suffix = gzip ? ".gz" : ""
    let imagesPath = "\(dir)/\(prefix)-images-idx3-ubyte\(suffix)"
    let labelsPath = "\(dir)/\(prefix)-labels-idx1-ubyte\(suffix)"
    let labelBytes = customLabels ?? labels
    try Support.write(Support.idx(magic: 0x803, dimensions: [3, 28, 28], data: images), to: imagesPath, gzip: gzip)
    try Support.write(
      Support.idx(magic: 0x801, dimensions: [labelBytes.count], data: labelBytes), to: labelsPath, gzip: gzip)
    return (imagesPath, labelsPath)
  }

  func testRawIDXLoadsPaddedTo32WithZeroBorder() throws {
    let paths = try writeSplit("train")
    let dataset = try IDX.load(images: paths.images, labels: paths.labels)
    XCTAssertEqual([dataset.count, dataset.channels, dataset.height, dataset.width], [3, 1, 32, 32])
    XCTAssertEqual(dataset.labels, [0, 5, 9])
    XCTAssertEqual(dataset.classCount, 10)
    let served = dataset.servedPixels()
    for n in 0..<3 {
      for y in 0..<32 {
        for x in 0..<32 {
          let stored = served[n * 1024 + y * 32 + x]
          let inside = (2..<30).contains(y) && (2..<30).contains(x)
          XCTAssertEqual(stored, inside ? images[n * 784 + (y - 2) * 28 + (x - 2)] : 0, "image \(n) at \(y),\(x)")
        }
      }
    }
    let unpadded = try IDX.load(images: paths.images, labels: paths.labels, padTo: nil)
    XCTAssertEqual([unpadded.height, unpadded.width], [28, 28])
    XCTAssertEqual(unpadded.pixels, images)
    XCTAssertEqual(dataset.pixels, images, "stored unpadded: batches add the border")
    XCTAssertEqual(unpadded.padded(to: 32).servedPixels(), served)
    XCTAssertEqual(dataset.batch(indices: [2, 0]), (served[2048...] + served[..<1024]).map { Float($0) / 127.5 - 1 })
  }

  func testGzippedIDXMatchesRaw() throws {
    let raw = try writeSplit("train")
    let gzipped = try writeSplit("t10k", gzip: true)
    let a = try IDX.load(images: raw.images, labels: raw.labels)
    let b = try IDX.load(images: gzipped.images, labels: gzipped.labels)
    XCTAssertEqual(a.pixels, b.pixels)
    XCTAssertEqual(a.labels, b.labels)
    // Two gzip members back to back (as `cat a.gz b.gz` makes) read as one file.
    let header = Support.idx(magic: 0x801, dimensions: [3], data: [])
    try Support.write(header, to: "\(folder)/head.gz", gzip: true)
    try Support.write(labels, to: "\(folder)/tail.gz", gzip: true)
    let joined = try DatasetFile.readRaw("\(folder)/head.gz") + DatasetFile.readRaw("\(folder)/tail.gz")
    try Support.write(joined, to: "\(folder)/joined.gz")
    XCTAssertEqual(try IDX.readLabels("\(folder)/joined.gz"), [0, 5, 9])
  }

  func testLocatorFindsTorchvisionLayoutAndParsesNames() throws {
    _ = try writeSplit("train", in: "MNIST/raw", gzip: true)
    _ = try writeSplit("t10k", in: "MNIST/raw")
    let (train, test) = try loadDataset(.mnist, dataDir: folder)
    XCTAssertEqual(train.count, 3)
    XCTAssertEqual(test.labels, [0, 5, 9])
    XCTAssertEqual(test.height, 32)
    XCTAssertEqual(DatasetName(parsing: "fashion-mnist"), .fashionMNIST)
    XCTAssertEqual(DatasetName(parsing: "Fashion_MNIST"), .fashionMNIST)
    XCTAssertEqual(DatasetName(parsing: "FASHION_MNIST"), .fashionMNIST)
    XCTAssertEqual(DatasetName(parsing: "mnist"), .mnist)
    XCTAssertEqual(DatasetName(parsing: "cifar10"), .cifar10)
    XCTAssertEqual(DatasetName(parsing: "folder"), .folder)
    XCTAssertNil(DatasetName(parsing: "imagenet"))
  }

  func testMissingFilesSayWhereTheLoaderLookedAndHowToGetThem() {
    Support.assertThrows(["train-images-idx3-ubyte", folder, "\(folder)/MNIST/raw", "--dataset MNIST --download"]) {
      _ = try loadDataset(.mnist, dataDir: folder)
    }
    Support.assertThrows(["\(folder)/FashionMNIST/raw", "apt-get install dataset-fashion-mnist", "--download"]) {
      _ = try loadDataset(.fashionMNIST, dataDir: folder)
    }
    Support.assertThrows(["cifar-10-batches-bin", "data_batch_1.bin", "scripts/download.sh CIFAR10"]) {
      _ = try loadDataset(.cifar10, dataDir: folder)
    }
    Support.assertThrows(["\(folder)/nothing-here", "file not found"]) {
      _ = try IDX.readLabels("\(folder)/nothing-here")
    }
  }

  func testMalformedFilesAreRejectedWithTheFileNamed() throws {
    let paths = try writeSplit("train")
    let dir = folder
    func file(_ name: String, _ bytes: [UInt8], gzip: Bool = false) throws -> String {
      try Support.write(bytes, to: "\(dir)/\(name)", gzip: gzip)
      return "\(dir)/\(name)"
    }
    let swapped = try file("swapped", Support.idx(magic: 0x801, dimensions: [3, 28, 28], data: images))
    Support.assertThrows([swapped, "bad magic number 0x00000801, expected 0x00000803"]) {
      _ = try IDX.load(images: swapped, labels: paths.labels)
    }
    let short = try file("short.gz", Support.idx(magic: 0x803, dimensions: [5, 28, 28], data: images), gzip: true)
    Support.assertThrows([short, "truncated", "5 images", "only 3"]) {
      _ = try IDX.load(images: short, labels: paths.labels)
    }
    let twoLabels = try file("two-labels", Support.idx(magic: 0x801, dimensions: [2], data: [1, 2]))
    Support.assertThrows([paths.images, "3 images", "2 labels"]) {
      _ = try IDX.load(images: paths.images, labels: twoLabels)
    }
    let badLabel = try file("bad-label", Support.idx(magic: 0x801, dimensions: [3], data: [1, 10, 2]))
    Support.assertThrows([badLabel, "label 10 of item 1 is out of range 0...9"]) {
      _ = try IDX.load(images: paths.images, labels: badLabel)
    }
    let empty = try file("empty.gz", [])
    Support.assertThrows([empty, "empty"]) { _ = try IDX.readLabels(empty) }
    let notGzip = try file("plain.gz", Support.idx(magic: 0x801, dimensions: [3], data: labels))
    Support.assertThrows([notGzip, "not a gzip file"]) { _ = try IDX.readLabels(notGzip) }
    // Half a gzip stream: the data ends before the gzip trailer.
    try Support.write(Support.idx(magic: 0x803, dimensions: [3, 28, 28], data: images), to: "\(dir)/x.gz", gzip: true)
    let gz = try DatasetFile.readRaw("\(dir)/x.gz")
    let cut = try file("cut.gz", Array(gz.prefix(gz.count / 2)))
    Support.assertThrows([cut, "corrupt gzip", "truncated"]) { _ = try IDX.load(images: cut, labels: paths.labels) }
    var flipped = gz
    flipped[12] ^= 0xFF
    flipped[13] ^= 0xFF
    let garbled = try file("garbled.gz", flipped)
    Support.assertThrows([garbled, "corrupt gzip"]) { _ = try IDX.load(images: garbled, labels: paths.labels) }
    let tiny = try file("tiny", [0, 0, 8])
    Support.assertThrows([tiny, "truncated", "header"]) { _ = try IDX.readLabels(tiny) }
  }

  func testHostileHeadersAreRefusedBeforeTheirSizesAreAllocated() throws {
    let paths = try writeSplit("train")
    func file(_ name: String, _ bytes: [UInt8], gzip: Bool = false) throws -> String {
      try Support.write(bytes, to: path(name), gzip: gzip)
      return path(name)
    }
    // 0xFFFFFFFF x 0xFFFFFFFF images: the product overflows 64 bits.
    let huge = try file(
      "huge", Support.idx(magic: 0x803, dimensions: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], data: []))
    Support.assertThrows([huge, "absurdly large"]) { _ = try IDX.load(images: huge, labels: paths.labels) }
    let large = try file("large", Support.idx(magic: 0x803, dimensions: [0xFFFF, 0xFFFF, 0xFFFF], data: []))
    Support.assertThrows([large, "needs", "this machine has"]) { _ = try IDX.load(images: large, labels: paths.labels) }
    // A valid 3-image header followed by far more data than it describes: refused as soon as the excess appears,
    // gzipped or not.
    let padded = Support.idx(
      magic: 0x803, dimensions: [3, 28, 28], data: images + [UInt8](repeating: 0, count: 1 << 24))
    let bomb = try file("bomb.gz", padded, gzip: true)
    Support.assertThrows([bomb, "decompresses to more than the 2368 bytes that its header describes"]) {
      _ = try IDX.load(images: bomb, labels: paths.labels)
    }
    let long = try file("long", Array(padded.prefix(2368 + 5)))
    Support.assertThrows([long, "has 5 bytes after the 2368 that its header describes"]) {
      _ = try IDX.load(images: long, labels: paths.labels)
    }
    let labelsTail = try file("labels-tail", Support.idx(magic: 0x801, dimensions: [3], data: labels + [0]))
    Support.assertThrows([labelsTail, "has 1 bytes after the 11"]) { _ = try IDX.readLabels(labelsTail) }
  }

  func testRealFashionMNISTWhenInstalled() throws {
    let dir = DatasetName.fashionMNIST.defaultDataDirectory
    try XCTSkipUnless(FileManager.default.fileExists(atPath: dir), "Fashion-MNIST not installed at \(dir)")
    let start = Date()
    let (train, test) = try loadDataset(.fashionMNIST, dataDir: nil)
    let seconds = Date().timeIntervalSince(start)
    print(
      "Fashion-MNIST: loaded 70000 images in \(String(format: "%.3f", seconds)) s, scaled pixel variance "
        + String(format: "%.5f", train.pixelVariance()))
    XCTAssertLessThan(seconds, 2)
    XCTAssertEqual([train.count, test.count], [60000, 10000])
    XCTAssertEqual([train.channels, train.height, train.width], [1, 32, 32])
    XCTAssertEqual([test.channels, test.height, test.width], [1, 32, 32])
    var counts = [Int](repeating: 0, count: 10)
    for label in train.labels { counts[label] += 1 }
    XCTAssertEqual(counts, [Int](repeating: 6000, count: 10))
    XCTAssertTrue(test.labels.allSatisfy { (0...9).contains($0) })
    XCTAssertEqual(train.batch(indices: [0])[0..<66].max(), -1, "the top two padded rows are zero")
  }
}
