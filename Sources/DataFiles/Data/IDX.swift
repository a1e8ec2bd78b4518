import Foundation
import TensorEngine

/// Readers for the IDX files of MNIST and Fashion-MNIST (raw or gzipped, big-endian header).
public enum IDX {
  /// Magic number of an idx3 file of unsigned bytes (images).
  public static let imagesMagic: UInt32 = 0x0000_0803
  /// Magic number of an idx1 file of unsigned bytes (labels).
  public static let labelsMagic: UInt32 = 0x0000_0801

  /// Loads an images file and its labels file as one dataset, served zero-padded to `padTo x padTo` (nil keeps the
  /// stored size). Labels must lie in `0..<classCount`.
  public static func load(
    images imagesPath: String, labels labelsPath: String, padTo: Int? = 32, classCount: Int = 10
  ) throws -> ImageDataset {
    var (bytes, dims) = try read(imagesPath, magic: imagesMagic, kind: "idx3 images", dimensions: 3)
    let (count, rows, cols) = (dims[0], dims[1], dims[2])
    let labels = try readLabels(labelsPath, classCount: classCount)
    guard count == labels.count else {
      throw FileError(imagesPath, "holds \(count) images but \(labelsPath) holds \(labels.count) labels")
    }
    let size = padTo ?? max(rows, cols)
    guard size >= rows && size >= cols else {
      throw FileError(imagesPath, "images are \(rows)x\(cols), larger than the padded size \(size)x\(size)")
    }
    // In place: the file's bytes, less the header, are the stored pixels; batches add the padding.
    bytes.removeFirst(16)
    return ImageDataset(
      pixels: bytes, count: count, channels: 1, height: rows, width: cols, labels: labels, classCount: classCount
    ).padded(to: size)
  }

  /// Reads an idx1 labels file, checking every label against `0..<classCount`.
  public static func readLabels(_ path: String, classCount: Int = 10) throws -> [Int] {
    let (bytes, dims) = try read(path, magic: labelsMagic, kind: "idx1 labels", dimensions: 1)
    let labels = bytes[8..<(8 + dims[0])].map(Int.init)
    if let bad = labels.firstIndex(where: { $0 >= classCount }) {
      throw FileError(path, "label \(labels[bad]) of item \(bad) is out of range 0...\(classCount - 1)")
    }
    return labels
  }

  /// Reads an IDX file of unsigned bytes whose header is `magic` and `dimensions` big-endian sizes, checking that
  /// it holds exactly the data they describe (a gzip file is inflated no further than that); returns the bytes,
  /// header included, and the sizes.
  static func read(
    _ path: String, magic: UInt32, kind: String, dimensions: Int
  ) throws -> (bytes: [UInt8], dimensions: [Int]) {
    let headerLength = 4 * (1 + dimensions)
    func sizes(_ header: [UInt8]) throws -> [Int] {
      try self.header(header, path: path, magic: magic, kind: kind, dimensions: dimensions)
    }
    func describe(_ dims: [Int]) -> String {
      dimensions == 1
        ? "\(dims[0]) labels" : "\(dims[0]) images of \(dims.dropFirst().map(String.init).joined(separator: "x"))"
    }
    // Sizes are 32-bit, so their product fits in 96 bits: computed in Double, it cannot trap.
    func length(_ dims: [Int]) -> Double { Double(headerLength) + dims.reduce(1.0) { $0 * Double($1) } }
    let bytes = try DatasetFile.read(path, headerLength: headerLength) { header in
      let dims = try sizes(header)
      let needed = length(dims)
      guard needed < Double(Int.max / 2) else { throw FileError(path, "header's \(describe(dims)) are absurdly large") }
      return Int(needed)
    }
    let dims = try sizes(bytes)
    let expected = Int(length(dims))
    guard bytes.count >= expected else {
      // The length fits in an Int (checked above), so the item size does too.
      let itemSize = dims.dropFirst().reduce(1, *)
      let stored = (bytes.count - headerLength) / itemSize
      throw FileError(path, "truncated: header says \(describe(dims)) but only \(stored) are stored")
    }
    return (bytes, dims)
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
    let sizes = (1...dimensions).map { Int(word(4 * $0)) }
    if dimensions == 3 && (sizes[1] == 0 || sizes[2] == 0) {
      throw FileError(path, "images have an empty size \(sizes[1])x\(sizes[2])")
    }
    return sizes
  }
}
