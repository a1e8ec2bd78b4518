import Foundation
import TensorEngine

/// A set of same-sized images stored as UInt8 pixels in NCHW order, with optional class labels.
///
/// Pixels stay as bytes (4x smaller than Float); batches are scaled to [-1, 1] as `x / 127.5 - 1` on the way out.
/// Zero padding (28x28 MNIST-style images served as 32x32) is added as batches are made, not stored: the stored bytes
/// of Fashion-MNIST's training split are 47 MB where padded they would be 61 MB.
public struct ImageDataset: Sendable {
  /// The stored pixels, image after image, each image channel-planar (C x `storedHeight` x `storedWidth`); see
  /// `servedPixels` for the padded images that batches hold.
  public let pixels: [UInt8]
  /// One class index per image, or empty for unlabeled data.
  public let labels: [Int]
  /// Number of classes the labels index into (0 for unlabeled data).
  public let classCount: Int
  /// Number of images.
  public let count: Int
  /// Channels per image (1 for gray, 3 for RGB).
  public let channels: Int
  /// Image height in pixels, as batches serve it (padding included).
  public let height: Int
  /// Image width in pixels, as batches serve it (padding included).
  public let width: Int
  /// The stored images' height; smaller than `height` when batches pad them.
  public let storedHeight: Int
  /// The stored images' width; smaller than `width` when batches pad them.
  public let storedWidth: Int

  /// Pixels per image as served (`channels * height * width`).
  public var imageSize: Int { channels * height * width }

  /// Pixels per stored image.
  private var storedImageSize: Int { channels * storedHeight * storedWidth }

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
    (self.height, self.width, self.storedHeight, self.storedWidth) = (height, width, height, width)
  }

  /// `stored` served at `height x width`: the same bytes, padded as batches are made.
  private init(_ stored: ImageDataset, height: Int, width: Int) {
    (pixels, labels, classCount, count, channels) = (
      stored.pixels, stored.labels, stored.classCount, stored.count, stored.channels
    )
    (self.height, self.width, storedHeight, storedWidth) = (height, width, stored.storedHeight, stored.storedWidth)
  }

  /// Byte-to-Float table: the same `x / 127.5 - 1` for every batch, without a division per pixel.
  private static let scaleTable: [Float] = (0..<256).map { Float($0) / 127.5 - 1 }

  /// Writes the images at `indices`, scaled to [-1, 1] and padded, into `buffer` (NCHW, `indices.count *
  /// imageSize` floats).
  public func fillBatch(indices: [Int], into buffer: UnsafeMutableBufferPointer<Float>) {
    let (size, stored) = (imageSize, storedImageSize)
    precondition(buffer.count >= indices.count * size, "batch buffer too small")
    let (top, left) = ((height - storedHeight) / 2, (width - storedWidth) / 2)
    Self.scaleTable.withUnsafeBufferPointer { table in
      pixels.withUnsafeBufferPointer { src in
        for (slot, index) in indices.enumerated() {
          precondition(index >= 0 && index < count, "image index \(index) out of range 0..<\(count)")
          let (from, to) = (index * stored, slot * size)
          guard size != stored else {
            for i in 0..<size { buffer[to + i] = table[Int(src[from + i])] }
            continue
          }
          // Byte 0 around the stored image, as `padPixels` stores it.
          buffer.baseAddress!.advanced(by: to).update(repeating: table[0], count: size)
          for plane in 0..<channels {
            for row in 0..<storedHeight {
              let source = from + (plane * storedHeight + row) * storedWidth
              let target = to + plane * height * width + (top + row) * width + left
              for x in 0..<storedWidth { buffer[target + x] = table[Int(src[source + x])] }
            }
          }
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

  /// Variance of all pixel values after scaling to [-1, 1] (population variance, in Double), padding included: the
  /// usual normaliser of the VQ-VAE reconstruction MSE. Counted through a byte histogram, so it is exact and fast.
  public func pixelVariance() -> Double {
    guard !pixels.isEmpty else { return 0 }
    var histogram = [Int](repeating: 0, count: 256)
    for p in pixels { histogram[Int(p)] += 1 }
    histogram[0] += count * (imageSize - storedImageSize)
    let n = Double(count * imageSize)
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
    return sharingShape(
      pixels: Array(pixels[0..<(k * storedImageSize)]), count: k, labels: labels.isEmpty ? [] : Array(labels[0..<k]))
  }

  /// The images at `indices`, in that order, with their labels.
  public func subset(_ indices: [Int]) -> ImageDataset {
    var selected: [UInt8] = []
    selected.reserveCapacity(indices.count * storedImageSize)
    for index in indices {
      precondition(index >= 0 && index < count, "image index \(index) out of range 0..<\(count)")
      selected += pixels[(index * storedImageSize)..<((index + 1) * storedImageSize)]
    }
    return sharingShape(pixels: selected, count: indices.count, labels: batchLabels(indices: indices))
  }

  /// Other stored images of this dataset's shapes, stored and served.
  private func sharingShape(pixels: [UInt8], count: Int, labels: [Int]) -> ImageDataset {
    let stored = ImageDataset(
      pixels: pixels, count: count, channels: channels, height: storedHeight, width: storedWidth, labels: labels,
      classCount: classCount)
    return ImageDataset(stored, height: height, width: width)
  }

  /// The images zero-padded (byte 0, before scaling) to `size x size`, centred: 28x28 gets 2 pixels each side.
  /// The bytes are shared, not copied: batches add the padding. Unchanged when the images already have that size.
  public func padded(to size: Int) -> ImageDataset {
    precondition(size >= height && size >= width, "cannot pad \(height)x\(width) images down to \(size)x\(size)")
    precondition(height == storedHeight && width == storedWidth, "the images are padded already")
    return size == height && size == width ? self : ImageDataset(self, height: size, width: size)
  }

  /// The images as batches serve them, in bytes: `pixels` padded to `height x width` (a copy when padded).
  public func servedPixels() -> [UInt8] {
    guard imageSize != storedImageSize else { return pixels }
    return pixels.withUnsafeBufferPointer {
      Self.padPixels($0, count: count * channels, height: storedHeight, width: storedWidth, to: height)
    }
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
