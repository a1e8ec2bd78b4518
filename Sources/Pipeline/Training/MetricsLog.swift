import Foundation

/// One line of a `metrics.jsonl`: written as one JSON object, read back when a run resumes. A line is its
/// `fields`; figures are written to 6 significant digits (enough to compare, short enough to read), and a figure
/// that is no finite number as `null`, which reads back as NaN.
public protocol MetricsLine: Codable, Sendable {
  /// `"train"` or `"test"`.
  var split: String { get }
  /// Updates done when the line was written.
  var update: Int { get }
  /// The line's JSON fields.
  var fields: [String: ConfigValue] { get }
  /// Reads a line back from its fields.
  /// - Throws: `TrainingError` naming a missing or mistyped field.
  init(fields: MetricsFields) throws
}

extension MetricsLine {
  public func encode(to encoder: Swift.Encoder) throws { try ConfigValue.object(fields).encode(to: encoder) }
  public init(from decoder: Swift.Decoder) throws {
    try self.init(fields: MetricsFields(values: try [String: ConfigValue](from: decoder)))
  }
}

/// The fields of a metrics line being read back.
public struct MetricsFields {
  let values: [String: ConfigValue]

  func string(_ key: String) throws -> String {
    guard case .string(let text)? = values[key] else { throw TrainingError("metrics line: '\(key)' is no string") }
    return text
  }
  func integer(_ key: String) throws -> Int { try (values[key] ?? .null).integer("metrics line: \(key)") }
  func optionalInteger(_ key: String) throws -> Int? {
    try values[key].map { try $0.integer("metrics line: \(key)") }
  }
  /// A figure; NaN for `null`.
  func figure(_ key: String) throws -> Double {
    guard values[key] != nil else { throw TrainingError("metrics line: '\(key)' is missing") }
    return try optionalFigure(key) ?? .nan
  }
  /// A figure that only some lines have; nil when absent, NaN for `null`.
  func optionalFigure(_ key: String) throws -> Double? {
    switch values[key] {
    case nil: nil
    case .null?: .nan
    case .integer(let value)?: Double(value)
    case .number(let value)?: value
    case let other?: throw TrainingError("metrics line: '\(key)' must be a number, got \(other)")
    }
  }
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

  public var fields: [String: ConfigValue] {
    var fields: [String: ConfigValue] = [
      "split": .string(split), "update": .integer(update), "loss": .rounded(loss),
      "recon_error": .rounded(reconstructionError), "perplexity": .rounded(perplexity),
      "codes_used": .rounded(codesUsed),
    ]
    if let updatesPerSecond { fields["updates_per_s"] = .rounded(updatesPerSecond) }
    if let psnr { fields["psnr_db"] = .rounded(psnr) }
    if let deadCodesRestarted { fields["dead_codes_restarted"] = .integer(deadCodesRestarted) }
    return fields
  }

  public init(fields: MetricsFields) throws {
    self.init(
      split: try fields.string("split"), update: try fields.integer("update"), loss: try fields.figure("loss"),
      reconstructionError: try fields.figure("recon_error"), perplexity: try fields.figure("perplexity"),
      codesUsed: try fields.figure("codes_used"), updatesPerSecond: try fields.optionalFigure("updates_per_s"),
      psnr: try fields.optionalFigure("psnr_db"), deadCodesRestarted: try fields.optionalInteger("dead_codes_restarted")
    )
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
  /// `metrics.jsonl`, open for appending.
  private let fd: Int32

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
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
    guard fd >= 0 else { throw TrainingError("\(path): cannot open to append: \(String(cString: strerror(errno)))") }
  }

  deinit { close(fd) }

  /// Appends `record` as one line.
  /// - Throws: `TrainingError` if the write fails (disk full, folder gone).
  public func append(_ record: Record) throws {
    let line = Array(try JSONFile.encode(record, pretty: false)) + [UInt8(ascii: "\n")]
    do { try FileIO.append(line, to: fd, path: path) } catch { throw TrainingError("\(error)") }
    records.append(record)
  }
}
