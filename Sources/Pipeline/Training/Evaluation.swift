import Foundation

/// The figures of one pass of a model over a set of images, with gradients off.
public struct Evaluation: Sendable {
  /// Images evaluated.
  public let images: Int
  /// Mean training loss: normalised MSE plus the quantizer's loss.
  public let loss: Double
  /// Mean squared error (on the [-1, 1] scale) divided by the training images' variance.
  public let normalizedMSE: Double
  /// PSNR on the [0, 1] scale, `10 · log10(1 / MSE₀₁)` with `MSE₀₁ = MSE / 4`, from the pass's mean MSE.
  public let psnr: Double
  /// `exp(-Σ p log p)` of the code usage over the whole pass.
  public let perplexity: Double
  /// Distinct codes used over the whole pass.
  public let codesUsed: Int
  /// How often each code was chosen over the whole pass.
  public let codeCounts: [Int]

  /// The batch size of evaluations: as fast as 256 per image, with a quarter of the im2col scratch memory (85 MB
  /// less peak RSS for the default model).
  public static let defaultBatchSize = 64

  /// Runs `model` over `dataset` in batches of `batchSize`, stopping after `maxBatches` batches if given; the ranks
  /// of `group` take every `group.size`-th batch each and add up their sums.
  /// - Parameter dataVariance: the training images' pixel variance, the MSE's normaliser.
  /// - Throws: `TensorError` if the images do not fit the model.
  public init(
    model: VQVAE, dataset: ImageDataset, dataVariance: Double, batchSize: Int = defaultBatchSize,
    maxBatches: Int? = nil,
    group: ProcessGroup = .single
  ) throws {
    // A batch holds at least one image, so more batches than images change nothing (and cannot overflow).
    let count = min(dataset.count, batchSize * min(maxBatches ?? dataset.count, dataset.count))
    let k = model.configuration.embeddings
    // The loss and error sums, then the code counts: one all-reduce for the pass.
    var sums = [Double](repeating: 0, count: 2 + k)
    try withoutGrad {
      for (batch, start) in stride(from: 0, to: count, by: batchSize).enumerated()
      where batch % group.size == group.rank {
        let indices = Array(start..<min(start + batchSize, count))
        let images = try Tensor(
          dataset.batch(indices: indices), shape: [indices.count, dataset.channels, dataset.height, dataset.width])
        let (total, reconstructionError, _, quantization) = try model.loss(images, dataVariance: Float(dataVariance))
        sums[0] += Double(total.scalarValue) * Double(indices.count)
        sums[1] += Double(reconstructionError.scalarValue) * Double(indices.count)
        for code in quantization.indices { sums[2 + code] += 1 }
      }
    }
    group.sum(&sums)
    let codeCounts = sums[2...].map { Int($0) }
    images = count
    loss = sums[0] / Double(count)
    normalizedMSE = sums[1] / Double(count)
    psnr = 10 * log10(4 / (normalizedMSE * dataVariance))
    let positions = Double(codeCounts.reduce(0, +))
    let entropy = codeCounts.reduce(0.0) { sum, n in
      n == 0 ? sum : sum - Double(n) / positions * log(Double(n) / positions)
    }
    perplexity = exp(entropy)
    codesUsed = codeCounts.filter { $0 > 0 }.count
    self.codeCounts = codeCounts
  }

  /// The per-code usage of the pass as a histogram: how often each code index was chosen, on a log scale.
  public func usagePlot(update: Int) -> LinePlot {
    LinePlot(
      title: "Codes used at update \(update): \(codesUsed)/\(codeCounts.count)",
      xLabel: "code index (bars: uses on the test split)",
      series: [
        PlotSeries(
          name: "", x: codeCounts.indices.map(Double.init), y: codeCounts.map(Double.init), bars: true)
      ], logY: true)
  }

  /// The evaluation as a `metrics.jsonl` line of the test split.
  public func record(update: Int) -> MetricsRecord {
    MetricsRecord(
      split: "test", update: update, loss: loss, reconstructionError: normalizedMSE, perplexity: perplexity,
      codesUsed: Double(codesUsed), psnr: psnr)
  }
}
