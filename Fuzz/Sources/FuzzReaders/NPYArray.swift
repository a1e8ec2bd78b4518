import DataFiles

extension Readers {
  /// `npy`: the input is a `.npy` file, parsed in memory by `NPY.decode` (what `NPY.read` does after reading it).
  static let npy = Reader(name: "npy") { bytes in
    attempt("NPY.decode") { try NPY.decode(bytes, source: "fuzz.npy") }
  }
}
