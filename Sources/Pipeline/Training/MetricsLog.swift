import Foundation

/// One line of a `metrics.jsonl`: written as one JSON object, read back when a run resumes.
public protocol MetricsLine: Sendable {
  /// `"train"` or `"test"`.
  var split: String { get }
  /// Updates done when the line was written.
  var update: Int { get }
  /// The line as one JSON object (no newline).
  var json: String { get }
  /// Reads a line back from its parsed JSON object; nil if a field is missing.
  init?(json object: [String: Any])
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

  /// The record as one line of JSON (no newline).
  public var json: String {
    var fields: [(String, JSONScalar)] = [
      ("split", .string(split)), ("update", .integer(update)), ("loss", .rounded(loss)),
      ("recon_error", .rounded(reconstructionError)), ("perplexity", .rounded(perplexity)),
      ("codes_used", .rounded(codesUsed)),
    ]
    if let updatesPerSecond { fields.append(("updates_per_s", .rounded(updatesPerSecond))) }
    if let psnr { fields.append(("psnr_db", .rounded(psnr))) }
    if let deadCodesRestarted { fields.append(("dead_codes_restarted", .integer(deadCodesRestarted))) }
    return JSONText.object(fields)
  }

  /// `update 1200/5000  loss 0.1234  recon 0.0987  perplexity 43.2  12.3 upd/s  ETA 5m06s`.
  func progressLine(total: Int) -> String {
    String(
      format: "update %d/%d  loss %.4f  recon %.4f  perplexity %.1f", update, total, loss, reconstructionError,
      perplexity) + ProgressReporter.speed(updatesPerSecond, remaining: total - update)
  }

  /// Reads a record back from a parsed line; nil if a field is missing (values written as null read as NaN).
  public init?(json object: [String: Any]) {
    func number(_ key: String) -> Double? {
      if object[key] is NSNull { return .nan }
      return (object[key] as? NSNumber)?.doubleValue
    }
    guard let split = object["split"] as? String, let update = (object["update"] as? NSNumber)?.intValue,
      let loss = number("loss"), let reconstruction = number("recon_error"), let perplexity = number("perplexity"),
      let codes = number("codes_used")
    else { return nil }
    self.init(
      split: split, update: update, loss: loss, reconstructionError: reconstruction, perplexity: perplexity,
      codesUsed: codes, updatesPerSecond: number("updates_per_s"), psnr: number("psnr_db"),
      deadCodesRestarted: (object["dead_codes_restarted"] as? NSNumber)?.intValue)
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
    if let update, let text = try? String(contentsOfFile: path, encoding: .utf8) {
      for line in text.split(separator: "\n") {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          let record = Record(json: object), record.update <= update
        else { continue }
        records.append(record)
        kept += line + "\n"
      }
    }
    try JSONText.write(kept, to: path)
    guard let handle = FileHandle(forWritingAtPath: path) else { throw TrainingError("\(path): cannot open to append") }
    handle.seekToEndOfFile()
    self.handle = handle
  }

  deinit { try? handle.close() }

  /// Appends `record` as one line.
  /// - Throws: `TrainingError` if the write fails (disk full, folder gone).
  public func append(_ record: Record) throws {
    do {
      try handle.write(contentsOf: Data((record.json + "\n").utf8))
    } catch {
      throw TrainingError("\(path): cannot append: \((error as NSError).localizedDescription)")
    }
    records.append(record)
  }
}
