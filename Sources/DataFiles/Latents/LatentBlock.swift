import Foundation
import TensorEngine

/// One split of a LATENT_BLOCK: the code-index grid of every image and, when the images had classes, their labels.
public struct LatentSplit: Sendable {
  /// `count` grids of `height x width` code indices, grid after grid, each in row-major order.
  public let indices: [Int]
  /// One class per grid, or empty when the images had none.
  public let labels: [Int]
  /// The number of grids.
  public let count: Int
  /// The codes at each of the grid's positions: `indices[(n * height + i) * width + j]` is grid `n` at `(i, j)`.
  public init(indices: [Int], labels: [Int], count: Int) {
    (self.indices, self.labels, self.count) = (indices, labels, count)
  }

  /// The first `n` grids (all of them if there are fewer), for quick runs.
  public func prefix(_ n: Int, gridSize: Int) -> LatentSplit {
    let k = min(max(n, 0), count)
    return LatentSplit(
      indices: Array(indices[0..<(k * gridSize)]), labels: labels.isEmpty ? [] : Array(labels[0..<k]), count: k)
  }

  /// How often each of `codebookSize` codes occurs.
  public func histogram(codebookSize: Int) -> [Int] {
    var counts = [Int](repeating: 0, count: codebookSize)
    for code in indices { counts[code] += 1 }
    return counts
  }
}

/// Where a LATENT_BLOCK came from, as `latents.json` records it.
public struct LatentSource: Sendable {
  /// The dataset the images came from (`FASHION_MNIST` ...).
  public var dataset: String
  /// Its folder.
  public var dataDir: String
  /// The VQ-VAE checkpoint that encoded them.
  public var checkpoint: String
  /// The checkpoint file's SHA-256, hex.
  public var checkpointSHA256: String
  /// The checkpoint's update.
  public var checkpointUpdate: Int
  /// The codebook vectors' dimension D.
  public var embeddingDim: Int

  public init(
    dataset: String, dataDir: String, checkpoint: String, checkpointSHA256: String, checkpointUpdate: Int,
    embeddingDim: Int
  ) {
    (self.dataset, self.dataDir, self.checkpoint) = (dataset, dataDir, checkpoint)
    (self.checkpointSHA256, self.checkpointUpdate, self.embeddingDim) = (
      checkpointSHA256, checkpointUpdate, embeddingDim
    )
  }
}

/// The LATENT_BLOCK dataset that the prior learns from: a folder of NumPy files and a JSON description.
///
///     train_indices.npy   int64 (N, H, W): the code index of every latent position of every training image
///     test_indices.npy    int64 (M, H, W)
///     train_labels.npy    int64 (N,): the image classes (absent when the images had none)
///     test_labels.npy     int64 (M,)
///     latents.json        n_embeddings K, grid_shape [H, W], n_classes, counts, dataset, source checkpoint and its
///                         SHA-256, codes used, and the training split's per-code histogram
public struct LatentBlock: Sendable {
  /// The file names inside a LATENT_BLOCK folder.
  public enum File {
    public static let info = "latents.json"
    public static let trainIndices = "train_indices.npy"
    public static let testIndices = "test_indices.npy"
    public static let trainLabels = "train_labels.npy"
    public static let testLabels = "test_labels.npy"
  }

  /// The training grids.
  public let train: LatentSplit
  /// The held-out grids, for the prior's test likelihood.
  public let test: LatentSplit
  /// K: every index lies in `0..<codebookSize`.
  public let codebookSize: Int
  /// Rows of each grid (8 for 32x32 images).
  public let height: Int
  /// Columns of each grid.
  public let width: Int
  /// Classes the labels index into; 0 when there are no labels.
  public let classCount: Int
  /// The dataset the grids came from, when `latents.json` says.
  public let dataset: String?
  /// The VQ-VAE checkpoint that made them, when `latents.json` says.
  public let checkpoint: String?

  /// Positions per grid.
  public var gridSize: Int { height * width }

  /// Checks and assembles a block: both splits fill whole grids, every index lies in `0..<codebookSize`, and
  /// labels are given for both splits or neither, one per grid, in `0..<classCount`.
  /// - Throws: `FileError` naming `source` and the problem.
  public init(
    train: LatentSplit, test: LatentSplit, codebookSize: Int, height: Int, width: Int, classCount: Int,
    dataset: String? = nil, checkpoint: String? = nil, source: String = "LATENT_BLOCK"
  ) throws {
    guard codebookSize >= 1, height >= 1, width >= 1 else {
      throw FileError(source, "n_embeddings \(codebookSize) and grid \(height)x\(width) must all be at least 1")
    }
    for (name, split, file) in [("train", train, File.trainIndices), ("test", test, File.testIndices)] {
      guard split.count >= 1, split.indices.count == split.count * height * width else {
        throw FileError(
          source, "\(file): \(split.indices.count) indices do not fill \(split.count) grids of \(height)x\(width)")
      }
      if let position = split.indices.firstIndex(where: { $0 < 0 || $0 >= codebookSize }) {
        let (n, i, j) = (position / (height * width), position / width % height, position % width)
        throw FileError(
          source,
          "\(file): index \(split.indices[position]) of grid \(n) at (\(i), \(j)) is outside 0..<\(codebookSize) "
            + "(n_embeddings of \(File.info))")
      }
      guard split.labels.isEmpty == (classCount == 0) else {
        throw FileError(
          source,
          classCount == 0
            ? "the \(name) split has labels but n_classes is 0"
            : "the \(name) split has no labels but n_classes is \(classCount)")
      }
      guard split.labels.isEmpty || split.labels.count == split.count else {
        throw FileError(source, "the \(name) split has \(split.labels.count) labels for \(split.count) grids")
      }
      if let bad = split.labels.first(where: { $0 < 0 || $0 >= classCount }) {
        throw FileError(source, "the \(name) split has label \(bad), outside 0..<\(classCount) (n_classes)")
      }
    }
    (self.train, self.test, self.codebookSize, self.height, self.width) = (train, test, codebookSize, height, width)
    (self.classCount, self.dataset, self.checkpoint) = (classCount, dataset, checkpoint)
  }

  /// Reads and validates the LATENT_BLOCK in `directory`.
  /// - Throws: `FileError` naming the file and what is wrong: a missing file, a malformed `.npy` or
  ///   `latents.json`, grid shapes that differ between the files, indices outside `0..<K`, label counts that differ.
  public static func load(from directory: String) throws -> LatentBlock {
    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
    let infoPath = path(File.info)
    guard FileManager.default.fileExists(atPath: infoPath) else {
      throw FileError(
        directory,
        "not a LATENT_BLOCK folder (no \(File.info)); make one with extract-latents --checkpoint RUN_DIR")
    }
    let info = try JSONFile.read(LatentInfo.self, from: infoPath)
    guard info.gridShape.count == 2 else { throw FileError(infoPath, "'grid_shape' is not [height, width]") }
    let (codebookSize, height, width) = (info.codebookSize, info.gridShape[0], info.gridShape[1])

    func readSplit(_ indicesFile: String, _ labelsFile: String) throws -> LatentSplit {
      let (indices, shape) = try NPY.read(contentsOf: path(indicesFile))
      guard shape.count == 3, shape[1] == height, shape[2] == width else {
        throw FileError(
          path(indicesFile), "shape \(shape) is not (N, \(height), \(width)) (grid_shape of \(File.info))")
      }
      let labelsPath = path(labelsFile)
      guard FileManager.default.fileExists(atPath: labelsPath) else {
        return LatentSplit(indices: indices, labels: [], count: shape[0])
      }
      let (labels, labelShape) = try NPY.read(contentsOf: labelsPath)
      guard labelShape == [shape[0]] else {
        throw FileError(labelsPath, "shape \(labelShape) does not match the \(shape[0]) grids of \(indicesFile)")
      }
      return LatentSplit(indices: indices, labels: labels, count: shape[0])
    }
    let train = try readSplit(File.trainIndices, File.trainLabels)
    let test = try readSplit(File.testIndices, File.testLabels)
    let labelled = !train.labels.isEmpty || !test.labels.isEmpty
    let classCount = labelled ? info.classCount ?? (train.labels + test.labels).max()! + 1 : 0
    return try LatentBlock(
      train: train, test: test, codebookSize: codebookSize, height: height, width: width, classCount: classCount,
      dataset: info.dataset, checkpoint: info.checkpoint, source: directory)
  }

  /// Writes the block into `directory` (which must exist): the `.npy` files, then `latents.json`, each atomically.
  /// A stale `latents.json` is removed first, so a folder whose writing was cut short does not load.
  /// - Throws: `FileError` naming the file that cannot be written.
  public func write(to directory: String, source: LatentSource) throws {
    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
    try? FileManager.default.removeItem(atPath: path(File.info))
    try NPY.write(train.indices, shape: [train.count, height, width], to: path(File.trainIndices))
    try NPY.write(test.indices, shape: [test.count, height, width], to: path(File.testIndices))
    if classCount > 0 {
      try NPY.write(train.labels, shape: [train.count], to: path(File.trainLabels))
      try NPY.write(test.labels, shape: [test.count], to: path(File.testLabels))
    }
    let trainHistogram = train.histogram(codebookSize: codebookSize)
    let info = LatentInfo(
      codebookSize: codebookSize, gridShape: [height, width], classCount: classCount, trainCount: train.count,
      testCount: test.count, dataset: source.dataset, dataDir: source.dataDir, checkpoint: source.checkpoint,
      checkpointSHA256: source.checkpointSHA256, checkpointUpdate: source.checkpointUpdate,
      embeddingDim: source.embeddingDim, trainCodesUsed: trainHistogram.filter { $0 > 0 }.count,
      testCodesUsed: test.histogram(codebookSize: codebookSize).filter { $0 > 0 }.count,
      trainCodeHistogram: trainHistogram)
    try JSONFile.write(info, to: path(File.info))
  }
}

/// `latents.json`: what a LATENT_BLOCK holds and where it came from. Only `n_embeddings` and `grid_shape` are
/// needed to read a block; the rest describes it (and is absent from blocks written by other tools).
public struct LatentInfo: Codable, Equatable, Sendable {
  public var format: String? = "LATENT_BLOCK"
  /// K: every index lies in `0..<codebookSize`.
  public var codebookSize: Int
  /// `[height, width]` of each grid.
  public var gridShape: [Int]
  /// Classes the labels index into; nil lets the labels tell.
  public var classCount: Int?
  public var trainCount: Int?
  public var testCount: Int?
  public var dtype: String? = "int64"
  public var dataset: String?
  public var dataDir: String?
  public var checkpoint: String?
  public var checkpointSHA256: String?
  public var checkpointUpdate: Int?
  public var embeddingDim: Int?
  public var trainCodesUsed: Int?
  public var testCodesUsed: Int?
  public var trainCodeHistogram: [Int]?

  enum CodingKeys: String, CodingKey {
    case format, dtype, dataset, checkpoint
    case codebookSize = "n_embeddings"
    case gridShape = "grid_shape"
    case classCount = "n_classes"
    case trainCount = "train_count"
    case testCount = "test_count"
    case dataDir = "data_dir"
    case checkpointSHA256 = "checkpoint_sha256"
    case checkpointUpdate = "checkpoint_update"
    case embeddingDim = "embedding_dim"
    case trainCodesUsed = "train_codes_used"
    case testCodesUsed = "test_codes_used"
    case trainCodeHistogram = "train_code_histogram"
  }
}
