/// A fixed set of test images shown beside their reconstructions at every evaluation, so that grids from different
/// updates compare image for image: the originals fill the top rows, their reconstructions the rows below.
public struct ReconstructionSample: Sendable {
  /// The images shown (the first ones of the test split).
  public let images: ImageDataset
  /// Images per grid row.
  public let columns: Int

  /// Takes the first `maxImages` test images (at most), trimmed to whole rows of `columns` (at most).
  public init(test: ImageDataset, maxImages: Int = 32, columns: Int = 16) {
    let available = min(maxImages, test.count)
    self.columns = max(1, min(columns, available))
    images = test.prefix(available / self.columns * self.columns)
  }

  /// The grid of originals above reconstructions by `model` (computed without gradients).
  /// - Throws: `TensorError` if the images do not fit the model.
  public func grid(model: VQVAE) throws -> ImageGrid {
    let originals = images.batch(indices: Array(0..<images.count))
    let shape = [images.count, images.channels, images.height, images.width]
    let reconstructions = try withoutGrad { try model(try Tensor(originals, shape: shape)).reconstruction.data }
    return ImageGrid(
      images: originals + reconstructions, count: 2 * images.count, channels: images.channels, height: images.height,
      width: images.width, nrow: columns)
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
