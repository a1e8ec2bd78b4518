import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// gated-pixelcnn's training run on the latents of a tiny VQ-VAE: the prior learns, every file of its folder is
/// written and readable, Ctrl-C keeps the weights, and bad settings are named.
final class PriorTrainingTests: XCTestCase {
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

  private func trainer(_ extra: [(String, ConfigValue)] = [], output: String = "prior") throws -> PriorTrainer {
    try PriorTrainer(
      configFile: nil,
      overrides: [
        ("latents", .string("\(run)/latents")), ("output_dir", .string("\(run)/\(output)")), ("dim", .integer(8)),
        ("n_layers", .integer(2)), ("batch_size", .integer(8)), ("learning_rate", .number(3e-3)),
        ("log_interval", .integer(10)),
        ("eval_every", .integer(30)), ("epochs", .integer(20)), ("n_updates", .integer(90)),
      ] + extra)
  }

  private func json(_ path: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
  }

  func testSmallRunLearnsAndWritesAReadablePriorFolder() throws {
    let trainer = try trainer()
    XCTAssertEqual(trainer.folder.path, "\(run)/prior", "prior/ beside the latents")
    XCTAssertEqual(trainer.totalUpdates, 90)
    XCTAssertEqual(trainer.model.classes, 0, "FOLDER images have no labels")
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
    for target in [run, "\(run)/prior", final] { XCTAssertEqual(try PriorFolder.finalCheckpoint(target).path, final) }

    // The checkpoint gives back the same model, names the latents and the VQ-VAE, and samples reproducibly.
    let checkpoint = try PriorCheckpoint(contentsOf: trainer.folder.checkpointPath(update: nil))
    XCTAssertEqual(checkpoint.update, 90)
    XCTAssertEqual(checkpoint.vqvaeCheckpoint, "\(run)/checkpoints/vqvae.safetensors")
    XCTAssertEqual(checkpoint.latents, "\(run)/latents")
    XCTAssertEqual([checkpoint.grid.height, checkpoint.grid.width], [8, 8])
    let reloaded = try checkpoint.model()
    let grids = Array(trainer.latents.test.indices.prefix(2 * 64))
    XCTAssertEqual(
      try withoutGrad { try reloaded.loss(grids, batch: 2, height: 8, width: 8, labels: nil).logits.data },
      try withoutGrad { try trainer.model.loss(grids, batch: 2, height: 8, width: 8, labels: nil).logits.data })
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
    // sample takes the interrupted prior's latest checkpoint, and says so.
    let (path, note) = try PriorFolder.finalCheckpoint(run)
    XCTAssertEqual(path, saved)
    XCTAssertTrue(
      note?.contains("did not finish; sampling from its latest checkpoint (update 5)") == true, "\(note ?? "")")
    let stage = try SampleStage(vqvae: nil, prior: run)
    XCTAssertEqual(stage.priorPath, saved)
    XCTAssertEqual(
      try stage.sample(rows: 1, columns: 2, fixedClass: nil, options: SamplingOptions(), seed: 0).grid.indices.count,
      2 * 8 * 8)
  }

  /// A prior killed after it set up its folder but before its first checkpoint starts again on `--resume`.
  func testAPriorStoppedBeforeItsFirstCheckpointStartsAgainOnResume() throws {
    _ = try trainer([("n_updates", .integer(3))])
    let resumed = try PriorTrainer(configFile: nil, overrides: [], resume: run)
    XCTAssertTrue(resumed.restarted)
    XCTAssertEqual(try TrainingTestSupport.complete(resumed).updates, 3)
  }

  /// 90 updates straight, against 35 + Ctrl-C + resume from the prior folder, and 40 + resume from the run folder
  /// with a larger n_updates: every tensor of the final checkpoints (weights, Adam moments, generator, data order)
  /// is bitwise the same. The interruptions fall inside an epoch and inside a log interval.
  func testResumeEqualsUninterruptedRun() throws {
    try TrainingTestSupport.complete(trainer(output: "straight"))
    let expected = try TrainingTestSupport.tensorBits("\(run)/straight/checkpoints/prior.safetensors")

    let interrupted = try trainer(output: "interrupted")
    guard case .interrupted(35, let saved?) = try interrupted.run(stopRequested: { interrupted.update == 35 }) else {
      return XCTFail("expected an interruption at update 35 with a checkpoint")
    }
    XCTAssertEqual(saved, "\(run)/interrupted/checkpoints/prior-35.safetensors")
    let resumed = try PriorTrainer(configFile: nil, overrides: [], resume: "\(run)/interrupted")
    XCTAssertEqual(resumed.update, 35)
    try TrainingTestSupport.complete(resumed)
    XCTAssertEqual(try TrainingTestSupport.tensorBits("\(run)/interrupted/checkpoints/prior.safetensors"), expected)
    let lines = try MetricsLog<PriorMetricsRecord>(path: resumed.folder.metricsPath, keepingThrough: 90).records
    XCTAssertEqual(lines.filter { $0.split == "train" }.map(\.update), Array(stride(from: 10, through: 90, by: 10)))

    try TrainingTestSupport.complete(trainer([("n_updates", .integer(40))], output: "prior"))
    let extended = try PriorTrainer(configFile: nil, overrides: [("n_updates", .integer(90))], resume: run)
    XCTAssertEqual(extended.folder.path, "\(run)/prior", "a run folder resumes its prior/")
    try TrainingTestSupport.complete(extended)
    XCTAssertEqual(try TrainingTestSupport.tensorBits("\(run)/prior/checkpoints/prior.safetensors"), expected)

    DataTestSupport.assertThrows(["has already done 90 of 90 updates", "--n-updates"]) {
      _ = try PriorTrainer(configFile: nil, overrides: [], resume: "\(self.run)/prior")
    }
    DataTestSupport.assertThrows(["the prior was trained with dim 8 (not 16)"]) {
      _ = try PriorTrainer(
        configFile: nil, overrides: [("dim", .integer(16)), ("n_updates", .integer(99))], resume: self.run)
    }
    DataTestSupport.assertThrows(["--resume \(folder): not a prior folder"]) {
      _ = try PriorTrainer(configFile: nil, overrides: [], resume: self.folder)
    }
  }

  /// `best.safetensors` holds the state of the evaluation with the lowest test loss, and records that loss.
  func testBestCheckpointHoldsTheLowestTestLoss() throws {
    // A learning rate this high makes the test loss go up again, so the best is not always the last.
    let trainer = try trainer([
      ("eval_every", .integer(10)), ("learning_rate", .number(0.05)), ("save_every", .integer(10)),
    ])
    try TrainingTestSupport.complete(trainer)
    let tests = try XCTUnwrap(trainer.loop.metrics).records.filter { $0.split == "test" }
    XCTAssertEqual(tests.count, 9)
    let best = try XCTUnwrap(tests.min { $0.loss < $1.loss })
    let file = try PriorCheckpoint(contentsOf: trainer.folder.bestCheckpointPath)
    XCTAssertEqual(file.update, best.update)
    let recorded = try XCTUnwrap(file.state.file.metadata["test_loss"].flatMap { Double($0) })
    XCTAssertEqual(recorded, best.loss, accuracy: 1e-5 * best.loss)
    let saved =
      best.update == 90
      ? trainer.folder.checkpointPath(update: nil) : trainer.folder.checkpointPath(update: best.update)
    var weights = try TrainingTestSupport.tensorBits(saved)
    var bestWeights = try TrainingTestSupport.tensorBits(trainer.folder.bestCheckpointPath)
    weights = weights.filter { !$0.key.hasPrefix("optimizer.") }
    bestWeights = bestWeights.filter { !$0.key.hasPrefix("optimizer.") }
    XCTAssertEqual(bestWeights, weights, "the best state is the one saved at update \(best.update)")
  }

  /// A prior written before the grid, the optimiser and the settings were recorded (weights and architecture
  /// only) still samples, as 8x8 grids, and `--resume` says why it cannot go on.
  func testAPriorFromBeforeTheGridWasRecordedStillLoads() throws {
    var rng = RandomGenerator(seed: 4)
    let prior = GatedPixelCNN(PriorConfiguration(codes: 16, dim: 8, layers: 2), rng: &rng)
    var file = SafeTensors(
      metadata: prior.architecture.merging(["model": "gated_pixelcnn", "update": "90", "latents": "\(run)/latents"]) {
        $1
      })
    for (name, tensor) in prior.namedParameters { file.add(name, floats: tensor.data, shape: tensor.shape) }
    try FileManager.default.createDirectory(atPath: "\(run)/old/checkpoints", withIntermediateDirectories: true)
    try #"{"dim": 8}"#.write(toFile: "\(run)/old/config.json", atomically: true, encoding: .utf8)
    try file.write(to: "\(run)/old/checkpoints/prior.safetensors")

    let checkpoint = try PriorCheckpoint(contentsOf: "\(run)/old/checkpoints/prior.safetensors")
    XCTAssertEqual([checkpoint.grid.height, checkpoint.grid.width, checkpoint.update], [8, 8, 90])
    XCTAssertNil(checkpoint.settings)
    let loaded = try checkpoint.model()
    XCTAssertEqual(loaded.parameters.map(\.data), prior.parameters.map(\.data))
    DataTestSupport.assertThrows(["written before priors recorded their settings", "cannot be resumed"]) {
      _ = try PriorTrainer(configFile: nil, overrides: [], resume: "\(self.run)/old")
    }

    // A recorded grid side is bounded before any sampler allocates for it.
    file.metadata["grid_height"] = "100000"
    try file.write(to: "\(run)/old/checkpoints/prior.safetensors")
    DataTestSupport.assertThrows(["'grid_height' 100000 is not a grid side (1 to 128)"]) {
      _ = try PriorCheckpoint(contentsOf: "\(self.run)/old/checkpoints/prior.safetensors")
    }
  }

  func testBadSettingsAreNamed() throws {
    DataTestSupport.assertThrows(["--dataset", "learns from the LATENT_BLOCK dataset", "'MNIST'"]) {
      _ = try self.trainer([("dataset", .string("MNIST"))])
    }
    DataTestSupport.assertThrows(["--epochs must be at least 1, got 0"]) {
      _ = try self.trainer([("epochs", .integer(0))])
    }
    DataTestSupport.assertThrows(["--learning-rate must be a positive number"]) {
      _ = try self.trainer([("learning_rate", .number(-1))])
    }
    DataTestSupport.assertThrows(["--class-conditioning must be true or false"]) {
      _ = try self.trainer([("class_conditioning", .integer(3))])
    }
    DataTestSupport.assertThrows(["not a LATENT_BLOCK folder"]) {
      _ = try self.trainer([("latents", .string(self.folder))])
    }
    let config = (folder as NSString).appendingPathComponent("pipeline.json")
    try #"{"n_hiddens": 16, "prior": {"dim": 4, "n_layer": 3}}"#.write(
      toFile: config, atomically: true, encoding: .utf8)
    DataTestSupport.assertThrows(["pipeline.json (prior): unknown key 'n_layer'"]) {
      _ = try PriorTrainingConfiguration.resolve(configFile: config, overrides: [])
    }
    try #"{"n_hiddens": 16, "prior": {"dim": 4, "n_layers": 3}}"#.write(
      toFile: config, atomically: true, encoding: .utf8)
    let resolved = try PriorTrainingConfiguration.resolve(configFile: config, overrides: [("n_layers", .integer(5))])
    XCTAssertEqual([resolved.dim, resolved.layers], [4, 5], "the file's prior section, then the flags")
    // The same file also drives vqvae-train, which skips the prior's section.
    XCTAssertEqual(try TrainingConfiguration.resolve(configFile: config, overrides: []).model.hiddens, 16)
    // The folder is never overwritten.
    try FileManager.default.createDirectory(atPath: "\(run)/prior", withIntermediateDirectories: true)
    try Data([1]).write(to: URL(fileURLWithPath: "\(run)/prior/x"))
    DataTestSupport.assertThrows(["output folder \(run)/prior is not empty"]) { _ = try self.trainer() }
  }

  // MARK: The transformer prior

  private let transformer: [(String, ConfigValue)] = [
    ("model", .string("transformer")), ("dim", .integer(16)), ("heads", .integer(2)), ("warmup_updates", .integer(10)),
    ("learning_rate", .number(3e-3)),
  ]

  /// `--prior transformer` through the same loop: it learns, records its kind and AdamW, follows the warm-up and
  /// cosine schedule, resumes after Ctrl-C to the bits of a straight run (its dropout generator included), and its
  /// checkpoint rebuilds a transformer that samples.
  func testTheTransformerPriorLearnsResumesExactlyAndSamples() throws {
    let straight = try trainer(transformer, output: "straight")
    XCTAssertTrue(straight.model is TransformerPrior)
    guard case .completed(let summary) = try straight.run() else { return XCTFail("interrupted") }
    let bits = try MetricsLog<PriorMetricsRecord>(path: straight.folder.metricsPath, keepingThrough: 90).records
      .filter { $0.split == "test" }.map(\.bitsPerLatent)
    XCTAssertLessThan(bits[2], bits[0], "test bits per latent fall: \(bits)")
    XCTAssertLessThan(summary.test.bitsPerLatent, 4, "under the uniform 4 bits of K = 16")
    XCTAssertEqual(try json(straight.folder.configPath)["optimizer"] as? String, "AdamW")
    // The last update's rate: cosine from the peak at update 10 to a tenth of it at 90.
    let progress = Double(89 - 10) / Double(90 - 10)
    XCTAssertEqual(
      straight.optimizer.learningRate, Float(3e-4 + (3e-3 - 3e-4) * (1 + cos(Double.pi * progress)) / 2),
      accuracy: 1e-9)

    let interrupted = try trainer(transformer, output: "interrupted")
    guard case .interrupted(35, _) = try interrupted.run(stopRequested: { interrupted.update == 35 }) else {
      return XCTFail("expected an interruption at update 35")
    }
    try TrainingTestSupport.complete(PriorTrainer(configFile: nil, overrides: [], resume: "\(run)/interrupted"))
    let expected = try TrainingTestSupport.tensorBits("\(run)/straight/checkpoints/prior.safetensors")
    XCTAssertNotNil(expected[PriorCheckpoint.dropoutGeneratorName])
    XCTAssertEqual(try TrainingTestSupport.tensorBits("\(run)/interrupted/checkpoints/prior.safetensors"), expected)

    let checkpoint = try PriorCheckpoint(contentsOf: "\(run)/straight/checkpoints/prior.safetensors")
    XCTAssertEqual(checkpoint.kind, "transformer")
    let model = try checkpoint.model()
    XCTAssertTrue(model is TransformerPrior)
    var rng = RandomGenerator(seed: 1)
    let codes = try model.sample(
      count: 3, height: checkpoint.grid.height, width: checkpoint.grid.width, labels: nil,
      options: SamplingOptions(topP: 0.9), rng: &rng)
    XCTAssertEqual(codes.count, 3 * checkpoint.grid.height * checkpoint.grid.width)
    XCTAssertTrue(codes.allSatisfy { (0..<16).contains($0) })
  }

  func testTheTransformersOwnDefaultsApplyWhereARunSetsNone() throws {
    let defaults = try PriorTrainingConfiguration.resolve(
      configFile: nil, overrides: [("model", .string("transformer"))]
    ).forModel
    XCTAssertEqual([defaults.dim, defaults.layers], [128, 6])
    XCTAssertEqual(defaults.learningRate, 1e-3)
    let set = try PriorTrainingConfiguration.resolve(
      configFile: nil,
      overrides: [("model", .string("transformer")), ("dim", .integer(32)), ("learning_rate", .number(0.01))]
    ).forModel
    XCTAssertEqual([set.dim, set.layers], [32, 6])
    XCTAssertEqual(set.learningRate, 0.01)
    let pixelCNN = try PriorTrainingConfiguration.resolve(configFile: nil, overrides: []).forModel
    XCTAssertEqual([pixelCNN.dim, pixelCNN.layers], [64, 15])
    DataTestSupport.assertThrows(["'dim' (16) must be a multiple of 'heads' (3)", "heads"]) {
      _ = try self.trainer(self.transformer + [("heads", .integer(3))])
    }
    DataTestSupport.assertThrows(["--dropout must be in [0, 1)"]) {
      _ = try self.trainer(self.transformer + [("dropout", .number(1))])
    }
    DataTestSupport.assertThrows(["--model must be gated_pixelcnn or transformer, got \"gpt\""]) {
      _ = try self.trainer([("model", .string("gpt"))])
    }
  }
}
