import DataFiles

extension Readers {
  /// `cifar10`: the input is one binary CIFAR-10 batch file (records of a label byte and a 3x32x32 image).
  static let cifar10 = Reader(name: "cifar10") { bytes in
    let path = Scratch.path("cifar10/data_batch_1.bin")
    Scratch.write(bytes, to: path)
    attempt("CIFAR10.load") { try CIFAR10.load(batches: [path]) }
  }
}
