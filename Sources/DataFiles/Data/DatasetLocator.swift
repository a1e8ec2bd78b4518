import Foundation
import TensorEngine

/// The datasets `loadDataset` knows how to find.
public enum DatasetName: String, CaseIterable, Sendable {
  case fashionMNIST = "FASHION_MNIST"
  case mnist = "MNIST"
  case cifar10 = "CIFAR10"
  case folder = "FOLDER"

  /// Parses a name case-insensitively, ignoring `-` and `_`: "fashion-mnist", "Fashion_MNIST" and "cifar-10" work.
  public init?(parsing text: String) {
    func key(_ s: String) -> String { s.uppercased().filter { $0 != "-" && $0 != "_" } }
    guard let match = Self.allCases.first(where: { key($0.rawValue) == key(text) }) else { return nil }
    self = match
  }

  /// Where the dataset is looked for when no data directory is given: Debian's package location for
  /// Fashion-MNIST (`apt-get install dataset-fashion-mnist`), `data` in the working directory otherwise.
  public var defaultDataDirectory: String {
    self == .fashionMNIST ? "/usr/share/datasets/fashion-mnist" : "data"
  }
}

/// How a dataset's images are shaped as they load.
public struct ImageShaping: Equatable, Sendable {
  /// Zero-pad MNIST-style 28x28 images to 32x32 (as the classic repo does); false keeps 28x28.
  public var pad = true
  /// FOLDER images: centre-crop each to a square and area-resize it to `size x size` (nil: keep the files' size,
  /// which must then be the same for all).
  public var size: Int?

  public init(pad: Bool = true, size: Int? = nil) { (self.pad, self.size) = (pad, size) }
}

/// Loads the train and test splits of a dataset from `dataDir` (or the dataset's default directory).
///
/// MNIST-style images are zero-padded from 28x28 to 32x32 unless `shaping.pad` is off. IDX files may be raw or
/// gzipped and may sit in `dataDir`, `dataDir/raw` or torchvision's `dataDir/MNIST/raw` (`FashionMNIST/raw`).
/// CIFAR-10 reads the binary batches from `dataDir` or `dataDir/cifar-10-batches-bin`; FOLDER is described at
/// `ImageFolder`, and `shaping.size` crops and resizes its images.
public func loadDataset(
  _ name: DatasetName, dataDir: String?, shaping: ImageShaping = ImageShaping()
) throws -> (train: ImageDataset, test: ImageDataset) {
  let dir = dataDir ?? name.defaultDataDirectory
  switch name {
  case .fashionMNIST:
    return try loadIDXSplits(
      dir, pad: shaping.pad, torchvisionFolder: "FashionMNIST", dataset: "Fashion-MNIST",
      howToGet: "install it with `apt-get install dataset-fashion-mnist` (files go to /usr/share/datasets/"
        + "fashion-mnist), or download it with `vqvae-train --download` (or scripts/download.sh FASHION_MNIST)")
  case .mnist:
    return try loadIDXSplits(
      dir, pad: shaping.pad, torchvisionFolder: "MNIST", dataset: "MNIST",
      howToGet: "download it with `vqvae-train --dataset MNIST --download` (or scripts/download.sh MNIST), or put "
        + "the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        + "t10k-labels-idx1-ubyte.gz) in the data directory")
  case .cifar10:
    let (candidates, names) = cifarLocations(dir)
    guard let found = cifarFolder(dir) else {
      throw FileError(
        dir,
        "CIFAR-10 batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin) not found; looked in "
          + candidates.joined(separator: ", ") + ". Download it with `vqvae-train --dataset CIFAR10 --download` (or "
          + "scripts/download.sh CIFAR10), or extract the binary version (cifar-10-binary.tar.gz from "
          + "www.cs.toronto.edu/~kriz/cifar.html) there")
    }
    let paths = names.map { (found as NSString).appendingPathComponent($0) }
    return try (CIFAR10.load(batches: Array(paths.prefix(5))), CIFAR10.load(batches: [paths[5]]))
  case .folder:
    return try ImageFolder.loadSplits(dir, size: shaping.size)
  }
}

/// Whether the files of `name` are where `loadDataset` looks for them in `dataDir` (without reading them): the four
/// IDX files, or the six CIFAR-10 batches; FOLDER needs only its folder.
public func datasetFilesPresent(_ name: DatasetName, dataDir: String?) -> Bool {
  let dir = dataDir ?? name.defaultDataDirectory
  switch name {
  case .fashionMNIST, .mnist:
    let torchvision = name == .mnist ? "MNIST" : "FashionMNIST"
    return idxNames.allSatisfy { idxFile($0, in: dir, torchvisionFolder: torchvision) != nil }
  case .cifar10: return cifarFolder(dir) != nil
  case .folder: return FileManager.default.fileExists(atPath: dir)
  }
}

/// The four IDX files of an MNIST-style dataset, without `.gz`.
private let idxNames = [
  "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte",
]

/// The IDX file `base` (raw or `.gz`) in `dir`, `dir/raw` or torchvision's `dir/<torchvisionFolder>/raw`.
private func idxFile(_ base: String, in dir: String, torchvisionFolder: String) -> String? {
  for folder in [dir, "\(dir)/raw", "\(dir)/\(torchvisionFolder)/raw"] {
    for name in [base, base + ".gz"] {
      let path = (folder as NSString).appendingPathComponent(name)
      if FileManager.default.fileExists(atPath: path) { return path }
    }
  }
  return nil
}

/// Where CIFAR-10's batches may be (`dir`, or the archive's folder in it) and their names.
private func cifarLocations(_ dir: String) -> (folders: [String], names: [String]) {
  (
    [dir, (dir as NSString).appendingPathComponent("cifar-10-batches-bin")],
    (1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"]
  )
}

/// The folder under `dir` that holds all six CIFAR-10 batches, if any.
private func cifarFolder(_ dir: String) -> String? {
  let (folders, names) = cifarLocations(dir)
  return folders.first { folder in
    names.allSatisfy { FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) }
  }
}

/// Finds the four MNIST-style IDX files under `dir` and loads them, padded to 32x32 when `pad` is set.
private func loadIDXSplits(
  _ dir: String, pad: Bool, torchvisionFolder: String, dataset: String, howToGet: String
) throws -> (train: ImageDataset, test: ImageDataset) {
  func locate(_ base: String) throws -> String {
    if let path = idxFile(base, in: dir, torchvisionFolder: torchvisionFolder) { return path }
    let looked = [dir, "\(dir)/raw", "\(dir)/\(torchvisionFolder)/raw"].joined(separator: ", ")
    throw FileError(dir, "\(dataset) file \(base)[.gz] not found; looked in \(looked). To get it, \(howToGet)")
  }
  let padTo = pad ? 32 : nil
  let train = try IDX.load(
    images: locate("train-images-idx3-ubyte"), labels: locate("train-labels-idx1-ubyte"), padTo: padTo)
  let test = try IDX.load(
    images: locate("t10k-images-idx3-ubyte"), labels: locate("t10k-labels-idx1-ubyte"), padTo: padTo)
  return (train, test)
}
