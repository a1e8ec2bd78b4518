import ArgumentParser
import Foundation
import Pipeline

/// Runs a training loop that stops cleanly on Ctrl-C or SIGTERM: installs the handler, gives `body` the question
/// to poll before each update, and clears the progress line before an error is printed.
public func runStoppably<Outcome>(
  reporter: ProgressReporter, _ body: (_ stopRequested: () -> Bool) throws -> Outcome
) throws -> Outcome {
  StopSignal.install()
  do {
    return try body { StopSignal.pending != nil }
  } catch {
    reporter.clear()
    throw error
  }
}

/// The exit code of a run stopped by a signal: 128 + its number, as shells report it.
public var stoppedExitCode: ExitCode { ExitCode(128 + (StopSignal.pending ?? SIGINT)) }
