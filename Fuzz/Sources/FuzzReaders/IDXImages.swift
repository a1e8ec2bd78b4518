import DataFiles

extension Readers {
  /// `idx-images`: the input is an idx3 images file, raw or gzipped (`IDX.load` tells them by their magic bytes),
  /// loaded with a labels file that holds as many labels as the input's header says (big-endian bytes 4..<8, when at
  /// most 70,000; else 1, so that the count check fails). Loaded twice, as the pipeline does: padded to 32x32 (MNIST
  /// with `pad`) and at the stored size (`pad` false).
  static let idxImages = Reader(name: "idx-images") { bytes in
    let images = Scratch.path("idx-images/images-idx3-ubyte")
    let labels = Scratch.path("idx-images/labels-idx1-ubyte")
    Scratch.write(bytes, to: images)
    Scratch.write(labelsFile(count: headerCount(bytes)), to: labels)
    attempt("IDX.load(padTo: 32)") { try IDX.load(images: images, labels: labels, padTo: 32, classCount: 10) }
    attempt("IDX.load(padTo: nil)") { try IDX.load(images: images, labels: labels, padTo: nil, classCount: 10) }
  }

  /// The image count of an idx3 header (big-endian bytes 4..<8) when it is at most 70,000, else 1.
  static func headerCount(_ bytes: [UInt8]) -> Int {
    guard bytes.count >= 8 else { return 1 }
    let count = bytes[4..<8].reduce(0) { $0 << 8 | Int($1) }
    return count <= 70_000 ? count : 1
  }

  /// A valid idx1 labels file of `count` labels, 0 to 9 in turn.
  static func labelsFile(count: Int) -> [UInt8] {
    let header = [IDX.labelsMagic, UInt32(count)].flatMap { word in
      (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) }
    }
    return header + (0..<count).map { UInt8($0 % 10) }
  }
}
