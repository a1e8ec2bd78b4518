import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// A small real run on installed Fashion-MNIST: the reconstruction error falls and every file of the run folder is
/// written and readable.
final class TrainingEndToEndTests: XCTestCase {
  private var folder = ""

  override func setUpWithError() throws {
    guard FileManager.default.fileExists(atPath: DatasetName.fashionMNIST.defaultDataDirectory) else {
      throw XCTSkip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    }
    folder = try DataTestSupport.makeTemporaryFolder()
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  private func json(_ path: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
  }

  func testSmallRunWritesAReadableRunFolder() throws {
    let configPath = (folder as NSString).appendingPathComponent("small.json")
    try """
    {"dataset": "fashion_mnist", "train_limit": 512, "test_limit": 256, "n_updates": 150, "n_hiddens": 32,
     "n_residual_hiddens": 8, "n_residual_layers": 1, "n_embeddings": 32, "embedding_dim": 8,
     "learning_rate": 0.001, "eval_every": 50, "save_every": 75, "log_interval": 10}
    """.write(toFile: configPath, atomically: true, encoding: .utf8)
    let runPath = (folder as NSString).appendingPathComponent("run")
    let trainer = try Trainer(configFile: configPath, overrides: [("output_dir", .string(runPath))])
    var printed = ""
    trainer.reporter = ProgressReporter(interactive: false) { printed += $0 }
    let summary = try TrainingTestSupport.complete(trainer)
    let run = trainer.folder

    // The reconstruction error on the test split falls from evaluation to evaluation.
    let metrics = try String(contentsOfFile: run.metricsPath, encoding: .utf8).split(separator: "\n")
      .map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    let test = metrics.filter { $0["split"] as? String == "test" }
    XCTAssertEqual(test.compactMap { $0["update"] as? Int }, [50, 100, 150])
    let errors = test.compactMap { $0["recon_error"] as? Double }
    XCTAssertEqual(errors.count, 3)
    XCTAssertLessThan(errors[2], errors[0], "test reconstruction error falls: \(errors)")
    XCTAssertLessThan(summary.test.normalizedMSE, 0.6)
    XCTAssertEqual(summary.test.images, 256)
    let train = metrics.filter { $0["split"] as? String == "train" }
    XCTAssertEqual(train.count, 15)
    for key in ["update", "loss", "recon_error", "perplexity", "codes_used", "updates_per_s"] {
      XCTAssertNotNil(train.first?[key], "train line has \(key)")
    }
    XCTAssertNotNil(test.first?["psnr_db"])

    let config = try json(run.configPath)
    XCTAssertEqual(config["n_hiddens"] as? Int, 32)
    XCTAssertEqual(config["batch_size"] as? Int, 32, "default")
    XCTAssertEqual(config["train_count"] as? Int, 512)
    XCTAssertEqual(config["data_dir"] as? String, "/usr/share/datasets/fashion-mnist")
    XCTAssertNotNil(config["data_variance"] as? Double)

    let summaryJSON = try json(run.summaryPath)
    for key in [
      "test_normalized_mse", "test_psnr_db", "test_codes_used", "test_perplexity", "updates", "wall_seconds",
      "train_loss",
    ] {
      XCTAssertNotNil(summaryJSON[key], "summary has \(key)")
    }
    XCTAssertEqual(summaryJSON["updates"] as? Int, 150)

    for update in [50, 100, 150] {
      let header = try readPNGHeader(path: run.reconstructionPath(update: update))
      XCTAssertEqual([header.width, header.height, header.channels], [16 * 34 + 2, 4 * 34 + 2, 1])
    }
    let plot = try readPNGHeader(path: run.lossPlotPath)
    XCTAssertEqual([plot.width, plot.height, plot.channels], [640, 400, 3])

    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: run.checkpointsPath).sorted(),
      ["best.safetensors", "vqvae-75.safetensors", "vqvae.safetensors"])
    // The best state is one of the evaluated ones (updates 50, 100, 150), with its test loss recorded.
    let best = try SafeTensors.read(contentsOf: run.bestCheckpointPath)
    let tests = try MetricsLog<MetricsRecord>(path: run.metricsPath, keepingThrough: 150).records.filter {
      $0.split == "test"
    }
    let lowest = try XCTUnwrap(tests.min { $0.loss < $1.loss })
    XCTAssertEqual(best.metadata["update"], "\(lowest.update)")
    XCTAssertEqual(try XCTUnwrap(best.metadata["test_loss"].flatMap(Double.init)), lowest.loss, accuracy: 1e-5)
    let checkpoint = try SafeTensors.read(contentsOf: run.checkpointPath(update: nil))
    XCTAssertEqual(checkpoint.metadata["update"], "150")
    XCTAssertEqual(checkpoint.entry("vector_quantization.embedding.weight")?.shape, [32, 8])
    XCTAssertNotNil(checkpoint.entry("optimizer.encoder.conv_stack.0.weight.exp_avg"))
    // The default codebook learns by EMA: no optimiser state of its own, its moving averages instead.
    XCTAssertNil(checkpoint.entry("optimizer.vector_quantization.embedding.weight.exp_avg"))
    XCTAssertEqual(checkpoint.entry("vector_quantization.cluster_size")?.shape, [32])
    XCTAssertEqual(checkpoint.entry("vector_quantization.embed_avg")?.shape, [32, 8])
    let reloaded = try TrainingCheckpoint(contentsOf: run.checkpointPath(update: nil))
    XCTAssertEqual(reloaded.configuration.model, trainer.model.configuration)

    XCTAssertTrue(printed.contains("update 10/150  loss "), printed)
    XCTAssertTrue(printed.contains("test @ 150: "), printed)
    XCTAssertFalse(printed.contains("\r"), "no in-place redraws when not on a terminal")
  }
}
