import ArgumentParser
import Foundation
import Pipeline

/// Runs a training loop that stops cleanly on Ctrl-C or SIGTERM (once `StopSignal` is installed): gives `body` the
/// question to poll before each update, and clears the progress line before an error is printed.
public func runStoppably<Outcome>(
  reporter: ProgressReporter, _ body: (_ stopRequested: () -> Bool) throws -> Outcome
) throws -> Outcome {
  do {
    return try body { StopSignal.pending != nil }
  } catch {
    reporter.clear()
    throw error
  }
}

/// The exit code of a run stopped by a signal: 128 + its number, as shells report it.
public var stoppedExitCode: ExitCode { ExitCode(128 + (StopSignal.pending ?? SIGINT)) }

/// Trains the stage `makeStage` sets up as a command does: prints its introduction, shows progress, and prints its
/// report, or on Ctrl-C where the state was saved and how to resume (then exits with the signal's code). Ctrl-C is
/// caught from before the setup, so one pressed while the data loads stops the run at its first update, with an
/// update-0 checkpoint that `--resume` takes.
public func train<Stage: TrainingStage>(_ makeStage: @autoclosure () throws -> Stage) throws {
  StopSignal.install()
  let stage = try makeStage()
  for line in stage.introduction + ["engine: \(BLASCore.summary)"] { print(line) }
  let reporter = ProgressReporter()
  stage.loop.reporter = reporter
  switch try runStoppably(reporter: reporter, { try stage.run(stopRequested: $0) }) {
  case .completed(let summary):
    let lines = stage.report(summary)
    reporter.message(lines[0])
    for line in lines.dropFirst() { print(line) }
  case .interrupted(let update, let checkpoint):
    reporter.message(
      checkpoint.map { "interrupted at update \(update); checkpoint: \($0)" } ?? "interrupted; nothing to save")
    if checkpoint != nil {
      reporter.message("resume with: \(stage.loop.resumeCommand) --resume \(stage.loop.folder.path)")
    }
    throw stoppedExitCode
  }
}
