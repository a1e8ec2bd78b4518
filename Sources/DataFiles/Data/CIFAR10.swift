import Foundation
import TensorEngine

/// Reader for the binary version of CIFAR-10 (`cifar-10-batches-bin`).
public enum CIFAR10 {
  /// Bytes per record: one label byte, then a 3 x 32 x 32 image, channel-planar RGB.
  public static let recordSize = 1 + 3 * 32 * 32

  /// Loads and concatenates batch files (for example `data_batch_1.bin` ... `data_batch_5.bin`).
  public static func load(batches paths: [String]) throws -> ImageDataset {
    let imageSize = recordSize - 1
    var pixels: [UInt8] = []
    var labels: [Int] = []
    for path in paths {
      let bytes = try DatasetFile.readRaw(path)
      if bytes.isEmpty { throw FileError(path, "file is empty") }
      guard bytes.count % recordSize == 0 else {
        throw FileError(
          path, "size \(bytes.count) bytes is not a multiple of the \(recordSize)-byte CIFAR-10 record")
      }
      let records = bytes.count / recordSize
      pixels.reserveCapacity(pixels.count + records * imageSize)
      labels.reserveCapacity(labels.count + records)
      for r in 0..<records {
        let start = r * recordSize
        let label = Int(bytes[start])
        guard label < 10 else { throw FileError(path, "label \(label) of record \(r) is out of range 0...9") }
        labels.append(label)
        pixels.append(contentsOf: bytes[(start + 1)..<(start + recordSize)])
      }
    }
    return ImageDataset(
      pixels: pixels, count: labels.count, channels: 3, height: 32, width: 32, labels: labels, classCount: 10)
  }
}
