import Foundation

/// One line of a `metrics.jsonl`: written as one JSON object, read back when a run resumes.
public protocol MetricsLine: Codable, Sendable {
  /// `"train"` or `"test"`.
  var split: String { get }
  /// Updates done when the line was written.
  var update: Int { get }
}

/// A figure of a metrics line: written to 6 significant digits (enough to compare, short enough to read), `null`
/// when it is not a finite number, and read back as NaN from `null`.
struct Figure: Codable {
  let value: Double
  init(_ value: Double) { self.value = value }
  init(from decoder: Swift.Decoder) throws {
    let container = try decoder.singleValueContainer()
    value = container.decodeNil() ? .nan : try container.decode(Double.self)
  }
  func encode(to encoder: Swift.Encoder) throws { try ConfigValue.rounded(value).encode(to: encoder) }
}

extension KeyedEncodingContainer {
  /// Encodes a figure (see `Figure`), or nothing for nil.
  mutating func encodeFigure(_ value: Double?, forKey key: Key) throws {
    if let value { try encode(Figure(value), forKey: key) }
  }
}

extension KeyedDecodingContainer {
  /// Decodes a figure (see `Figure`); nil when the key is absent.
  func decodeFigure(_ key: Key) throws -> Double? { try decodeIfPresent(Figure.self, forKey: key)?.value }
}

/// One line of the VQ-VAE's `metrics.jsonl`: the averages over one log interval of training, or one evaluation of
/// the test split.
public struct MetricsRecord: MetricsLine, Equatable {
  /// `"train"` or `"test"`.
  public var split: String
  /// Updates done when the line was written.
  public var update: Int
  /// Reconstruction error plus the quantizer's loss.
  public var loss: Double
  /// MSE divided by the training images' variance.
  public var reconstructionError: Double
  /// `exp(-Σ p log p)` of the code usage: the mean over the interval's batches, or over the whole test pass.
  public var perplexity: Double
  /// Distinct codes used over the interval's batches, or over the whole test pass.
  public var codesUsed: Double
  /// Training speed over the interval (training lines only).
  public var updatesPerSecond: Double?
  /// PSNR on the [0, 1] pixel scale (test lines only).
  public var psnr: Double?
  /// Codes restarted from encoder outputs over the interval (training lines only).
  public var deadCodesRestarted: Int?

  /// Creates a record.
  public init(
    split: String, update: Int, loss: Double, reconstructionError: Double, perplexity: Double, codesUsed: Double,
    updatesPerSecond: Double? = nil, psnr: Double? = nil, deadCodesRestarted: Int? = nil
  ) {
    (self.split, self.update, self.loss, self.reconstructionError) = (split, update, loss, reconstructionError)
    (self.perplexity, self.codesUsed, self.updatesPerSecond, self.psnr) = (
      perplexity, codesUsed, updatesPerSecond, psnr
    )
    self.deadCodesRestarted = deadCodesRestarted
  }

  enum CodingKeys: String, CodingKey {
    case split, update, loss, perplexity
    case reconstructionError = "recon_error"
    case codesUsed = "codes_used"
    case updatesPerSecond = "updates_per_s"
    case psnr = "psnr_db"
    case deadCodesRestarted = "dead_codes_restarted"
  }

  public func encode(to encoder: Swift.Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(split, forKey: .split)
    try container.encode(update, forKey: .update)
    try container.encodeFigure(loss, forKey: .loss)
    try container.encodeFigure(reconstructionError, forKey: .reconstructionError)
    try container.encodeFigure(perplexity, forKey: .perplexity)
    try container.encodeFigure(codesUsed, forKey: .codesUsed)
    try container.encodeFigure(updatesPerSecond, forKey: .updatesPerSecond)
    try container.encodeFigure(psnr, forKey: .psnr)
    try container.encodeIfPresent(deadCodesRestarted, forKey: .deadCodesRestarted)
  }

  /// Reads a line back (values written as null read as NaN).
  public init(from decoder: Swift.Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      split: try container.decode(String.self, forKey: .split), update: try container.decode(Int.self, forKey: .update),
      loss: try container.decode(Figure.self, forKey: .loss).value,
      reconstructionError: try container.decode(Figure.self, forKey: .reconstructionError).value,
      perplexity: try container.decode(Figure.self, forKey: .perplexity).value,
      codesUsed: try container.decode(Figure.self, forKey: .codesUsed).value,
      updatesPerSecond: try container.decodeFigure(.updatesPerSecond), psnr: try container.decodeFigure(.psnr),
      deadCodesRestarted: try container.decodeIfPresent(Int.self, forKey: .deadCodesRestarted))
  }

  /// `update 1200/5000  loss 0.1234  recon 0.0987  perplexity 43.2  12.3 upd/s  ETA 5m06s`.
  func progressLine(total: Int) -> String {
    String(
      format: "update %d/%d  loss %.4f  recon %.4f  perplexity %.1f", update, total, loss, reconstructionError,
      perplexity) + ProgressReporter.speed(updatesPerSecond, remaining: total - update)
  }

}

/// `metrics.jsonl`, appended to one line at a time (each line reaches the file at once, so a killed run keeps
/// everything it logged), with the records kept in memory for the loss plot.
public final class MetricsLog<Record: MetricsLine> {
  /// The file.
  public let path: String
  /// Every record in the file, oldest first.
  public private(set) var records: [Record] = []
  private let handle: FileHandle

  /// Opens the log of a run. A new run (`keepingThrough` nil) starts an empty file; a resumed run keeps the lines up
  /// to its checkpoint's update and drops later ones (and any torn last line), which it is about to redo.
  /// - Throws: `TrainingError` if the file cannot be written.
  public init(path: String, keepingThrough update: Int?) throws {
    self.path = path
    var kept = ""
    if let update, let bytes = try? FileIO.read(path) {
      for line in bytes.split(separator: UInt8(ascii: "\n")) {
        guard let record = try? JSONDecoder().decode(Record.self, from: Data(line)), record.update <= update
        else { continue }
        records.append(record)
        kept += String(decoding: line, as: UTF8.self) + "\n"
      }
    }
    do { try FileIO.writeAtomically(Array(kept.utf8), to: path) } catch { throw TrainingError("\(error)") }
    guard let handle = FileHandle(forWritingAtPath: path) else { throw TrainingError("\(path): cannot open to append") }
    handle.seekToEndOfFile()
    self.handle = handle
  }

  deinit { try? handle.close() }

  /// Appends `record` as one line.
  /// - Throws: `TrainingError` if the write fails (disk full, folder gone).
  public func append(_ record: Record) throws {
    do {
      try handle.write(contentsOf: try JSONFile.encode(record, pretty: false) + Data("\n".utf8))
    } catch {
      throw TrainingError("\(path): cannot append: \((error as NSError).localizedDescription)")
    }
    records.append(record)
  }
}
