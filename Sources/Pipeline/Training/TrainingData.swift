/// The train and test images of a run, cut to their limits and checked against what the model takes.
public struct TrainingData: Sendable {
  /// The side of the images the VQ-VAE trains on (two stride-2 stages give 8x8 latents).
  public static let imageSide = 32

  /// The training split.
  public let train: ImageDataset
  /// The test split, for evaluations and reconstruction grids.
  public let test: ImageDataset
  /// Pixel variance of the training split on the [-1, 1] scale: the normaliser of the reconstruction MSE.
  public let variance: Double

  /// Checks a pair of splits: both non-empty, 32x32, with the same channels, and training pixels that vary.
  /// - Throws: `TrainingError` naming `source` (the dataset) and the problem.
  public init(train: ImageDataset, test: ImageDataset, source: String) throws {
    let side = Self.imageSide
    for (split, images) in [("training", train), ("test", test)] {
      guard images.count > 0 else { throw TrainingError("\(source): the \(split) split has no images") }
      guard images.height == side && images.width == side else {
        throw TrainingError(
          "\(source): \(split) images are \(images.height)x\(images.width); this VQ-VAE trains on "
            + "\(side)x\(side) images (28x28 IDX images are padded to 32x32 automatically)")
      }
    }
    guard train.channels == test.channels else {
      throw TrainingError(
        "\(source): training images have \(train.channels) channels but test images \(test.channels)")
    }
    let variance = train.pixelVariance()
    guard variance > 0 else {
      throw TrainingError("\(source): every training pixel has the same value; the MSE cannot be normalised")
    }
    (self.train, self.test, self.variance) = (train, test, variance)
  }

  /// Loads the configured dataset (see `loadDataset`) and keeps the first `train_limit` / `test_limit` images.
  /// - Throws: `DatasetError` if the files are missing or broken, `TrainingError` if the images do not fit.
  public static func load(_ configuration: TrainingConfiguration) throws -> TrainingData {
    let (train, test) = try loadDataset(configuration.dataset, dataDir: configuration.dataDir)
    return try TrainingData(
      train: configuration.trainLimit.map { train.prefix($0) } ?? train,
      test: configuration.testLimit.map { test.prefix($0) } ?? test,
      source:
        "\(configuration.dataset.rawValue) in \(configuration.dataDir ?? configuration.dataset.defaultDataDirectory)")
  }

  /// The JSON fields `config.json` records about the data.
  var fields: [(String, JSONScalar)] {
    [
      ("train_count", .integer(train.count)), ("test_count", .integer(test.count)),
      ("data_variance", .double(variance)),
    ]
  }
}
