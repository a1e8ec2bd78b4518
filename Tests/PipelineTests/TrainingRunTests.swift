import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// The trainer on a tiny model and a synthetic image folder: resuming, divergence, and the setup errors.
final class TrainingRunTests: XCTestCase {
  private typealias Support = TrainingTestSupport
  private var folder = ""
  private var images = ""

  override func setUpWithError() throws {
    folder = try DataTestSupport.makeTemporaryFolder()
    images = try Support.makeImageFolder(in: folder)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  private func output(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

  private func trainer(
    _ name: String, updates: Int, extra: [(String, ConfigValue)] = []
  ) throws -> Trainer {
    try Trainer(
      configFile: nil, overrides: Support.tinyRun(images: images, output: output(name), updates: updates, extra: extra))
  }

  /// 6 updates straight, against 3 + Ctrl-C + resume, and 3 + resume with a larger n_updates: every tensor of the
  /// final checkpoints (weights, Adam moments, generators, data order, codebook averages) is bitwise the same. With
  /// 44 training images and batch 8, the run crosses an epoch boundary after the interruption.
  private func checkResumeEqualsUninterruptedRun(_ extra: [(String, ConfigValue)]) throws {
    try Support.complete(trainer("straight", updates: 6, extra: extra))
    let expected = try Support.tensorBits(RunFolder(path: output("straight")).checkpointPath(update: nil))

    let interrupted = try trainer("interrupted", updates: 6, extra: extra)
    guard case .interrupted(3, let saved?) = try interrupted.run(stopRequested: { interrupted.update == 3 }) else {
      return XCTFail("expected an interruption at update 3 with a checkpoint")
    }
    XCTAssertEqual(saved, RunFolder(path: output("interrupted")).checkpointPath(update: 3))
    let resumed = try Trainer(configFile: nil, overrides: [], resume: output("interrupted"))
    XCTAssertEqual(resumed.update, 3)
    try Support.complete(resumed)
    XCTAssertEqual(
      try Support.tensorBits(RunFolder(path: output("interrupted")).checkpointPath(update: nil)), expected)

    try Support.complete(trainer("extended", updates: 3, extra: extra))
    let extended = try Trainer(configFile: nil, overrides: [("n_updates", .integer(6))], resume: output("extended"))
    let summary = try Support.complete(extended)
    XCTAssertEqual(summary.updates, 6)
    XCTAssertEqual(try Support.tensorBits(summary.checkpointPath), expected)

    // Each training line appears once; the partial interval cut off at update 3 is not logged.
    let records = try MetricsLog<MetricsRecord>(
      path: RunFolder(path: output("interrupted")).metricsPath, keepingThrough: 6
    ).records
    XCTAssertEqual(records.filter { $0.split == "train" }.map(\.update), [2, 4, 6])
    for name in ["straight", "interrupted", "extended"] {
      try FileManager.default.removeItem(atPath: output(name))
    }
  }

  func testResumeEqualsUninterruptedRunOfTheClassicRecipe() throws {
    try checkResumeEqualsUninterruptedRun([
      ("codebook_update", .string("loss")), ("codebook_init", .string("uniform")), ("dead_code_threshold", .number(0)),
    ])
  }

  func testResumeEqualsUninterruptedRunWithEMAKMeansAndRestarts() throws {
    try checkResumeEqualsUninterruptedRun([("dead_code_threshold", .number(0.9))])
  }

  func testNonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
    // A step of 1e30 leaves finite but enormous weights, whose next forward pass overflows.
    let run = try trainer("nan", updates: 6, extra: [("learning_rate", .number(1e30)), ("save_every", .integer(1))])
    let runFolder = run.folder
    DataTestSupport.assertThrows(["update 2:", "not a finite number", "vqvae-1.safetensors", "--learning-rate"]) {
      _ = try run.run()
    }
    let names = try FileManager.default.contentsOfDirectory(atPath: runFolder.checkpointsPath)
    XCTAssertEqual(names, ["vqvae-1.safetensors"], "nothing saved after the last good update")
    let checkpoint = try XCTUnwrap(RunFolder.open(resuming: runFolder.path).checkpoint)
    XCTAssertEqual(checkpoint.update, 1)
    XCTAssertTrue(
      try SafeTensors.read(contentsOf: checkpoint.path).floats("decoder.inverse_conv_stack.4.bias")
        .allSatisfy(\.isFinite))
  }

  func testResumeWithAnotherModelIsRejectedWithoutWriting() throws {
    try Support.complete(trainer("run", updates: 2))
    let runFolder = RunFolder(path: output("run"))
    let configBefore = try String(contentsOfFile: runFolder.configPath, encoding: .utf8)
    DataTestSupport.assertThrows(["--resume", "n_hiddens 8 (not 16)", "n_embeddings 16 (not 32)"]) {
      _ = try Trainer(
        configFile: nil,
        overrides: [("n_hiddens", .integer(16)), ("n_embeddings", .integer(32)), ("n_updates", .integer(4))],
        resume: runFolder.path)
    }
    DataTestSupport.assertThrows(["already done 2 of n_updates 2", "--n-updates"]) {
      _ = try Trainer(configFile: nil, overrides: [], resume: runFolder.path)
    }
    DataTestSupport.assertThrows(["--output-dir cannot be combined with --resume"]) {
      _ = try Trainer(configFile: nil, overrides: [("output_dir", .string("/tmp/elsewhere"))], resume: runFolder.path)
    }
    DataTestSupport.assertThrows(["data order covers 44 images", "has 10"]) {
      _ = try Trainer(
        configFile: nil, overrides: [("n_updates", .integer(4)), ("train_limit", .integer(10))], resume: runFolder.path)
    }
    DataTestSupport.assertThrows(["not a run folder"]) {
      _ = try Trainer(configFile: nil, overrides: [], resume: images)
    }
    XCTAssertEqual(try String(contentsOfFile: runFolder.configPath, encoding: .utf8), configBefore)
  }

  /// A folder that a run left at its very start (a full disk before its config.json): the empty subfolders, the
  /// lock and a cut-short write take a new run; a folder with anything else does not.
  func testAFolderLeftAtARunsVeryStartTakesANewRun() throws {
    let left = output("left")
    for sub in ["checkpoints", "images"] {
      try FileManager.default.createDirectory(atPath: "\(left)/\(sub)", withIntermediateDirectories: true)
    }
    for file in [".lock", "config.json.tmp-99999"] {
      try "x".write(toFile: "\(left)/\(file)", atomically: false, encoding: .utf8)
    }
    XCTAssertNoThrow(try Support.complete(trainer("left", updates: 1)))
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(left)/config.json.tmp-99999"))
    let other = output("other")
    try FileManager.default.createDirectory(atPath: "\(other)/checkpoints", withIntermediateDirectories: true)
    try "x".write(toFile: "\(other)/checkpoints/mine.txt", atomically: false, encoding: .utf8)
    DataTestSupport.assertThrows(["output folder \(other) is not empty"]) { _ = try self.trainer("other", updates: 1) }
  }

  func testUnusableOutputFoldersAreRejected() throws {
    let file = output("a-file")
    try "x".write(toFile: file, atomically: true, encoding: .utf8)
    DataTestSupport.assertThrows(["cannot create the output folder \(file)/run"]) {
      _ = try Trainer(configFile: nil, overrides: Support.tinyRun(images: images, output: file + "/run", updates: 1))
    }
    DataTestSupport.assertThrows(["output folder \(images) is not empty"]) {
      _ = try Trainer(configFile: nil, overrides: Support.tinyRun(images: images, output: images, updates: 1))
    }
  }

  func testImageSidesOutsideTheRangeOrNotHalvingAreRejected() throws {
    func folder(_ name: String, side: Int) throws -> String {
      let path = output(name)
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
      for n in 0..<4 {
        try writePNG(
          path: path + "/\(n).png", pixels: DataTestSupport.bytes(side * side, seed: UInt64(n)), width: side,
          height: side, channels: 1)
      }
      return path
    }
    let small = try folder("small", side: 12)
    DataTestSupport.assertThrows(["FOLDER in \(small)", "training images are 12x12", "16...256"]) {
      _ = try Trainer(configFile: nil, overrides: Support.tinyRun(images: small, output: output("out"), updates: 1))
    }
    let twenty = try folder("twenty", side: 20)
    DataTestSupport.assertThrows(["training images are 20x20", "multiple of 8", "downsamples 3"]) {
      _ = try Trainer(
        configFile: nil,
        overrides: Support.tinyRun(images: twenty, output: output("out"), updates: 1) + [("downsamples", .integer(3))])
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: output("out")), "nothing written")
    // 20x20 halves twice: a 5x5 grid.
    let trainer = try Trainer(
      configFile: nil, overrides: Support.tinyRun(images: twenty, output: output("five"), updates: 1))
    XCTAssertEqual(try trainer.model.encode(Tensor(zeros: [1, 1, 20, 20])).shape.suffix(2), [5, 5])
  }

  func testStopSignalRecordsTheFirstSignalAndIgnoresTheNext() {
    StopSignal.install()
    raise(SIGTERM)
    XCTAssertEqual(StopSignal.pending, SIGTERM)
    // Until the checkpoint is saved, another signal neither ends the process nor replaces the first.
    raise(SIGINT)
    XCTAssertEqual(StopSignal.pending, SIGTERM)
    // So that Ctrl-C ends the test process at once again.
    _ = signal(SIGINT, SIG_DFL)
    _ = signal(SIGTERM, SIG_DFL)
  }

  /// A run killed after it set up its folder but before its first checkpoint (only `config.json` and an empty
  /// `metrics.jsonl`): `--resume` starts it again from its recorded settings, to the same weights as a straight run.
  func testARunStoppedBeforeItsFirstCheckpointStartsAgainOnResume() throws {
    try Support.complete(trainer("straight", updates: 4))
    let expected = try Support.tensorBits(RunFolder(path: output("straight")).checkpointPath(update: nil))
    _ = try trainer("killed", updates: 4)
    XCTAssertTrue(FileManager.default.fileExists(atPath: RunFolder(path: output("killed")).configPath))
    let resumed = try Trainer(configFile: nil, overrides: [], resume: output("killed"))
    XCTAssertTrue(resumed.restarted)
    XCTAssertTrue(resumed.introduction.joined().contains("starting again from update 0"))
    try Support.complete(resumed)
    XCTAssertEqual(try Support.tensorBits(RunFolder(path: output("killed")).checkpointPath(update: nil)), expected)
  }

  /// Ctrl-C while the data loads stops the run before its first update, with an update-0 checkpoint (the k-means
  /// codebook in it): resumed, the run is not prepared again and ends as a straight run does.
  func testAStopBeforeTheFirstUpdateResumesToTheSameWeights() throws {
    try Support.complete(trainer("straight", updates: 4))
    let expected = try Support.tensorBits(RunFolder(path: output("straight")).checkpointPath(update: nil))
    let stopped = try trainer("stopped", updates: 4)
    guard case .interrupted(0, let saved?) = try stopped.run(stopRequested: { true }) else {
      return XCTFail("expected an interruption at update 0 with a checkpoint")
    }
    XCTAssertEqual(saved, RunFolder(path: output("stopped")).checkpointPath(update: 0))
    try Support.complete(Trainer(configFile: nil, overrides: [], resume: output("stopped")))
    XCTAssertEqual(try Support.tensorBits(RunFolder(path: output("stopped")).checkpointPath(update: nil)), expected)
  }

  /// Pictures show the run but are not its state: when they cannot be written, training goes on and every
  /// checkpoint and the summary are written.
  func testPicturesThatCannotBeWrittenDoNotStopTheRun() throws {
    let trainer = try trainer(
      "no-pictures", updates: 4, extra: [("eval_every", .integer(2)), ("eval_batches", .integer(1))])
    try FileManager.default.removeItem(atPath: trainer.folder.imagesPath)
    try "not a folder".write(toFile: trainer.folder.imagesPath, atomically: true, encoding: .utf8)
    let summary = try Support.complete(trainer)
    XCTAssertEqual(summary.updates, 4)
    for path in [
      trainer.folder.checkpointPath(update: nil), trainer.folder.bestCheckpointPath, trainer.folder.summaryPath,
    ] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: path), path)
    }
  }
}
