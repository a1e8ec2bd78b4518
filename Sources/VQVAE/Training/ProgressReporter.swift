import Foundation

/// The terminal side of a run: a progress line (update/total, loss, recon error, perplexity, updates/s, ETA) redrawn
/// in place after every update on a terminal, or printed once per log interval when the output is a file or a pipe;
/// and messages (evaluations, checkpoints) that stay.
public final class ProgressReporter {
  /// Whether the line is redrawn in place (stdout is a terminal).
  public let interactive: Bool
  private let write: (String) -> Void
  private var lineShown = false
  private var lastDraw: UInt64 = 0

  /// - Parameters:
  ///   - interactive: redraw in place; by default, when stdout is a terminal.
  ///   - write: where text goes; by default stdout, flushed at once (it is fully buffered when piped).
  public init(
    interactive: Bool = isatty(STDOUT_FILENO) != 0,
    write: @escaping (String) -> Void = { text in
      print(text, terminator: "")
      fflush(nil)
    }
  ) {
    self.interactive = interactive
    self.write = write
  }

  /// After each update: redraws the line with the current interval's averages (on a terminal only, at most ten
  /// times a second, so that a fast small model does not flood the terminal).
  public func step(_ averages: MetricsRecord, total: Int) {
    let now = DispatchTime.now().uptimeNanoseconds
    guard interactive, now >= lastDraw + 100_000_000 || averages.update == total else { return }
    write("\r" + Self.line(averages, total: total) + "\u{1B}[K")
    lineShown = true
    lastDraw = now
  }

  /// At the end of each log interval: prints the interval's line (when not on a terminal).
  public func logged(_ record: MetricsRecord, total: Int) {
    if !interactive { write(Self.line(record, total: total) + "\n") }
  }

  /// Prints a line that stays, clearing the progress line first.
  public func message(_ text: String) {
    write((lineShown ? "\r\u{1B}[K" : "") + text + "\n")
    lineShown = false
  }

  /// Clears the progress line, so that what is printed next (an error, say) starts on a clean line.
  public func clear() {
    if lineShown { write("\r\u{1B}[K") }
    lineShown = false
  }

  /// `update 1200/5000  loss 0.1234  recon 0.0987  perplexity 43.2  12.3 upd/s  ETA 5m06s`.
  static func line(_ record: MetricsRecord, total: Int) -> String {
    var text =
      "update \(record.update)/\(total)  loss \(format(record.loss))  recon \(format(record.reconstructionError))"
      + "  perplexity \(String(format: "%.1f", record.perplexity))"
    if let rate = record.updatesPerSecond, rate > 0 {
      text += String(format: "  %.1f upd/s  ETA ", rate) + duration(Double(total - record.update) / rate)
    }
    return text
  }

  private static func format(_ value: Double) -> String { String(format: "%.4f", value) }

  /// A duration as `42s`, `5m06s` or `1h02m`.
  public static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, s / 60 % 60)
  }
}
