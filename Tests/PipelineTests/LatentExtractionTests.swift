import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// extract-latents on a tiny trained model: the saved grids are the quantizer's choices of the training path, decode
/// back to the training path's reconstructions, and bad setups fail before anything is written.
final class LatentExtractionTests: XCTestCase {
  private typealias Support = TrainingTestSupport
  private var folder = ""
  private var images = ""
  private var run = ""

  override func setUpWithError() throws {
    folder = try DataTestSupport.makeTemporaryFolder()
    images = try Support.makeImageFolder(in: folder)
    run = (folder as NSString).appendingPathComponent("run")
    try Support.complete(
      try Trainer(configFile: nil, overrides: Support.tinyRun(images: images, output: run, updates: 8)))
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  func testExtractedIndicesAreTheTrainingPathsCodesAndDecodeToItsReconstructions() throws {
    let extractor = try LatentExtractor(checkpoint: run, dataset: nil, dataDir: nil, outputDir: nil, batchSize: 16)
    XCTAssertEqual(extractor.outputDir, "\(run)/latents")
    XCTAssertEqual(extractor.dataset, .folder, "the run's dataset by default")
    let block = try extractor.run()
    let loaded = try LatentBlock.load(from: extractor.outputDir)
    XCTAssertEqual(loaded.train.indices, block.train.indices)
    XCTAssertEqual([loaded.train.count, loaded.test.count], [extractor.data.train.count, extractor.data.test.count])
    XCTAssertEqual([loaded.height, loaded.width, loaded.codebookSize], [8, 8, 16])

    // The training path (model(images)) on the same batches picks the same codes...
    let model = extractor.model
    let test = extractor.data.test
    let all = Array(0..<test.count)
    let batch = try Tensor(test.batch(indices: all), shape: [test.count, 1, 32, 32])
    let (reconstruction, quantization) = try withoutGrad { try model(batch) }
    XCTAssertEqual(loaded.test.indices, quantization.indices)
    // ...and decoding the saved indices gives its reconstructions bit for bit.
    let decoded = try model.decode(indices: loaded.test.indices, batch: test.count, height: 8, width: 8)
    XCTAssertEqual(decoded.data.map(\.bitPattern), reconstruction.data.map(\.bitPattern))

    let info = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(run)/latents/latents.json")))
        as? [String: Any])
    let checkpoint = "\(run)/checkpoints/vqvae.safetensors"
    XCTAssertEqual(info["checkpoint"] as? String, checkpoint)
    // coreutils' sha256sum, an independent reader of the checkpoint, agrees with the recorded digest.
    let sum = Process()
    sum.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    sum.arguments = [checkpoint]
    let pipe = Pipe()
    sum.standardOutput = pipe
    try sum.run()
    let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    sum.waitUntilExit()
    XCTAssertEqual(info["checkpoint_sha256"] as? String, String(printed.prefix(64)))
    XCTAssertEqual(info["checkpoint_update"] as? Int, 8)
    XCTAssertEqual(info["dataset"] as? String, "FOLDER")
  }

  func testLimitsAndAnExplicitCheckpointFile() throws {
    let output = (folder as NSString).appendingPathComponent("elsewhere/latents")
    let extractor = try LatentExtractor(
      checkpoint: "\(run)/checkpoints/vqvae.safetensors", dataset: "folder", dataDir: images, outputDir: output,
      batchSize: Int.max, trainLimit: 10, testLimit: 3)
    // A batch larger than the data is the data (an Int.max batch once trapped allocating its input).
    XCTAssertEqual(extractor.batchSize, 10)
    let block = try extractor.run()
    XCTAssertEqual([block.train.count, block.test.count], [10, 3])
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(output)/train_indices.npy"))
  }

  func testBadSetupsFailBeforeWriting() throws {
    DataTestSupport.assertThrows(["nope", "not a vqvae-train run folder"]) {
      _ = try LatentExtractor(checkpoint: "\(folder)/nope", dataset: nil, dataDir: nil, outputDir: nil)
    }
    DataTestSupport.assertThrows(["missing.safetensors", "file not found"]) {
      _ = try LatentExtractor(checkpoint: "\(folder)/missing.safetensors", dataset: nil, dataDir: nil, outputDir: nil)
    }
    DataTestSupport.assertThrows(["--dataset", "unknown dataset 'svhn'"]) {
      _ = try LatentExtractor(checkpoint: run, dataset: "svhn", dataDir: nil, outputDir: nil)
    }
    // A damaged checkpoint.
    let damaged = (folder as NSString).appendingPathComponent("damaged/checkpoints/vqvae.safetensors")
    try FileManager.default.createDirectory(
      atPath: (damaged as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let bytes = try FileIO.read("\(run)/checkpoints/vqvae.safetensors")
    try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: damaged))
    DataTestSupport.assertThrows(["damaged", "vqvae.safetensors"]) {
      _ = try LatentExtractor(checkpoint: damaged, dataset: nil, dataDir: nil, outputDir: nil)
    }
    // RGB images for a gray model.
    let rgb = (folder as NSString).appendingPathComponent("rgb")
    try FileManager.default.createDirectory(atPath: rgb, withIntermediateDirectories: true)
    for n in 0..<4 {
      try writePNG(
        path: "\(rgb)/c\(n).png", pixels: DataTestSupport.bytes(32 * 32 * 3, seed: UInt64(n)), width: 32, height: 32,
        channels: 3)
    }
    DataTestSupport.assertThrows(["trained on 1-channel images", "3-channel images"]) {
      _ = try LatentExtractor(checkpoint: run, dataset: "folder", dataDir: rgb, outputDir: nil)
    }
    // An output folder under a file.
    let file = (folder as NSString).appendingPathComponent("file")
    try Data([1]).write(to: URL(fileURLWithPath: file))
    DataTestSupport.assertThrows(["cannot create the output folder \(file)/latents"]) {
      _ = try LatentExtractor(checkpoint: run, dataset: nil, dataDir: nil, outputDir: "\(file)/latents")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run)/latents"), "nothing written by failed setups")
  }
}
