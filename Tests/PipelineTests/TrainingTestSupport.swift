import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// Shared helpers for the training tests: a synthetic image folder and a tiny model that trains in milliseconds.
enum TrainingTestSupport {
  /// Writes `count` gray 32x32 PNGs (a gradient plus a bright square at a pseudo-random place) into a new folder
  /// under `parent`; loaded as FOLDER, the last 10% become the test split.
  static func makeImageFolder(in parent: String, count: Int = 48) throws -> String {
    let folder = (parent as NSString).appendingPathComponent("images")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let noise = DataTestSupport.bytes(count * 3, seed: 7)
    for n in 0..<count {
      let (x0, y0, level) = (Int(noise[3 * n]) % 24, Int(noise[3 * n + 1]) % 24, Int(noise[3 * n + 2]))
      var pixels = [UInt8](repeating: 0, count: 32 * 32)
      for y in 0..<32 {
        for x in 0..<32 {
          let inSquare = (x0..<(x0 + 8)).contains(x) && (y0..<(y0 + 8)).contains(y)
          pixels[y * 32 + x] = inSquare ? UInt8(max(level, 128)) : UInt8((x + y) * 2)
        }
      }
      let path = (folder as NSString).appendingPathComponent(String(format: "img%03d.png", n))
      try writePNG(path: path, pixels: pixels, width: 32, height: 32, channels: 1)
    }
    return folder
  }

  /// Flags for a tiny model (h 8, residual h 4, K 16, D 4) on `images`, writing to `output`.
  static func tinyRun(
    images: String, output: String, updates: Int, extra: [(String, ConfigValue)] = []
  ) -> [(String, ConfigValue)] {
    [
      ("dataset", .string("folder")), ("data_dir", .string(images)), ("output_dir", .string(output)),
      ("n_updates", .integer(updates)), ("batch_size", .integer(8)), ("n_hiddens", .integer(8)),
      ("n_residual_hiddens", .integer(4)), ("n_residual_layers", .integer(1)), ("n_embeddings", .integer(16)),
      ("embedding_dim", .integer(4)), ("log_interval", .integer(2)), ("eval_every", .integer(0)),
      ("save_every", .integer(0)), ("learning_rate", .number(1e-3)),
    ] + extra
  }

  /// A tiny run's latents with `updates` updates of a tiny prior (dim 8, 2 layers) into `<run>/prior`: extracts the
  /// LATENT_BLOCK of the VQ-VAE run in `run` first.
  static func tinyPrior(run: String, updates: Int, extra: [(String, ConfigValue)] = []) throws {
    try LatentExtractor(checkpoint: run, dataset: nil, dataDir: nil, outputDir: nil).run()
    try complete(
      try PriorTrainer(
        configFile: nil,
        overrides: [
          ("latents", .string("\(run)/latents")), ("dim", .integer(8)), ("n_layers", .integer(2)),
          ("batch_size", .integer(8)), ("n_updates", .integer(updates)), ("learning_rate", .number(3e-3)),
        ] + extra))
  }

  /// Every tensor of a safetensors file as raw bit patterns, for bitwise comparisons.
  static func tensorBits(_ path: String) throws -> [String: [UInt64]] {
    let file = try SafeTensors.read(contentsOf: path)
    var bits: [String: [UInt64]] = [:]
    for name in file.names {
      bits[name] =
        file.entry(name)?.dtype == .float32
        ? try file.floats(name).map { UInt64($0.bitPattern) } : try file.int64s(name).map { UInt64(bitPattern: $0) }
    }
    return bits
  }

  /// Runs `trainer` to the end, failing the test if it was interrupted.
  @discardableResult
  static func complete<Stage: TrainingStage>(_ trainer: Stage, file: StaticString = #filePath, line: UInt = #line)
    throws
    -> Stage.Summary
  {
    guard case .completed(let summary) = try trainer.run(stopRequested: { false }) else {
      XCTFail("the run was interrupted", file: file, line: line)
      throw TrainingError("interrupted")
    }
    return summary
  }
}
