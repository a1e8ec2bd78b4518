import Foundation
import Pipeline
import TensorEngine
import TestSupport
import XCTest

/// `mpirun -np 2` over the real commands: two processes, each with half of every batch, train the same VQ-VAE (EMA
/// codebook, k-means start, dead-code restarts) and the same prior as one process does with the whole batch, and
/// leave the same run folder; a run resumes with another number of processes; Ctrl-C saves once and stops every
/// rank; a rank killed with -9 ends the job with mpirun's message naming it, and its last checkpoint resumes.
final class DataParallelTests: FolderTestCase {
  private let fashion = "/usr/share/datasets/fashion-mnist"
  /// One engine thread per process on every machine, so that the sums run in the same order in both runs but for
  /// the split of the batch (the thread count changes a GEMM's blocking, and so its last bits).
  private let oneThread = ["OMP_NUM_THREADS": "1"]

  override func setUpWithError() throws {
    try super.setUpWithError()
    try XCTSkipUnless(
      FileManager.default.fileExists(atPath: "\(fashion)/train-images-idx3-ubyte.gz"),
      "needs Debian's dataset-fashion-mnist (scripts/setup.sh installs it)")
    XCTAssertTrue(
      FileManager.default.isExecutableFile(atPath: CommandRunner.mpirun),
      "\(CommandRunner.mpirun) is missing: scripts/setup.sh installs Debian's openmpi-bin")
  }

  /// A small VQ-VAE with every codebook feature on, logging, evaluating and saving along the way; its 20 updates of
  /// 16 images run past the end of the first epoch of 200, into the next permutation.
  private func vqvae(_ run: String, updates: Int = 20) -> [String] {
    [
      "--output-dir", run, "--n-updates", "\(updates)", "--batch-size", "16", "--n-hiddens", "16",
      "--n-residual-hiddens", "8", "--embedding-dim", "8", "--n-embeddings", "32", "--train-limit", "200",
      "--test-limit", "160", "--log-interval", "5", "--eval-every", "10", "--eval-batches", "2", "--save-every", "10",
      "--codebook-update", "ema", "--codebook-init", "kmeans", "--dead-code-threshold", "0.5",
    ]
  }

  private func prior(_ run: String, latents: String) -> [String] {
    [
      "--dataset", "LATENT_BLOCK", "--latents", latents, "--output-dir", run, "--n-updates", "20", "--batch-size",
      "15", "--dim", "16", "--n-layers", "3", "--log-interval", "5", "--eval-every", "10", "--eval-batches", "1",
      "--save-every", "10",
    ]
  }

  func testTwoProcessesTrainTheVQVAEThatOneProcessTrains() throws {
    let (one, two) = (path("one"), path("two"))
    let single = try CommandRunner.run("vqvae-train", vqvae(one), environment: oneThread)
    XCTAssertEqual(single.status, 0, single.output)
    let parallel = try CommandRunner.run("vqvae-train", vqvae(two), environment: oneThread, ranks: 2)
    XCTAssertEqual(parallel.status, 0, parallel.output)
    XCTAssertTrue(parallel.output.contains("2 processes (mpirun)"), parallel.output)
    // The leader alone prints: one introduction, one report.
    XCTAssertEqual(parallel.output.components(separatedBy: "vqvae-train: FASHION_MNIST").count, 2, parallel.output)
    try assertSameRun(one, two, checkpoints: ["vqvae.safetensors", "vqvae-10.safetensors", "best.safetensors"])
    XCTAssertTrue(try String(contentsOfFile: "\(two)/metrics.jsonl", encoding: .utf8).contains("dead_codes"))
  }

  func testARunOfTwoProcessesResumesInOneToTheSameWeights() throws {
    let (one, two) = (path("one"), path("two"))
    XCTAssertEqual(try CommandRunner.run("vqvae-train", vqvae(one), environment: oneThread).status, 0)
    XCTAssertEqual(try CommandRunner.run("vqvae-train", vqvae(two), environment: oneThread, ranks: 2).status, 0)
    // Updates 11-20 again, from the two processes' checkpoint of update 10, in one process.
    let resumed = try CommandRunner.run(
      "vqvae-train", ["--resume", "\(two)/checkpoints/vqvae-10.safetensors"], environment: oneThread)
    XCTAssertEqual(resumed.status, 0, resumed.output)
    XCTAssertTrue(resumed.output.contains("resuming at update 10"), resumed.output)
    try assertSameCheckpoint("\(one)/checkpoints/vqvae.safetensors", "\(two)/checkpoints/vqvae.safetensors")
  }

  func testTwoProcessesTrainThePriorThatOneProcessTrains() throws {
    let run = path("run")
    XCTAssertEqual(try CommandRunner.run("vqvae-train", vqvae(run), environment: oneThread).status, 0)
    let extracted = try CommandRunner.run(
      "extract-latents", ["--checkpoint", run, "--output-dir", path("latents"), "--train-limit", "300"])
    XCTAssertEqual(extracted.status, 0, extracted.output)
    let (one, two) = (path("prior-one"), path("prior-two"))
    let single = try CommandRunner.run("gated-pixelcnn", prior(one, latents: path("latents")), environment: oneThread)
    XCTAssertEqual(single.status, 0, single.output)
    // 15 grids a batch: the leader takes 8, the other rank 7.
    let parallel = try CommandRunner.run(
      "gated-pixelcnn", prior(two, latents: path("latents")), environment: oneThread, ranks: 2)
    XCTAssertEqual(parallel.status, 0, parallel.output)
    try assertSameRun(one, two, checkpoints: ["prior.safetensors", "prior-10.safetensors", "best.safetensors"])
  }

  func testCtrlCSavesOnceAndStopsEveryRank() throws {
    let run = path("run")
    let runner = try CommandRunner("vqvae-train", vqvae(run, updates: 1_000_000), ranks: 2)
    XCTAssertTrue(CommandRunner.wait { metricsLines(run) > 0 }, runner.text)
    // mpirun turns Ctrl-C into SIGTERM for every rank a second later, and SIGKILL a second after that.
    kill(runner.process.processIdentifier, SIGINT)
    XCTAssertNotEqual(runner.finish(), 0)
    let text = runner.text
    let saved = try XCTUnwrap(text.firstMatch(of: /interrupted at update (\d+); checkpoint: (\S+)/), text)
    XCTAssertEqual(text.components(separatedBy: "interrupted at update").count, 2, text)
    let update = Int(saved.1)!
    let checkpoint = try SafeTensors.read(contentsOf: String(saved.2))
    XCTAssertEqual(checkpoint.metadata["update"], "\(update)")
    let resumed = try CommandRunner.run("vqvae-train", ["--resume", run, "--n-updates", "\(update + 5)"])
    XCTAssertEqual(resumed.status, 0, resumed.output)
    XCTAssertTrue(resumed.output.contains("resuming at update \(update)"), resumed.output)
  }

  func testARankKilledWithNineEndsTheJobAndLeavesACheckpointThatResumes() throws {
    let run = path("run")
    var arguments = vqvae(run, updates: 1_000_000)
    arguments[arguments.firstIndex(of: "--save-every")! + 1] = "50"
    let runner = try CommandRunner("vqvae-train", arguments, ranks: 2)
    XCTAssertTrue(
      CommandRunner.wait { FileManager.default.fileExists(atPath: "\(run)/checkpoints/vqvae-50.safetensors") },
      runner.text)
    let rank1 = try XCTUnwrap(rank(1, of: runner.process.processIdentifier), "no rank 1 under mpirun")
    kill(rank1, SIGKILL)
    XCTAssertTrue(CommandRunner.wait(seconds: 15) { !runner.process.isRunning }, "mpirun still runs: \(runner.text)")
    XCTAssertNotEqual(runner.finish(), 0)
    XCTAssertTrue(runner.text.contains("rank 1") && runner.text.contains("signal 9"), runner.text)
    let resumed = try CommandRunner.run("vqvae-train", ["--resume", run, "--n-updates", "60"])
    XCTAssertEqual(resumed.status, 0, resumed.output)
    XCTAssertTrue(resumed.output.contains("resuming at update 50"), resumed.output)
  }

  func testABatchSmallerThanTheProcessesIsRefused() throws {
    var arguments = vqvae(path("run"))
    arguments[arguments.firstIndex(of: "--batch-size")! + 1] = "1"
    let result = try CommandRunner.run("vqvae-train", arguments, ranks: 2)
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.output.contains("batch_size 1 is smaller than the 2 processes"), result.output)
  }

  // MARK: Helpers

  private func metricsLines(_ run: String) -> Int {
    ((try? String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").count
  }

  /// The pid of the rank `rank` among mpirun's children (their environment names their rank).
  private func rank(_ rank: Int, of mpirun: Int32) -> Int32? {
    let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    return pids.first { pid in
      guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 1,
        Int32(fields[1]) == mpirun,  // after the name: state, then the parent's pid
        let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ")
      else { return false }
      return environment.split(separator: 0).contains { Array($0) == Array("OMPI_COMM_WORLD_RANK=\(rank)".utf8) }
    }
  }

  /// The two run folders hold the same files, checkpoints (within 1e-5 of each tensor's largest value), metrics and
  /// settings, but for paths, timings and the event file's name.
  private func assertSameRun(
    _ one: String, _ two: String, checkpoints: [String], file: StaticString = #filePath, line: UInt = #line
  ) throws {
    func listing(_ folder: String) -> [String] {
      (FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? [])
        .map { $0.hasPrefix("tb/events.out.tfevents") ? "tb/events" : $0 }.sorted()
    }
    XCTAssertEqual(listing(one), listing(two), file: file, line: line)
    for name in checkpoints {
      try assertSameCheckpoint("\(one)/checkpoints/\(name)", "\(two)/checkpoints/\(name)", file: file, line: line)
    }
    func lines(_ path: String) throws -> [[String: ConfigValue]] {
      try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
        var fields = try JSONDecoder().decode([String: ConfigValue].self, from: Data($0.utf8))
        fields["updates_per_s"] = nil
        return fields
      }
    }
    let (first, second) = (try lines("\(one)/metrics.jsonl"), try lines("\(two)/metrics.jsonl"))
    XCTAssertEqual(first.count, second.count, file: file, line: line)
    for (a, b) in zip(first, second) { assertClose(a, b, file: file, line: line) }
    func settings(_ folder: String) throws -> [String: ConfigValue] {
      var values = try JSONDecoder().decode(
        [String: ConfigValue].self, from: Data(contentsOf: URL(fileURLWithPath: "\(folder)/config.json")))
      values["output_dir"] = nil
      return values
    }
    XCTAssertEqual(try settings(one), try settings(two), file: file, line: line)
  }

  /// Every number of the two metrics lines within 1e-4 relative (they are rounded to 6 digits), the rest equal. A
  /// perplexity comes from code counts, where the other order of float sums can tip a near-tie to the other code:
  /// one of the test split's 10,240 positions moves it by about 1e-4, so it gets 1e-3.
  private func assertClose(
    _ a: [String: ConfigValue], _ b: [String: ConfigValue], file: StaticString, line: UInt
  ) {
    XCTAssertEqual(a.keys.sorted(), b.keys.sorted(), file: file, line: line)
    for (key, value) in a {
      if case .number(let x) = value, case .number(let y) = b[key] {
        let tolerance = key == "perplexity" ? 1e-3 : 1e-4
        XCTAssertEqual(x, y, accuracy: tolerance * max(abs(x), 1e-3), "\(key) of \(a)", file: file, line: line)
      } else {
        XCTAssertEqual(value, b[key], "\(key) of \(a)", file: file, line: line)
      }
    }
  }

  private func assertSameCheckpoint(
    _ one: String, _ two: String, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let (a, b) = (try SafeTensors.read(contentsOf: one), try SafeTensors.read(contentsOf: two))
    XCTAssertEqual(a.names, b.names, file: file, line: line)
    for name in a.names {
      if a.entry(name)?.dtype == .int64 {
        XCTAssertEqual(try a.int64s(name), try b.int64s(name), "\(name) of \(one)", file: file, line: line)
        continue
      }
      let (x, y) = (try a.floats(name), try b.floats(name))
      let scale = max(x.map(abs).max() ?? 0, 1e-12)
      let worst = zip(x, y).map { abs($0 - $1) }.max() ?? 0
      XCTAssertLessThanOrEqual(worst / scale, 1e-5, "\(name) of \(one)", file: file, line: line)
    }
    var (metadataOne, metadataTwo) = (a.metadata, b.metadata)
    for key in ["wall_seconds", "config"] { (metadataOne[key], metadataTwo[key]) = (nil, nil) }
    XCTAssertEqual(metadataOne, metadataTwo, file: file, line: line)
  }
}
