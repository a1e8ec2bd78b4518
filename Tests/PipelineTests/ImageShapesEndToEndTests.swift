import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// All four stages at image sizes other than 32x32: the latent grid follows the image and `downsamples`, and every
/// file that holds codes records it (the checkpoint's config, latents.json, the .npy shapes, the prior), so that
/// `sample` draws and decodes grids of that size with no flag saying it.
final class ImageShapesEndToEndTests: FolderTestCase {
  /// Trains a tiny VQ-VAE with `overrides`, extracts its latents, fits a tiny prior and samples 2x3 images.
  private func allFourStages(
    _ overrides: [(String, ConfigValue)]
  ) throws -> (config: [String: Any], block: LatentBlock, prior: PriorCheckpoint, samples: SampleGrid) {
    let run = path("run")
    let tiny: [(String, ConfigValue)] = [
      ("output_dir", .string(run)), ("n_updates", .integer(6)), ("batch_size", .integer(8)),
      ("n_hiddens", .integer(8)), ("n_residual_hiddens", .integer(4)), ("n_residual_layers", .integer(1)),
      ("n_embeddings", .integer(16)), ("embedding_dim", .integer(4)), ("eval_every", .integer(0)),
      ("save_every", .integer(0)), ("test_limit", .integer(16)),
    ]
    try TrainingTestSupport.complete(try Trainer(configFile: nil, overrides: tiny + overrides))
    let config = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(run)/config.json"))) as? [String: Any]
    )
    try LatentExtractor(
      checkpoint: run, dataset: nil, dataDir: nil, outputDir: nil, trainLimit: 64, testLimit: 16
    ).run()
    let block = try LatentBlock.load(from: "\(run)/latents")
    let prior = try PriorTrainer(
      configFile: nil,
      overrides: [
        ("latents", .string("\(run)/latents")), ("dim", .integer(4)), ("n_layers", .integer(2)),
        ("batch_size", .integer(4)), ("n_updates", .integer(3)), ("eval_every", .integer(0)),
        ("save_every", .integer(0)),
      ])
    try TrainingTestSupport.complete(prior)
    let stage = try SampleStage(vqvae: nil, prior: run)
    let (samples, _) = try stage.sample(rows: 2, columns: 3, fixedClass: nil, options: SamplingOptions(), seed: 1)
    return (config, block, stage.prior, samples)
  }

  func testUnpaddedFashionMNISTGivesSevenBySevenGrids() throws {
    guard FileManager.default.fileExists(atPath: DatasetName.fashionMNIST.defaultDataDirectory) else {
      throw XCTSkip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    }
    let (config, block, prior, samples) = try allFourStages([
      ("pad", .boolean(false)), ("train_limit", .integer(64)),
    ])
    XCTAssertEqual(config["image_shape"] as? [Int], [1, 28, 28])
    XCTAssertEqual(config["latent_grid"] as? [Int], [7, 7])
    XCTAssertEqual([block.height, block.width], [7, 7])
    XCTAssertEqual(try NPY.read(contentsOf: path("run/latents/train_indices.npy")).shape, [64, 7, 7])
    XCTAssertEqual([prior.grid.height, prior.grid.width], [7, 7])
    XCTAssertEqual(samples.indices.count, 6 * 7 * 7)
    XCTAssertEqual([samples.image.width, samples.image.height], [3 * 30 + 2, 2 * 30 + 2], "28x28 images")
  }

  func testAFolderOfMixedSizesAtFortyEightWithThreeStagesGivesSixBySixGrids() throws {
    let images = path("images")
    for n in 0..<24 {
      let (width, height) = [(60, 48), (48, 48), (50, 70)][n % 3]
      let pixels = DataTestSupport.bytes(width * height * 3, seed: UInt64(n))
      try FileManager.default.createDirectory(atPath: "\(images)/class\(n % 2)", withIntermediateDirectories: true)
      try writePNG(
        path: "\(images)/class\(n % 2)/\(n).png", pixels: pixels, width: width, height: height, channels: 3)
    }
    let (config, block, prior, samples) = try allFourStages([
      ("dataset", .string("FOLDER")), ("data_dir", .string(images)), ("image_size", .integer(48)),
      ("downsamples", .integer(3)), ("codebook_init", .string("uniform")),
    ])
    XCTAssertEqual(config["image_shape"] as? [Int], [3, 48, 48])
    XCTAssertEqual(config["latent_grid"] as? [Int], [6, 6])
    XCTAssertEqual([block.height, block.width, block.classCount], [6, 6, 2])
    XCTAssertEqual([prior.grid.height, prior.grid.width], [6, 6])
    XCTAssertEqual(samples.labels, [0, 0, 0, 1, 1, 1], "one class per row")
    XCTAssertEqual([samples.image.width, samples.image.height, samples.image.channels], [3 * 50 + 2, 2 * 50 + 2, 3])
  }
}
