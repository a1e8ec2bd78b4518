import Foundation

/// Ctrl-C (SIGINT) and SIGTERM as a request to stop. The handler only records the signal; the training loop sees it
/// after the current update, saves a checkpoint and returns. The handler also restores the default action, so a
/// second Ctrl-C ends the process at once, which is safe since every file of a run is replaced atomically.
public enum StopSignal {
  // Written by the signal handler, read by the training loop: a plain word, as a C `sig_atomic_t` would be.
  nonisolated(unsafe) private static var received: Int32 = 0

  /// Installs the handler for SIGINT and SIGTERM.
  public static func install() {
    for signalNumber in [SIGINT, SIGTERM] {
      _ = signal(signalNumber) { number in
        StopSignal.received = number
        _ = signal(number, SIG_DFL)
      }
    }
  }

  /// The signal received since `install`, if any.
  public static var pending: Int32? { received == 0 ? nil : received }
}
