import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// gated-pixelcnn's training run on the latents of a tiny VQ-VAE: the prior learns, every file of its folder is
/// written and readable, Ctrl-C keeps the weights, and bad settings are named.
final class PriorTrainingTests: XCTestCase {
  private typealias Key = PriorTrainingConfiguration.Key
  private var folder = ""
  private var run = ""

  override func setUpWithError() throws {
    folder = try DataTestSupport.makeTemporaryFolder()
    let images = try TrainingTestSupport.makeImageFolder(in: folder)
    run = (folder as NSString).appendingPathComponent("run")
    try TrainingTestSupport.complete(
      try Trainer(configFile: nil, overrides: TrainingTestSupport.tinyRun(images: images, output: run, updates: 30)))
    try LatentExtractor(checkpoint: run, dataset: nil, dataDir: nil, outputDir: nil).run()
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  private func trainer(_ extra: [(Key, ConfigValue)] = [], output: String = "prior") throws -> PriorTrainer {
    try PriorTrainer(
      configFile: nil,
      overrides: [
        (.latents, .string("\(run)/latents")), (.outputDir, .string("\(run)/\(output)")), (.dim, .integer(8)),
        (.layers, .integer(2)), (.batchSize, .integer(8)), (.learningRate, .number(3e-3)), (.logInterval, .integer(10)),
        (.evalEvery, .integer(30)), (.epochs, .integer(20)), (.updates, .integer(90)),
      ] + extra)
  }

  private func json(_ path: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
  }

  func testSmallRunLearnsAndWritesAReadablePriorFolder() throws {
    let trainer = try trainer()
    XCTAssertEqual(trainer.folder.path, "\(run)/prior", "prior/ beside the latents")
    XCTAssertEqual(trainer.totalUpdates, 90)
    XCTAssertEqual(trainer.model.configuration.classes, 0, "FOLDER images have no labels")
    var printed = ""
    trainer.reporter = ProgressReporter(interactive: false) { printed += $0 }
    guard case .completed(let summary) = try trainer.run() else { return XCTFail("interrupted") }

    let lines = try String(contentsOfFile: trainer.folder.metricsPath, encoding: .utf8).split(separator: "\n")
      .map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    let test = lines.filter { $0["split"] as? String == "test" }
    XCTAssertEqual(test.compactMap { $0["update"] as? Int }, [30, 60, 90])
    let bits = test.compactMap { $0["bits_per_latent"] as? Double }
    XCTAssertLessThan(bits[2], bits[0], "test bits per latent fall: \(bits)")
    XCTAssertLessThan(summary.test.bitsPerLatent, 4, "well under the uniform 4 bits of K = 16")
    XCTAssertEqual(lines.filter { $0["split"] as? String == "train" }.count, 9)
    for key in ["update", "epoch", "loss", "bits_per_latent", "accuracy", "updates_per_s"] {
      XCTAssertNotNil(lines.first?[key], "train line has \(key)")
    }

    let summaryJSON = try json(trainer.folder.summaryPath)
    for key in [
      "train_bits_per_latent", "test_bits_per_latent", "test_bits_per_image", "test_accuracy", "updates",
      "wall_seconds",
    ] {
      XCTAssertNotNil(summaryJSON[key], "summary has \(key)")
    }
    let perImage = try XCTUnwrap(summaryJSON["test_bits_per_image"] as? Double)
    XCTAssertEqual(perImage, 64 * (summaryJSON["test_bits_per_latent"] as! Double), accuracy: 0.01)
    XCTAssertEqual(summaryJSON["uniform_bits_per_latent"] as? Double, 4)
    XCTAssertEqual(try json(trainer.folder.configPath)["n_embeddings"] as? Int, 16)

    let samples = try readPNGHeader(path: trainer.folder.samplesPath)
    XCTAssertEqual([samples.width, samples.height, samples.channels], [342, 342, 1])
    XCTAssertEqual(try readPNGHeader(path: trainer.folder.lossPlotPath).width, 640)
    XCTAssertTrue(printed.contains("test @ 90: "), printed)

    // `sample --prior` finds it from the run folder, the prior folder or the file.
    let final = trainer.folder.checkpointPath(update: nil)
    for target in [run, "\(run)/prior", final] { XCTAssertEqual(try PriorFolder.finalCheckpoint(target), final) }

    // The checkpoint gives back the same model, names the latents and the VQ-VAE, and samples reproducibly.
    let checkpoint = try PriorCheckpoint(contentsOf: trainer.folder.checkpointPath(update: nil))
    XCTAssertEqual(checkpoint.update, 90)
    XCTAssertEqual(checkpoint.vqvaeCheckpoint, "\(run)/checkpoints/vqvae.safetensors")
    XCTAssertEqual(checkpoint.latents, "\(run)/latents")
    XCTAssertEqual([checkpoint.grid.height, checkpoint.grid.width], [8, 8])
    let reloaded = try checkpoint.model()
    let grids = Array(trainer.latents.test.indices.prefix(2 * 64))
    XCTAssertEqual(
      try withoutGrad { try reloaded(grids, batch: 2, height: 8, width: 8, labels: nil).data },
      try withoutGrad { try trainer.model(grids, batch: 2, height: 8, width: 8, labels: nil).data })
    let vqvae = try TrainingCheckpoint(contentsOf: "\(run)/checkpoints/vqvae.safetensors").model()
    let first = try SampleGrid(prior: reloaded, vqvae: vqvae, rows: 2, columns: 3, seed: 5, grid: checkpoint.grid)
    let second = try SampleGrid(prior: reloaded, vqvae: vqvae, rows: 2, columns: 3, seed: 5, grid: checkpoint.grid)
    XCTAssertEqual(first.image.pixels, second.image.pixels, "same seed, same picture")
    XCTAssertEqual([first.image.width, first.image.height], [3 * 34 + 2, 2 * 34 + 2])
    DataTestSupport.assertThrows(["--class 1: the prior is not class-conditional"]) {
      _ = try SampleGrid(
        prior: reloaded, vqvae: vqvae, rows: 1, columns: 1, fixedClass: 1, seed: 0, grid: checkpoint.grid)
    }
  }

  func testInterruptionKeepsTheWeights() throws {
    let trainer = try trainer()
    guard case .interrupted(5, let saved?) = try trainer.run(stopRequested: { trainer.update == 5 }) else {
      return XCTFail("expected an interruption at update 5 with a checkpoint")
    }
    XCTAssertEqual(saved, trainer.folder.checkpointPath(update: 5))
    XCTAssertEqual(try PriorCheckpoint(contentsOf: saved).update, 5)
  }

  func testBadSettingsAreNamed() throws {
    DataTestSupport.assertThrows(["--dataset", "learns from the LATENT_BLOCK dataset", "'MNIST'"]) {
      _ = try self.trainer([(.dataset, .string("MNIST"))])
    }
    DataTestSupport.assertThrows(["--epochs must be at least 1, got 0"]) {
      _ = try self.trainer([(.epochs, .integer(0))])
    }
    DataTestSupport.assertThrows(["--learning-rate must be a positive number"]) {
      _ = try self.trainer([(.learningRate, .number(-1))])
    }
    DataTestSupport.assertThrows(["--class-conditioning must be true or false"]) {
      _ = try self.trainer([(.classConditioning, .integer(3))])
    }
    DataTestSupport.assertThrows(["not a LATENT_BLOCK folder"]) {
      _ = try self.trainer([(.latents, .string(self.folder))])
    }
    let config = (folder as NSString).appendingPathComponent("pipeline.json")
    try #"{"n_hiddens": 16, "prior": {"dim": 4, "n_layer": 3}}"#.write(
      toFile: config, atomically: true, encoding: .utf8)
    DataTestSupport.assertThrows(["pipeline.json (prior): unknown key 'n_layer'"]) {
      _ = try PriorTrainingConfiguration.resolve(configFile: config, overrides: [])
    }
    try #"{"n_hiddens": 16, "prior": {"dim": 4, "n_layers": 3}}"#.write(
      toFile: config, atomically: true, encoding: .utf8)
    let resolved = try PriorTrainingConfiguration.resolve(configFile: config, overrides: [(.layers, .integer(5))])
    XCTAssertEqual([resolved.dim, resolved.layers], [4, 5], "the file's prior section, then the flags")
    // The same file also drives vqvae-train, which skips the prior's section.
    XCTAssertEqual(try TrainingConfiguration.resolve(configFile: config, overrides: []).model.hiddens, 16)
    // The folder is never overwritten.
    try FileManager.default.createDirectory(atPath: "\(run)/prior", withIntermediateDirectories: true)
    try Data([1]).write(to: URL(fileURLWithPath: "\(run)/prior/x"))
    DataTestSupport.assertThrows(["output folder \(run)/prior is not empty"]) { _ = try self.trainer() }
  }
}
