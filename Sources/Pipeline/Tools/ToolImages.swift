import Foundation

/// Where a tool takes its images from: PNG files and folders, or one split of a dataset.
public struct ImageSource: Sendable {
  /// PNG files and folders of PNGs (a folder's class subfolders give labels when it is the only path).
  public var paths: [String] = []
  /// A dataset name (`DatasetName`), read when `paths` is empty; nil: the run's own.
  public var dataset: String?
  /// The dataset's folder; nil: the run's, or the dataset's default place.
  public var dataDir: String?
  /// `train` or `test`.
  public var split = "test"
  /// Only the first N images.
  public var limit: Int?

  public init(
    paths: [String] = [], dataset: String? = nil, dataDir: String? = nil, split: String = "test", limit: Int? = nil
  ) {
    (self.paths, self.dataset, self.dataDir, self.split, self.limit) = (paths, dataset, dataDir, split, limit)
  }
}

/// A tool's images, shaped as the VQ-VAE's training images were (channels, size, MNIST padding, FOLDER crop and
/// resize), each with a name: its file, or its split and index.
public struct ToolImages: Sendable {
  /// The images; labels when the source has them.
  public let images: ImageDataset
  /// One name per image: the PNG's path, or `test/17`.
  public let names: [String]
  /// Where they came from, for messages: `FASHION_MNIST test split in /usr/share/...` or `12 PNG files`.
  public let description: String
  /// The same in short, for legends: `FASHION_MNIST test`, `data/digits` or `12 PNG files`.
  public let name: String

  /// Loads `source` for the model of `checkpoint`.
  /// - Throws: `TrainingError` or `FileError` naming the flag, file or folder at fault, or images the model cannot
  ///   take.
  public init(_ source: ImageSource, checkpoint: TrainingCheckpoint) throws {
    let trained = checkpoint.configuration
    guard let shape = trained.recordedImageShape else {
      throw TrainingError(
        "\(checkpoint.path): its config does not record image_shape (a checkpoint of an older version); "
          + "train the model again to use it with the tools")
    }
    if let limit = source.limit, limit < 1 { throw TrainingError("--limit must be at least 1, got \(limit)") }
    guard source.paths.isEmpty || source.dataset == nil else {
      throw TrainingError("give PNG files and folders or --dataset, not both")
    }
    guard ["train", "test"].contains(source.split) else {
      throw TrainingError("--split must be train or test, got '\(source.split)'")
    }
    let settings = try trained.reading(dataset: source.dataset, dataDir: source.dataDir)
    // Square models take any PNG, centre-cropped and resized as FOLDER training does, in their channels; others
    // take PNGs of their size only.
    let side = shape[1] == shape[2] ? shape[1] : nil
    var (images, names, description, name): (ImageDataset, [String], String, String)
    if !source.paths.isEmpty {
      let (loaded, files) = try ImageFolder.load(paths: source.paths, channels: shape[0], size: side)
      (images, names) = (loaded, files)
      let count = "\(files.count) PNG file\(files.count == 1 ? "" : "s")"
      name = source.paths.count == 1 && files.count > 1 ? source.paths[0] : count
      description = name == count ? count : "\(name) (\(count))"
    } else {
      let dir = settings.dataDir ?? settings.dataset.defaultDataDirectory
      let splits =
        settings.dataset == .folder
        ? try ImageFolder.loadSplits(dir, size: side, channels: shape[0])
        : try loadDataset(settings.dataset, dataDir: dir, shaping: settings.shaping)
      images = source.split == "train" ? splits.train : splits.test
      names = (0..<images.count).map { "\(source.split)/\($0)" }
      name = "\(settings.dataset.rawValue) \(source.split)"
      description = "\(name) split in \(dir)"
    }
    if let limit = source.limit, limit < images.count {
      (images, names) = (images.prefix(limit), Array(names.prefix(limit)))
    }
    guard images.count > 0 else { throw TrainingError("\(description): no images") }
    guard [images.channels, images.height, images.width] == shape else {
      throw TrainingError(
        "\(description): the images are \(images.channels)x\(images.height)x\(images.width) but "
          + "\(checkpoint.path) takes \(shape.map(String.init).joined(separator: "x")) (channels x height x width)")
    }
    (self.images, self.names, self.description, self.name) = (images, names, description, name)
  }
}
