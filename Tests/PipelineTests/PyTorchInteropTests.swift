import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// PyTorch, an independent reader, loads a run's checkpoints into the classic repo's module trees with strict
/// `load_state_dict` (scripts/pytorch/check_interop.py): re-encoding test images gives our indices, and the prior's
/// test cross-entropy is the one we report. Skipped where python3 has no torch and safetensors.
final class PyTorchInteropTests: XCTestCase {
  func testPyTorchLoadsTheCheckpointsAndAgrees() throws {
    guard FileManager.default.fileExists(atPath: DatasetName.fashionMNIST.defaultDataDirectory) else {
      throw XCTSkip("Fashion-MNIST is not installed")
    }
    let probe = "import sys\ntry:\n  import torch, safetensors\nexcept ImportError:\n  print('missing')"
    guard let found = try DataTestSupport.python(probe, []), found != "missing" else {
      throw XCTSkip("python3 with torch and safetensors is not installed (pip install torch safetensors)")
    }
    let folder = try DataTestSupport.makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let run = (folder as NSString).appendingPathComponent("run")
    try TrainingTestSupport.complete(
      try Trainer(
        configFile: nil,
        overrides: [
          ("output_dir", .string(run)), ("train_limit", .integer(256)), ("test_limit", .integer(256)),
          ("n_updates", .integer(20)), ("n_hiddens", .integer(16)), ("n_residual_hiddens", .integer(8)),
          ("n_embeddings", .integer(32)), ("embedding_dim", .integer(8)), ("eval_every", .integer(0)),
          ("save_every", .integer(0)), ("codebook_update", .string("ema")),
        ]))
    try LatentExtractor(
      checkpoint: run, dataset: nil, dataDir: nil, outputDir: nil, trainLimit: 300, testLimit: 500
    ).run()
    guard
      case .completed = try PriorTrainer(
        configFile: nil,
        overrides: [
          ("latents", .string("\(run)/latents")), ("dim", .integer(8)), ("n_layers", .integer(3)),
          ("n_updates", .integer(10)),
          ("eval_every", .integer(0)),
        ]
      ).run()
    else { return XCTFail("the prior was interrupted") }

    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("scripts/pytorch/check_interop.py").path
    let output = try XCTUnwrap(try DataTestSupport.python(arguments: [script, run]))
    let result = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data((output.split(separator: "\n").last ?? "").utf8)) as? [String: Any])
    XCTAssertEqual(result["reencoded_agreement"] as? Double, 1)
    XCTAssertEqual(result["prior_loaded"] as? Bool, true)
  }
}
