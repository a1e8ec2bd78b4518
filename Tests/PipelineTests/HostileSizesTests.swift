import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// Sizes from flags, checkpoints and `latents.json` that cannot fit in memory are refused with the estimate and the
/// limit before anything is allocated or created, and sizes that make no sense are named.
final class HostileSizesTests: XCTestCase {
  private var folder = ""
  private var run = ""
  private var images = ""

  override func setUpWithError() throws {
    folder = try DataTestSupport.makeTemporaryFolder()
    images = try TrainingTestSupport.makeImageFolder(in: folder, count: 20)
    run = (folder as NSString).appendingPathComponent("run")
    try TrainingTestSupport.complete(
      try Trainer(configFile: nil, overrides: TrainingTestSupport.tinyRun(images: images, output: run, updates: 4)))
    try LatentExtractor(checkpoint: run, dataset: nil, dataDir: nil, outputDir: nil).run()
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  private func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

  /// Asserts that `body` throws a message holding every fragment, and that `created` was not made.
  private func assertRefused(
    _ fragments: [String], creating created: String? = nil, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void
  ) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
      for fragment in fragments {
        XCTAssertTrue("\(error)".contains(fragment), "'\(error)' lacks '\(fragment)'", file: file, line: line)
      }
    }
    if let created {
      XCTAssertFalse(FileManager.default.fileExists(atPath: created), "\(created) was created", file: file, line: line)
    }
  }

  func testHugeFlagsAreRefusedBeforeTheRunFolderIsMade() {
    let output = path("new-run")
    for (key, value) in [("batch_size", 1_000_000_000), ("n_hiddens", 1_000_000_000), ("n_embeddings", 1 << 40)] {
      assertRefused(["vqvae-train needs about", "TiB of memory", "this machine has"], creating: output) {
        _ = try Trainer(
          configFile: nil,
          overrides: TrainingTestSupport.tinyRun(
            images: images, output: output, updates: 1, extra: [(key, .integer(value))]))
      }
    }
    let prior = path("new-prior")
    for (key, value) in [("dim", 100_000), ("n_layers", 100_000_000), ("batch_size", 1_000_000_000)] {
      assertRefused(["gated-pixelcnn needs about", "this machine has"], creating: prior) {
        _ = try PriorTrainer(
          configFile: nil,
          overrides: [("latents", .string("\(run)/latents")), ("output_dir", .string(prior)), (key, .integer(value))])
      }
    }
  }

  /// Counts that size no allocation (epochs, evaluation batches) may be as large as an Int holds: products with
  /// them saturate rather than trap.
  func testHugeCountsSaturateInsteadOfTrapping() throws {
    let summary = try TrainingTestSupport.complete(
      try Trainer(
        configFile: nil,
        overrides: TrainingTestSupport.tinyRun(
          images: images, output: path("counts"), updates: 2,
          extra: [("eval_every", .integer(1)), ("eval_batches", .integer(Int.max))])))
    XCTAssertEqual(summary.updates, 2)
    let prior = try PriorTrainer(
      configFile: nil,
      overrides: [
        ("latents", .string("\(run)/latents")), ("output_dir", .string(path("prior"))), ("dim", .integer(4)),
        ("n_layers", .integer(1)), ("epochs", .integer(Int.max)), ("n_updates", .integer(2)),
        ("eval_every", .integer(1)), ("eval_batches", .integer(Int.max)),
      ])
    XCTAssertEqual(try TrainingTestSupport.complete(prior).updates, 2)
  }

  func testHugeSizesInLatentsJSONAreRefused() throws {
    let info = "\(run)/latents/latents.json"
    // One class, as the label files below give.
    let original = try String(contentsOfFile: info, encoding: .utf8).replacingOccurrences(
      of: #""n_classes" : 0"#, with: #""n_classes" : 1"#)
    let prior = path("prior")
    // Labels, so that n_classes counts.
    let block = try LatentBlock.load(from: "\(run)/latents")
    try NPY.write(
      [Int](repeating: 0, count: block.train.count), shape: [block.train.count], to: "\(run)/latents/train_labels.npy")
    try NPY.write(
      [Int](repeating: 0, count: block.test.count), shape: [block.test.count], to: "\(run)/latents/test_labels.npy")
    for key in ["n_embeddings", "n_classes"] {
      let doctored = original.replacingOccurrences(
        of: #""\#(key)" : \d+"#, with: #""\#(key)" : 1000000000"#, options: .regularExpression)
      XCTAssertNotEqual(doctored, original)
      try doctored.write(toFile: info, atomically: true, encoding: .utf8)
      assertRefused(["gated-pixelcnn needs about", "this machine has"], creating: prior) {
        _ = try PriorTrainer(
          configFile: nil,
          overrides: [
            ("latents", .string("\(run)/latents")), ("output_dir", .string(prior)), ("dim", .integer(8)),
            ("n_layers", .integer(2)),
          ])
      }
    }
  }

  func testCheckpointsWithHugeOrBadSizesAreRefusedBeforeTheModelIsBuilt() throws {
    let checkpoint = "\(run)/checkpoints/vqvae.safetensors"
    var file = try SafeTensors.read(contentsOf: checkpoint)
    let config = try XCTUnwrap(file.metadata["config"])
    let latents = path("latents")
    for (key, value, message) in [
      ("n_hiddens", "1000000000", "(__metadata__ config): the model needs about"),
      ("n_embeddings", "1099511627776", "(__metadata__ config): the model needs about"),
      ("embedding_dim", "-4", "embedding_dim must be at least 1, got -4"),
    ] {
      file.metadata["config"] = config.replacingOccurrences(
        of: #""\#(key)":\d+"#, with: #""\#(key)":\#(value)"#, options: .regularExpression)
      XCTAssertNotEqual(file.metadata["config"], config)
      let doctored = path("doctored-\(key).safetensors")
      try file.write(to: doctored)
      assertRefused([doctored, message], creating: latents) {
        _ = try LatentExtractor(checkpoint: doctored, dataset: nil, dataDir: nil, outputDir: latents)
      }
    }
  }

  func testPriorCheckpointsWithHugeSizesAreRefusedBeforeTheModelIsBuilt() throws {
    let priorFolder = path("prior")
    try TrainingTestSupport.complete(
      try PriorTrainer(
        configFile: nil,
        overrides: [
          ("latents", .string("\(run)/latents")), ("output_dir", .string(priorFolder)), ("dim", .integer(4)),
          ("n_layers", .integer(1)), ("n_updates", .integer(1)), ("eval_batches", .integer(1)),
        ]))
    var file = try SafeTensors.read(contentsOf: "\(priorFolder)/checkpoints/prior.safetensors")
    for (key, value) in [
      ("dim", "100000"), ("n_layers", "100000000"), ("n_embeddings", "1099511627776"), ("n_classes", "100000000000"),
    ] {
      file.metadata[key] = value
      let doctored = path("prior-\(key).safetensors")
      try file.write(to: doctored)
      let checkpoint = try PriorCheckpoint(contentsOf: doctored)
      assertRefused([doctored, "the prior needs about", "this machine has"]) { _ = try checkpoint.model() }
      file.metadata[key] = try SafeTensors.read(contentsOf: "\(priorFolder)/checkpoints/prior.safetensors")
        .metadata[key]
    }
    file.metadata["dim"] = "-4"
    let negative = path("prior-negative.safetensors")
    try file.write(to: negative)
    assertRefused([negative, "'dim' must be a whole number >= 1, got -4"]) {
      _ = try PriorCheckpoint(contentsOf: negative).model()
    }
  }
}
