import Foundation

/// A VQ-VAE's reconstructions of a set of images: each image's error, and a picture of the first ones.
public struct Reconstruction: Sendable {
  /// Each image's MSE (on the [-1, 1] scale) divided by the training images' variance.
  public let normalizedMSE: [Double]
  /// Each image's PSNR on the [0, 1] scale, `10 · log10(1 / MSE₀₁)`.
  public let psnr: [Double]
  /// The normalised MSE over all the images, as training's evaluation reports it.
  public let meanNormalizedMSE: Double
  /// The PSNR of the mean MSE, as training's evaluation reports it.
  public let meanPSNR: Double
  /// The first `shown` images above their reconstructions, in pairs of rows.
  public let picture: ImageGrid
  /// The reconstructions of the images in the picture, NCHW on the [-1, 1] scale.
  public let shownReconstructions: [Float]

  /// Reconstructs `images` with `model` in batches of `batchSize`, gradients off.
  /// - Parameters:
  ///   - variance: the training images' pixel variance, the MSE's normaliser.
  ///   - shown: how many images the picture shows, `columns` to a row, each row of originals above its row of
  ///     reconstructions.
  /// - Throws: `TensorError` if the images do not fit the model.
  public init(
    model: VQVAE, images: ImageDataset, variance: Double, shown: Int = 64, columns: Int = 8,
    batchSize: Int = Evaluation.defaultBatchSize
  ) throws {
    let size = images.imageSize
    var (errors, shownImages, shownOutputs): ([Double], [Float], [Float]) = ([], [], [])
    try withoutGrad {
      for first in stride(from: 0, to: images.count, by: batchSize) {
        let batch = Array(first..<min(first + batchSize, images.count))
        let originals = images.batch(indices: batch)
        let input = try Tensor(originals, shape: [batch.count, images.channels, images.height, images.width])
        let outputs = try model(input).reconstruction.data
        for n in batch.indices {
          var sum = 0.0
          for i in (n * size)..<((n + 1) * size) {
            let d = Double(outputs[i] - originals[i])
            sum += d * d
          }
          errors.append(sum / Double(size))
        }
        let keep = max(0, min(batch.count, shown - first))
        shownImages += originals.prefix(keep * size)
        shownOutputs += outputs.prefix(keep * size)
      }
    }
    normalizedMSE = errors.map { $0 / variance }
    psnr = errors.map { 10 * log10(4 / $0) }
    let meanMSE = errors.reduce(0, +) / Double(errors.count)
    (meanNormalizedMSE, meanPSNR) = (meanMSE / variance, 10 * log10(4 / meanMSE))
    shownReconstructions = shownOutputs
    // Rows of originals, each followed by the row of their reconstructions.
    let count = shownImages.count / size
    let columns = max(1, min(columns, count))
    var interleaved: [Float] = []
    for row in stride(from: 0, to: count, by: columns) {
      let (range, n) = ((row * size)..<(min(row + columns, count) * size), min(columns, count - row))
      // A short last row is filled out in black, so that its reconstructions start a row of their own.
      let blank = [Float](repeating: -1, count: (columns - n) * size)
      interleaved += shownImages[range] + blank
      interleaved += shownOutputs[range] + blank
    }
    picture = ImageGrid(
      images: interleaved, count: interleaved.count / size, channels: images.channels, height: images.height,
      width: images.width, nrow: columns)
  }

  /// The errors as CSV: `image,name,label,normalized_mse,psnr_db`, one line per image.
  public func csv(names: [String], labels: [Int]) -> String {
    var lines = ["image,name,label,normalized_mse,psnr_db"]
    for n in normalizedMSE.indices {
      let label = labels.isEmpty ? "" : "\(labels[n])"
      lines.append(
        "\(n),\(csvField(names[n])),\(label),\(String(format: "%.6g", normalizedMSE[n])),"
          + String(format: "%.4f", psnr[n]))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

/// A CSV field: quoted, with its quotes doubled, when it holds a comma, a quote or a line break.
func csvField(_ text: String) -> String {
  guard text.contains(where: { ",\"\n\r".contains($0) }) else { return text }
  return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
