import DataFiles

extension Readers {
  /// `idx-labels`: the input is an idx1 labels file (raw or gzipped), read with MNIST's 10 classes.
  static let idxLabels = Reader(name: "idx-labels") { bytes in
    let path = Scratch.path("idx-labels/labels-idx1-ubyte")
    Scratch.write(bytes, to: path)
    attempt("IDX.readLabels") { try IDX.readLabels(path, classCount: 10) }
  }
}
