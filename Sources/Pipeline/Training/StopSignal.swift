import Foundation

/// Ctrl-C (SIGINT) and SIGTERM as a request to stop. The handler records the first signal and from then on ignores
/// both, so that a second Ctrl-C a moment later cannot kill the process before the checkpoint of the first is on
/// disk; the training loop sees the request after the current update, saves a checkpoint and returns, and the
/// command exits. (kill -9 still ends it at once, which is safe: every file of a run is replaced atomically.)
public enum StopSignal {
  // Written by the signal handler, read by the training loop: a plain word, as a C `sig_atomic_t` would be.
  nonisolated(unsafe) private static var received: Int32 = 0
  /// Whether the handler keeps its notice to itself (the ranks beside an MPI job's leader, which alone prints).
  nonisolated(unsafe) public static var quiet = false

  /// Installs the handler for SIGINT and SIGTERM.
  public static func install() {
    for signalNumber in [SIGINT, SIGTERM] {
      _ = signal(signalNumber) { number in
        _ = signal(SIGINT, SIG_IGN)
        _ = signal(SIGTERM, SIG_IGN)
        StopSignal.received = number
        guard !StopSignal.quiet else { return }
        // write(2) is async-signal-safe; the text is a constant.
        let notice: StaticString = "\nstopping after this update: saving a checkpoint (further Ctrl-C is ignored)\n"
        _ = write(2, notice.utf8Start, notice.utf8CodeUnitCount)
      }
    }
  }

  /// The signal received since `install`, if any.
  public static var pending: Int32? { received == 0 ? nil : received }
}
