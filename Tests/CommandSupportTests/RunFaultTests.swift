import Foundation
import TestSupport
import XCTest

/// The faults a run meets, met by the real commands: kill -9 before the first checkpoint, a second Ctrl-C a
/// millisecond after the first, two runs started into one folder, an empty `--output-dir`. Each ends in a folder
/// that resumes, or a clear message and a non-zero exit, and never in lost weights.
final class RunFaultTests: FolderTestCase {
  private let fashion = "/usr/share/datasets/fashion-mnist"

  override func setUpWithError() throws {
    try super.setUpWithError()
    try XCTSkipUnless(
      FileManager.default.fileExists(atPath: "\(fashion)/train-images-idx3-ubyte.gz"),
      "needs Debian's dataset-fashion-mnist (scripts/setup.sh installs it)")
  }

  /// Flags of a tiny model on a few Fashion-MNIST images, logging every update, with no checkpoint before the end.
  private func tiny(_ run: String, updates: Int) -> [String] {
    [
      "--output-dir", run, "--n-updates", "\(updates)", "--n-hiddens", "8", "--n-residual-hiddens", "4",
      "--n-residual-layers", "1", "--n-embeddings", "16", "--embedding-dim", "4", "--batch-size", "8",
      "--train-limit", "64", "--test-limit", "16", "--log-interval", "1", "--eval-every", "0", "--save-every", "0",
    ]
  }

  /// Starts a long tiny run and waits until it has logged an update.
  private func startTraining(_ run: String) throws -> CommandRunner {
    let runner = try CommandRunner("vqvae-train", tiny(run, updates: 1_000_000))
    let started = CommandRunner.wait {
      ((try? String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8)) ?? "").contains("\"update\"")
    }
    XCTAssertTrue(started, "the run did not start: \(runner.text)")
    return runner
  }

  private func checkpoints(_ run: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "\(run)/checkpoints")) ?? []).sorted()
  }

  func testKillNineBeforeTheFirstCheckpointLeavesARunThatResumes() throws {
    let run = path("run")
    let runner = try startTraining(run)
    kill(runner.process.processIdentifier, SIGKILL)
    XCTAssertEqual(runner.finish(), 128 + SIGKILL)
    XCTAssertEqual(checkpoints(run), [])
    // A fresh run into the folder points at --resume, which starts the run again from its config.json.
    let fresh = try CommandRunner.run("vqvae-train", tiny(run, updates: 4))
    XCTAssertNotEqual(fresh.status, 0)
    XCTAssertTrue(fresh.output.contains("not empty") && fresh.output.contains("--resume \(run)"), fresh.output)
    // A write that the kill cut short is cleared away on resume.
    let stale = "\(run)/checkpoints/vqvae-3.safetensors.tmp-99999"
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: stale))
    let resumed = try CommandRunner.run("vqvae-train", ["--resume", run, "--n-updates", "4"])
    XCTAssertEqual(resumed.status, 0, resumed.output)
    XCTAssertTrue(resumed.output.contains("starting again from update 0"), resumed.output)
    XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
    XCTAssertTrue(checkpoints(run).contains("vqvae.safetensors"), "\(checkpoints(run))")
  }

  func testASecondCtrlCRightAfterTheFirstStillSavesTheCheckpoint() throws {
    let run = path("run")
    let runner = try startTraining(run)
    kill(runner.process.processIdentifier, SIGINT)
    usleep(1000)
    kill(runner.process.processIdentifier, SIGINT)
    XCTAssertEqual(runner.finish(), 128 + SIGINT, runner.text)
    let saved = try XCTUnwrap(checkpoints(run).first { $0.hasPrefix("vqvae-") }, runner.text)
    XCTAssertTrue(runner.text.contains("checkpoint: \(run)/checkpoints/\(saved)"), runner.text)
    let update = try XCTUnwrap(Int(saved.dropFirst("vqvae-".count).dropLast(".safetensors".count)))
    let resumed = try CommandRunner.run("vqvae-train", ["--resume", run, "--n-updates", "\(update + 2)"])
    XCTAssertEqual(resumed.status, 0, resumed.output)
    XCTAssertTrue(resumed.output.contains("resuming at update \(update)"), resumed.output)
  }

  func testTwoRunsCannotShareAnOutputFolder() throws {
    let run = path("run")
    let first = try startTraining(run)
    let second = try CommandRunner.run("vqvae-train", tiny(run, updates: 4))
    XCTAssertNotEqual(second.status, 0)
    XCTAssertTrue(
      second.output.contains("output folder \(run) is in use by another run (pid \(first.process.processIdentifier))")
        || second.output.contains("not empty"), second.output)
    // Not even --resume may write into a folder that a live run holds.
    let resumed = try CommandRunner.run("vqvae-train", ["--resume", run])
    XCTAssertNotEqual(resumed.status, 0)
    XCTAssertTrue(
      resumed.output.contains("in use by another run (pid \(first.process.processIdentifier))"), resumed.output)
    kill(first.process.processIdentifier, SIGINT)
    XCTAssertEqual(first.finish(), 128 + SIGINT)
  }

  func testAnEmptyOutputDirIsRefusedBeforeAnythingIsCreated() throws {
    let result = try CommandRunner.run("vqvae-train", tiny("", updates: 1), in: folder)
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.output.contains("--output-dir must be a path, not an empty string"), result.output)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [])
  }
}
