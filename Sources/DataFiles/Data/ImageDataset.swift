import Foundation
import TensorEngine

/// A set of same-sized images stored as UInt8 pixels in NCHW order, with optional class labels.
///
/// Pixels stay as bytes (4x smaller than Float); batches are scaled to [-1, 1] as `x / 127.5 - 1` on the way out.
public struct ImageDataset: Sendable {
  /// All pixels, image after image, each image channel-planar (C x H x W).
  public let pixels: [UInt8]
  /// One class index per image, or empty for unlabeled data.
  public let labels: [Int]
  /// Number of classes the labels index into (0 for unlabeled data).
  public let classCount: Int
  /// Number of images.
  public let count: Int
  /// Channels per image (1 for gray, 3 for RGB).
  public let channels: Int
  /// Image height in pixels.
  public let height: Int
  /// Image width in pixels.
  public let width: Int

  /// Pixels per image (`channels * height * width`).
  public var imageSize: Int { channels * height * width }

  /// Creates a dataset; `pixels` must hold `count` images of `channels x height x width` bytes, and `labels`
  /// either nothing or one label per image.
  public init(
    pixels: [UInt8], count: Int, channels: Int, height: Int, width: Int, labels: [Int] = [], classCount: Int = 0
  ) {
    precondition(pixels.count == count * channels * height * width, "pixel count does not match the shape")
    precondition(labels.isEmpty || labels.count == count, "need one label per image or none")
    self.pixels = pixels
    self.labels = labels
    self.classCount = classCount
    self.count = count
    self.channels = channels
    self.height = height
    self.width = width
  }

  /// Byte-to-Float table: the same `x / 127.5 - 1` for every batch, without a division per pixel.
  private static let scaleTable: [Float] = (0..<256).map { Float($0) / 127.5 - 1 }

  /// Writes the images at `indices`, scaled to [-1, 1], into `buffer` (NCHW, `indices.count * imageSize` floats).
  public func fillBatch(indices: [Int], into buffer: UnsafeMutableBufferPointer<Float>) {
    let size = imageSize
    precondition(buffer.count >= indices.count * size, "batch buffer too small")
    Self.scaleTable.withUnsafeBufferPointer { table in
      pixels.withUnsafeBufferPointer { src in
        for (slot, index) in indices.enumerated() {
          precondition(index >= 0 && index < count, "image index \(index) out of range 0..<\(count)")
          let from = index * size, to = slot * size
          for i in 0..<size { buffer[to + i] = table[Int(src[from + i])] }
        }
      }
    }
  }

  /// The images at `indices`, scaled to [-1, 1], as one NCHW array.
  public func batch(indices: [Int]) -> [Float] {
    [Float](unsafeUninitializedCapacity: indices.count * imageSize) { buffer, initialized in
      fillBatch(indices: indices, into: buffer)
      initialized = indices.count * imageSize
    }
  }

  /// The labels at `indices` (empty for unlabeled data).
  public func batchLabels(indices: [Int]) -> [Int] {
    labels.isEmpty ? [] : indices.map { labels[$0] }
  }

  /// Variance of all pixel values after scaling to [-1, 1] (population variance, in Double), the usual
  /// normaliser of the VQ-VAE reconstruction MSE. Counted through a byte histogram, so it is exact and fast.
  public func pixelVariance() -> Double {
    guard !pixels.isEmpty else { return 0 }
    var histogram = [Int](repeating: 0, count: 256)
    for p in pixels { histogram[Int(p)] += 1 }
    let n = Double(pixels.count)
    var mean = 0.0
    for (byte, k) in histogram.enumerated() { mean += Double(k) * (Double(byte) / 127.5 - 1) }
    mean /= n
    var sum = 0.0
    for (byte, k) in histogram.enumerated() {
      let d = Double(byte) / 127.5 - 1 - mean
      sum += Double(k) * d * d
    }
    return sum / n
  }

  /// The first `n` images (all of them if there are fewer), for quick runs and tests.
  public func prefix(_ n: Int) -> ImageDataset {
    let k = min(max(n, 0), count)
    return ImageDataset(
      pixels: Array(pixels[0..<(k * imageSize)]), count: k, channels: channels, height: height, width: width,
      labels: labels.isEmpty ? [] : Array(labels[0..<k]), classCount: classCount)
  }

  /// The images at `indices`, in that order, with their labels.
  public func subset(_ indices: [Int]) -> ImageDataset {
    var selected: [UInt8] = []
    selected.reserveCapacity(indices.count * imageSize)
    for index in indices {
      precondition(index >= 0 && index < count, "image index \(index) out of range 0..<\(count)")
      selected += pixels[(index * imageSize)..<((index + 1) * imageSize)]
    }
    return ImageDataset(
      pixels: selected, count: indices.count, channels: channels, height: height, width: width,
      labels: batchLabels(indices: indices), classCount: classCount)
  }

  /// The images zero-padded (byte 0, before scaling) to `size x size`, centred: 28x28 gets 2 pixels each side.
  /// Returns the dataset unchanged when it already has that size.
  public func padded(to size: Int) -> ImageDataset {
    precondition(size >= height && size >= width, "cannot pad \(height)x\(width) images down to \(size)x\(size)")
    if size == height && size == width { return self }
    let padded = pixels.withUnsafeBufferPointer {
      Self.padPixels($0, count: count * channels, height: height, width: width, to: size)
    }
    return ImageDataset(
      pixels: padded, count: count, channels: channels, height: size, width: size, labels: labels,
      classCount: classCount)
  }

  /// Copies `planes` images of `height x width` bytes from `source` into zeroed `size x size` planes, one
  /// memcpy per row; loaders call it on the decompressed file so the pixels are copied only once.
  static func padPixels(
    _ source: UnsafeBufferPointer<UInt8>, count planes: Int, height: Int, width: Int, to size: Int
  ) -> [UInt8] {
    let top = (size - height) / 2, left = (size - width) / 2
    var result = [UInt8](repeating: 0, count: planes * size * size)
    result.withUnsafeMutableBufferPointer { dst in
      guard let dstBase = dst.baseAddress, let srcBase = source.baseAddress else { return }
      for plane in 0..<planes {
        for row in 0..<height {
          let from = srcBase + (plane * height + row) * width
          let to = dstBase + plane * size * size + (top + row) * size + left
          to.update(from: from, count: width)
        }
      }
    }
    return result
  }
}
