/// A fixed set of test images shown beside their reconstructions at every evaluation, so that grids from different
/// updates compare image for image: the originals fill the top rows, their reconstructions the rows below.
public struct ReconstructionSample: Sendable {
  /// The test split.
  public let test: ImageDataset
  /// The images shown: evenly spaced over the test split, so that a folder sorted by class shows every class.
  public let indices: [Int]
  /// Images per grid row.
  public let columns: Int

  /// Takes `maxImages` test images (at most), trimmed to whole rows of `columns` (at most).
  public init(test: ImageDataset, maxImages: Int = 32, columns: Int = 16) {
    let available = min(maxImages, test.count)
    self.columns = max(1, min(columns, available))
    let count = available / self.columns * self.columns
    (self.test, indices) = (test, (0..<count).map { $0 * test.count / count })
  }

  /// The grid of originals above reconstructions by `model` (computed without gradients).
  /// - Throws: `TensorError` if the images do not fit the model.
  public func grid(model: VQVAE) throws -> ImageGrid {
    let originals = test.batch(indices: indices)
    let shape = [indices.count, test.channels, test.height, test.width]
    let reconstructions = try withoutGrad { try model(try Tensor(originals, shape: shape)).reconstruction.data }
    return ImageGrid(
      images: originals + reconstructions, count: 2 * indices.count, channels: test.channels, height: test.height,
      width: test.width, nrow: columns)
  }
}

/// The loss curves of a run from its metrics: training loss and reconstruction error per log interval, and the test
/// evaluations, on a log scale.
public func lossPlot(_ records: [MetricsRecord]) -> LinePlot {
  let train = records.filter { $0.split == "train" }
  let test = records.filter { $0.split == "test" }
  func series(_ name: String, _ records: [MetricsRecord], _ value: (MetricsRecord) -> Double) -> PlotSeries {
    PlotSeries(name: name, x: records.map { Double($0.update) }, y: records.map(value))
  }
  return LinePlot(
    title: "VQ-VAE training", xLabel: "update",
    series: [
      series("train loss", train, \.loss), series("train recon error", train, \.reconstructionError),
      series("test loss", test, \.loss), series("test recon error", test, \.reconstructionError),
    ], logY: true)
}
