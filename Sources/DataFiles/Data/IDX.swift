import Foundation
import TensorEngine

/// Readers for the IDX files of MNIST and Fashion-MNIST (raw or gzipped, big-endian header).
public enum IDX {
  /// Magic number of an idx3 file of unsigned bytes (images).
  public static let imagesMagic: UInt32 = 0x0000_0803
  /// Magic number of an idx1 file of unsigned bytes (labels).
  public static let labelsMagic: UInt32 = 0x0000_0801

  /// Loads an images file and its labels file as one dataset, zero-padding each image to `padTo x padTo`
  /// (nil keeps the stored size). Labels must lie in `0..<classCount`.
  public static func load(
    images imagesPath: String, labels labelsPath: String, padTo: Int? = 32, classCount: Int = 10
  ) throws -> ImageDataset {
    let labels = try readLabels(labelsPath, classCount: classCount)
    let bytes = try DatasetFile.read(imagesPath)
    let (count, rows, cols) = try imagesHeader(bytes, path: imagesPath)
    guard count == labels.count else {
      throw FileError(imagesPath, "holds \(count) images but \(labelsPath) holds \(labels.count) labels")
    }
    let size = padTo ?? max(rows, cols)
    guard size >= rows && size >= cols else {
      throw FileError(imagesPath, "images are \(rows)x\(cols), larger than the padded size \(size)x\(size)")
    }
    let pixels = bytes.withUnsafeBufferPointer { all in
      ImageDataset.padPixels(
        UnsafeBufferPointer(rebasing: all[16...]), count: count, height: rows, width: cols, to: size)
    }
    return ImageDataset(
      pixels: pixels, count: count, channels: 1, height: size, width: size, labels: labels, classCount: classCount)
  }

  /// Reads an idx1 labels file, checking every label against `0..<classCount`.
  public static func readLabels(_ path: String, classCount: Int = 10) throws -> [Int] {
    let bytes = try DatasetFile.read(path)
    let count = try header(bytes, path: path, magic: labelsMagic, kind: "idx1 labels", dimensions: 1)[0]
    guard bytes.count >= 8 + count else {
      throw FileError(path, "truncated: header says \(count) labels but only \(bytes.count - 8) are stored")
    }
    let labels = bytes[8..<(8 + count)].map(Int.init)
    if let bad = labels.firstIndex(where: { $0 >= classCount }) {
      throw FileError(path, "label \(labels[bad]) of item \(bad) is out of range 0...\(classCount - 1)")
    }
    return labels
  }

  /// Checks an idx3 images file's header and length; returns (count, rows, columns).
  static func imagesHeader(_ bytes: [UInt8], path: String) throws -> (Int, Int, Int) {
    let dims = try header(bytes, path: path, magic: imagesMagic, kind: "idx3 images", dimensions: 3)
    let (count, rows, cols) = (dims[0], dims[1], dims[2])
    guard rows > 0 && cols > 0 else { throw FileError(path, "images have an empty size \(rows)x\(cols)") }
    let stored = (bytes.count - 16) / (rows * cols)
    guard stored >= count else {
      throw FileError(
        path, "truncated: header says \(count) images of \(rows)x\(cols) but only \(stored) are stored")
    }
    return (count, rows, cols)
  }

  /// Reads the magic number and `dimensions` big-endian sizes that start every IDX file.
  private static func header(
    _ bytes: [UInt8], path: String, magic: UInt32, kind: String, dimensions: Int
  ) throws -> [Int] {
    let length = 4 * (1 + dimensions)
    guard bytes.count >= length else {
      throw FileError(path, "truncated: \(bytes.count) bytes, shorter than the \(length)-byte \(kind) header")
    }
    func word(_ at: Int) -> UInt32 {
      UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }
    let found = word(0)
    guard found == magic else {
      let (got, want) = (String(format: "0x%08x", found), String(format: "0x%08x", magic))
      throw FileError(path, "bad magic number \(got), expected \(want) for an \(kind) file")
    }
    return (1...dimensions).map { Int(word(4 * $0)) }
  }
}
