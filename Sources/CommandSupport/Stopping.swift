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
///
/// Started by `mpirun`, every rank runs this: `makeStage` gets MPI's world, the leader alone prints, and an error on
/// any rank is printed by that rank and ends the whole job at once (`MPI_Abort`), its last checkpoint intact.
public func train<Stage: TrainingStage>(_ makeStage: (ProcessGroup) throws -> Stage) throws {
  StopSignal.install()
  let group = ProcessGroup.join()
  StopSignal.quiet = !group.isLeader
  do {
    try train(makeStage(group), group: group)
  } catch let error where group.size > 1 && !(error is ExitCode) {
    FileHandle.standardError.write(Data("Error (rank \(group.rank) of \(group.size)): \(error)\n".utf8))
    group.abort(code: 1)
  }
}

private func train<Stage: TrainingStage>(_ stage: Stage, group: ProcessGroup) throws {
  let ranks =
    group.size > 1
    ? "; \(group.size) processes (mpirun), each with its share of every batch; "
      + String(format: "%.2f MB all-reduced per update", Double(stage.bytesExchangedPerUpdate) / 1e6) : ""
  let reporter = ProgressReporter()
  if group.isLeader {
    for line in stage.introduction + ["engine: \(BLASCore.summary)\(ranks)"] { print(line) }
    stage.loop.reporter = reporter
  }
  let outcome = try runStoppably(reporter: reporter, { try stage.run(stopRequested: $0) })
  // Every rank is past its last collective; mpirun gives a stopped job about a second before it kills it.
  defer { group.finish() }
  switch outcome {
  case .completed(let summary):
    let lines = stage.report(summary)
    reporter.message(lines[0])
    for line in lines.dropFirst() { print(line) }
  case .interrupted(let update, let checkpoint):
    if group.isLeader {
      reporter.message(
        checkpoint.map { "interrupted at update \(update); checkpoint: \($0)" } ?? "interrupted; nothing to save")
      if checkpoint != nil {
        reporter.message("resume with: \(stage.loop.resumeCommand) --resume \(stage.loop.folder.path)")
      }
    }
    throw stoppedExitCode
  case .joined:
    break
  }
}
