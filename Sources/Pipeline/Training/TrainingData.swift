/// The train and test images of a run, cut to their limits and checked against what the model takes.
public struct TrainingData: Sendable {
  /// The image sides the VQ-VAE trains on.
  public static let sides = 16...256

  /// The training split.
  public let train: ImageDataset
  /// The test split, for evaluations and reconstruction grids.
  public let test: ImageDataset
  /// Pixel variance of the training split on the [-1, 1] scale: the normaliser of the reconstruction MSE.
  public let variance: Double

  /// Checks a pair of splits: both non-empty, of one shape whose sides lie in `sides` and halve `downsamples`
  /// times, and training pixels that vary.
  /// - Throws: `TrainingError` naming `source` (the dataset) and the problem.
  public init(train: ImageDataset, test: ImageDataset, downsamples: Int, source: String) throws {
    let factor = 1 << downsamples
    for (split, images) in [("training", train), ("test", test)] {
      guard images.count > 0 else { throw TrainingError("\(source): the \(split) split has no images") }
      for side in [images.height, images.width] {
        guard Self.sides.contains(side), side % factor == 0 else {
          throw TrainingError(
            "\(source): \(split) images are \(images.height)x\(images.width); each side must lie in "
              + "\(Self.sides.lowerBound)...\(Self.sides.upperBound) and be a multiple of \(factor) (2^downsamples, "
              + "downsamples \(downsamples)); FOLDER images can be resized with --image-size")
        }
      }
    }
    guard train.height == test.height, train.width == test.width else {
      throw TrainingError(
        "\(source): training images are \(train.height)x\(train.width) but test images \(test.height)x\(test.width)")
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
  /// - Throws: `FileError` if the files are missing or broken, `TrainingError` if the images do not fit.
  public static func load(_ configuration: TrainingConfiguration) throws -> TrainingData {
    let (train, test) = try loadDataset(
      configuration.dataset, dataDir: configuration.dataDir, shaping: configuration.shaping)
    return try TrainingData(
      train: configuration.trainLimit.map { train.prefix($0) } ?? train,
      test: configuration.testLimit.map { test.prefix($0) } ?? test, downsamples: configuration.model.downsamples,
      source:
        "\(configuration.dataset.rawValue) in \(configuration.dataDir ?? configuration.dataset.defaultDataDirectory)")
  }

  /// The JSON fields `config.json` records about the data: counts, variance, the image shape `[C, H, W]` and the
  /// latent grid `[h, w]` that `downsamples` makes of it.
  func recorded(downsamples: Int) -> [String: ConfigValue] {
    [
      "train_count": .integer(train.count), "test_count": .integer(test.count), "data_variance": .number(variance),
      "image_shape": .array([train.channels, train.height, train.width].map { .integer($0) }),
      "latent_grid": .array([train.height >> downsamples, train.width >> downsamples].map { .integer($0) }),
    ]
  }
}
