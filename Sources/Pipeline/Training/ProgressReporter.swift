import Foundation

/// The terminal side of a long job: a progress line redrawn in place on a terminal, or printed once per log interval
/// when the output is a file or a pipe; and messages (evaluations, checkpoints) that stay.
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

  /// Redraws the progress line with `text` (on a terminal only, at most ten times a second unless `final`, so that
  /// a fast loop does not flood the terminal).
  public func status(_ text: String, final: Bool = false) {
    let now = DispatchTime.now().uptimeNanoseconds
    guard interactive, now >= lastDraw + 100_000_000 || final else { return }
    write("\r" + text + "\u{1B}[K")
    lineShown = true
    lastDraw = now
  }

  /// Prints `text` as a line of its own when the output is a file or a pipe, where the progress line is not drawn
  /// (once per log interval, say).
  public func logged(_ text: String) {
    if !interactive { write(text + "\n") }
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

  /// `  12.3 upd/s  ETA 5m06s` for `remaining` more steps at `rate` steps per second; empty without a rate.
  public static func speed(_ rate: Double?, remaining: Int, unit: String = "upd/s") -> String {
    guard let rate, rate > 0 else { return "" }
    return String(format: "  %.1f \(unit)  ETA ", rate) + duration(Double(remaining) / rate)
  }

  /// A duration as `42s`, `5m06s` or `1h02m`.
  public static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite && abs(seconds) < 1e15 else { return "?" }
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, s / 60 % 60)
  }
}
