import Foundation
import SwiftProtobuf
import TensorEngine

/// A run's TensorBoard event file: `events.out.tfevents.<time>.<host>` in its folder, a sequence of TFRecord
/// records (little-endian length, masked CRC-32C of the length, an `Event` message, masked CRC-32C of the message)
/// that `tensorboard --logdir` reads while the run writes. Scalars, images (PNG), histograms and text.
public final class EventFile {
  /// The file.
  public let path: String
  /// The file, open for appending.
  private let fd: Int32

  /// Opens the event file in `folder` (made if missing). A new run (`keepingThrough` nil) starts a file; a resumed
  /// run keeps its file's events up to its checkpoint's update and drops later ones and any torn last record (it is
  /// about to redo them), so that no step appears twice.
  /// - Throws: `FileError` if the folder or the file cannot be written.
  public init(folder: String, keepingThrough update: Int?) throws {
    if !FileManager.default.fileExists(atPath: folder) {
      do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
        throw FileError(folder, "cannot create the TensorBoard folder: \(error.localizedDescription)")
      }
    }
    let existing = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
      .filter { $0.hasPrefix("events.out.tfevents.") && !$0.contains(".tmp-") }.sorted()
    if let update, let name = existing.last {
      path = (folder as NSString).appendingPathComponent(name)
      let kept = Self.records(in: (try? FileIO.read(path)) ?? []).records.filter { payload in
        guard let event = try? Tensorboard_Event(serializedBytes: payload) else { return false }
        return event.step <= update
      }
      try FileIO.writeAtomically(kept.flatMap(Self.frame), to: path)
    } else {
      var host = [CChar](repeating: 0, count: 256)
      gethostname(&host, host.count - 1)
      let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let name = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(hostName)"
      path = (folder as NSString).appendingPathComponent(name)
      var first = Tensorboard_Event()
      first.wallTime = Date().timeIntervalSince1970
      first.fileVersion = "brain.Event:2"
      try FileIO.writeAtomically(Self.frame(try first.serializedBytes()), to: path)
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
    guard fd >= 0 else { throw FileError(path, "cannot open to append: \(String(cString: strerror(errno)))") }
  }

  deinit { close(fd) }

  /// Scalars at `step`, one event: `(tag, value)` pairs such as `("train/loss", 0.12)`.
  public func scalars(_ values: [(tag: String, value: Double)], step: Int) throws {
    try write(
      step: step,
      values: values.map { tag, value in
        var entry = Tensorboard_Summary.Value()
        entry.tag = tag
        entry.simpleValue = Float(value)
        return entry
      })
  }

  /// A PNG image (its file's bytes) of `width x height` and `channels` (1 gray, 3 RGB) at `step`.
  public func image(tag: String, png: [UInt8], width: Int, height: Int, channels: Int, step: Int) throws {
    var image = Tensorboard_Summary.Image()
    (image.width, image.height, image.colorspace) = (Int32(width), Int32(height), Int32(channels))
    image.encodedImageString = Data(png)
    var entry = Tensorboard_Summary.Value()
    entry.tag = tag
    entry.image = image
    try write(step: step, values: [entry])
  }

  /// A histogram of integers 0..<counts.count, `counts[i]` of them equal to i (a code's uses), at `step`: one
  /// bucket per integer, each holding the values in (i - 1, i].
  public func histogram(tag: String, counts: [Int], step: Int) throws {
    var histogram = Tensorboard_HistogramProto()
    let total = Double(counts.reduce(0, +))
    let used = counts.indices.filter { counts[$0] > 0 }
    histogram.min = Double(used.first ?? 0)
    histogram.max = Double(used.last ?? 0)
    histogram.num = total
    histogram.sum = counts.indices.reduce(0.0) { $0 + Double($1) * Double(counts[$1]) }
    histogram.sumSquares = counts.indices.reduce(0.0) { $0 + Double($1 * $1) * Double(counts[$1]) }
    histogram.bucketLimit = counts.indices.map(Double.init)
    histogram.bucket = counts.map(Double.init)
    var entry = Tensorboard_Summary.Value()
    entry.tag = tag
    entry.histo = histogram
    try write(step: step, values: [entry])
  }

  /// Markdown text at `step`, as TensorBoard's text plugin reads it (a string tensor).
  public func text(tag: String, markdown: String, step: Int) throws {
    var tensor = Tensorboard_TensorProto()
    tensor.dtype = .dtString
    tensor.stringVal = [Data(markdown.utf8)]
    var dimension = Tensorboard_TensorShapeProto.Dim()
    dimension.size = 1
    tensor.tensorShape.dim = [dimension]
    var entry = Tensorboard_Summary.Value()
    entry.tag = tag
    entry.metadata.pluginData.pluginName = "text"
    entry.tensor = tensor
    try write(step: step, values: [entry])
  }

  /// Appends one event holding `values`.
  private func write(step: Int, values: [Tensorboard_Summary.Value]) throws {
    var event = Tensorboard_Event()
    event.wallTime = Date().timeIntervalSince1970
    event.step = Int64(step)
    event.summary.value = values
    try FileIO.append(Self.frame(try event.serializedBytes()), to: fd, path: path)
  }

  /// `payload` as one TFRecord record.
  static func frame(_ payload: [UInt8]) -> [UInt8] {
    let length = withUnsafeBytes(of: UInt64(payload.count).littleEndian, Array.init)
    func crc<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [UInt8] {
      withUnsafeBytes(of: CRC32C.masked(bytes).littleEndian, Array.init)
    }
    return length + crc(length) + payload + crc(payload)
  }

  /// The payloads of the TFRecord records in `bytes`, up to the first that is cut short or fails a checksum
  /// (`intactBytes`: where that one starts, the length of the good part).
  static func records(in bytes: [UInt8]) -> (records: [[UInt8]], intactBytes: Int) {
    var (records, offset) = ([[UInt8]](), 0)
    func word<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
      bytes[at..<(at + MemoryLayout<T>.size)].reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }
    while bytes.count - offset >= 16 {
      let length = word(offset, UInt64.self)
      guard word(offset + 8, UInt32.self) == CRC32C.masked(bytes[offset..<(offset + 8)]),
        length <= UInt64(bytes.count - offset - 16)
      else { break }
      let payload = Array(bytes[(offset + 12)..<(offset + 12 + Int(length))])
      guard word(offset + 12 + Int(length), UInt32.self) == CRC32C.masked(payload) else { break }
      records.append(payload)
      offset += 16 + Int(length)
    }
    return (records, offset)
  }
}
