import DataFiles

extension Readers {
  /// `latent-block`: the input is a LATENT_BLOCK folder. Without `latentPartSeparator` it is the folder's
  /// `latents.json`, beside small valid `.npy` files (2x2 grids of codes 0..<8, 3 train and 2 test, labelled); with
  /// it, the parts are `latents.json`, `train_indices.npy`, `test_indices.npy` and, when present, `train_labels.npy`
  /// and `test_labels.npy`. A block that loads is then cut to one training grid, as `gated-pixelcnn --train-limit 1`
  /// does, and its codes counted.
  static let latentBlock = Reader(name: "latent-block") { bytes in
    let folder = Scratch.folder("latent-block")
    let names = [
      LatentBlock.File.info, LatentBlock.File.trainIndices, LatentBlock.File.testIndices, LatentBlock.File.trainLabels,
      LatentBlock.File.testLabels,
    ]
    var parts = split(bytes, separator: latentPartSeparator)
    if parts.count == 1 { parts += fixedLatentFiles }
    for (index, name) in names.enumerated() {
      let path = "\(folder)/\(name)"
      if index < parts.count { Scratch.write(parts[index], to: path) } else { Scratch.remove(path) }
    }
    guard let block = attempt("LatentBlock.load", { try LatentBlock.load(from: folder) }) else { return }
    _ = block.train.histogram(codebookSize: block.codebookSize)
    attempt("LatentBlock(train: first grid)") {
      try LatentBlock(
        train: block.train.prefix(1, gridSize: block.gridSize), test: block.test, codebookSize: block.codebookSize,
        height: block.height, width: block.width, classCount: block.classCount, source: folder)
    }
  }

  /// What separates the files of a `latent-block` input.
  static let latentPartSeparator = Array("\n--npy--\n".utf8)

  /// The `.npy` files beside a `latent-block` input that is only `latents.json`.
  static let fixedLatentFiles: [[UInt8]] = [
    NPY.encode([0, 1, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4], shape: [3, 2, 2]),
    NPY.encode([1, 1, 2, 2, 3, 3, 0, 0], shape: [2, 2, 2]),
    NPY.encode([0, 9, 3], shape: [3]),
    NPY.encode([5, 1], shape: [2]),
  ]

  /// `bytes` cut at each occurrence of `separator`.
  static func split(_ bytes: [UInt8], separator: [UInt8]) -> [[UInt8]] {
    var parts: [[UInt8]] = []
    var start = 0
    var index = 0
    while index + separator.count <= bytes.count {
      if bytes[index..<(index + separator.count)].elementsEqual(separator) {
        parts.append(Array(bytes[start..<index]))
        index += separator.count
        start = index
      } else {
        index += 1
      }
    }
    parts.append(Array(bytes[start...]))
    return parts
  }
}
