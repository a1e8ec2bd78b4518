import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import DataFiles

/// The LATENT_BLOCK folder: written and read back, and every inconsistency between its files rejected.
final class LatentBlockTests: FolderTestCase {
  private let source = LatentSource(
    dataset: "FASHION_MNIST", dataDir: "/data", checkpoint: "run/checkpoints/vqvae.safetensors",
    checkpointSHA256: String(repeating: "ab", count: 32), checkpointUpdate: 5000, embeddingDim: 4)

  /// 3 training and 2 test grids of 2x3 over K = 6, labelled with 4 classes.
  private func block() throws -> LatentBlock {
    try LatentBlock(
      train: LatentSplit(indices: (0..<18).map { $0 % 5 }, labels: [0, 3, 1], count: 3),
      test: LatentSplit(indices: (0..<12).map { 5 - $0 % 6 }, labels: [2, 2], count: 2), codebookSize: 6, height: 2,
      width: 3, classCount: 4)
  }

  func testWriteThenLoadGivesTheSameBlockAndADescription() throws {
    try block().write(to: folder, source: source)
    let loaded = try LatentBlock.load(from: folder)
    let original = try block()
    XCTAssertEqual(loaded.train.indices, original.train.indices)
    XCTAssertEqual(loaded.test.indices, original.test.indices)
    XCTAssertEqual(loaded.train.labels, [0, 3, 1])
    XCTAssertEqual(loaded.test.labels, [2, 2])
    XCTAssertEqual([loaded.codebookSize, loaded.height, loaded.width, loaded.classCount], [6, 2, 3, 4])
    XCTAssertEqual(loaded.dataset, "FASHION_MNIST")

    let info = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("latents.json")))) as? [String: Any]
    )
    XCTAssertEqual(info["n_embeddings"] as? Int, 6)
    XCTAssertEqual(info["grid_shape"] as? [Int], [2, 3])
    XCTAssertEqual(info["train_count"] as? Int, 3)
    XCTAssertEqual(info["test_count"] as? Int, 2)
    XCTAssertEqual(info["checkpoint_sha256"] as? String, source.checkpointSHA256)
    XCTAssertEqual(info["train_code_histogram"] as? [Int], [4, 4, 4, 3, 3, 0])
    XCTAssertEqual(info["train_codes_used"] as? Int, 5)
    XCTAssertEqual(info["test_codes_used"] as? Int, 6)
    XCTAssertEqual(try NPY.read(contentsOf: path("train_indices.npy")).shape, [3, 2, 3])
    XCTAssertEqual(try NPY.read(contentsOf: path("test_labels.npy")).shape, [2])
  }

  func testUnlabelledBlocksHaveNoLabelFiles() throws {
    let unlabelled = try LatentBlock(
      train: LatentSplit(indices: [0, 1, 2, 3], labels: [], count: 1),
      test: LatentSplit(indices: [3, 2, 1, 0], labels: [], count: 1), codebookSize: 4, height: 2, width: 2,
      classCount: 0)
    try unlabelled.write(to: folder, source: source)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("train_labels.npy")))
    let loaded = try LatentBlock.load(from: folder)
    XCTAssertEqual(loaded.classCount, 0)
    XCTAssertEqual(loaded.train.labels, [])
  }

  func testInconsistentFoldersAreRejectedNamingTheFile() throws {
    DataTestSupport.assertThrows(["not a LATENT_BLOCK folder", "extract-latents"]) {
      _ = try LatentBlock.load(from: folder)
    }
    try block().write(to: folder, source: source)
    // An index outside the codebook.
    try NPY.write(
      [0, 1, 2, 3, 4, 6] + Array(repeating: 0, count: 12), shape: [3, 2, 3], to: path("train_indices.npy"))
    DataTestSupport.assertThrows(["train_indices.npy", "index 6 of grid 0 at (1, 2)", "outside 0..<6"]) {
      _ = try LatentBlock.load(from: folder)
    }
    try NPY.write([-1] + Array(repeating: 0, count: 17), shape: [3, 2, 3], to: path("train_indices.npy"))
    DataTestSupport.assertThrows(["index -1 of grid 0 at (0, 0)"]) { _ = try LatentBlock.load(from: folder) }
    // Test grids of another shape than latents.json's.
    try NPY.write(Array(repeating: 0, count: 18), shape: [3, 2, 3], to: path("train_indices.npy"))
    try NPY.write(Array(repeating: 0, count: 12), shape: [2, 3, 2], to: path("test_indices.npy"))
    DataTestSupport.assertThrows(["test_indices.npy", "shape [2, 3, 2] is not (N, 2, 3)"]) {
      _ = try LatentBlock.load(from: folder)
    }
    try NPY.write(Array(repeating: 0, count: 12), shape: [2, 2, 3], to: path("test_indices.npy"))
    // Labels that do not match the grids.
    try NPY.write([0, 1], shape: [2], to: path("train_labels.npy"))
    DataTestSupport.assertThrows(["train_labels.npy", "shape [2] does not match the 3 grids"]) {
      _ = try LatentBlock.load(from: folder)
    }
    try NPY.write([0, 1, 9], shape: [3], to: path("train_labels.npy"))
    DataTestSupport.assertThrows(["label 9, outside 0..<4"]) { _ = try LatentBlock.load(from: folder) }
    try FileManager.default.removeItem(atPath: path("train_labels.npy"))
    DataTestSupport.assertThrows(["the train split has no labels but n_classes is 4"]) {
      _ = try LatentBlock.load(from: folder)
    }
    // A truncated .npy.
    try block().write(to: folder, source: source)
    let bytes = try FileIO.read(path("test_indices.npy"))
    try Data(bytes.dropLast(9)).write(to: URL(fileURLWithPath: path("test_indices.npy")))
    DataTestSupport.assertThrows(["test_indices.npy", "truncated"]) { _ = try LatentBlock.load(from: folder) }
    // A broken description.
    try "{\"n_embeddings\": 6}".write(toFile: path("latents.json"), atomically: true, encoding: .utf8)
    DataTestSupport.assertThrows(["latents.json", "'grid_shape' is missing"]) { _ = try LatentBlock.load(from: folder) }
    try "not json".write(toFile: path("latents.json"), atomically: true, encoding: .utf8)
    DataTestSupport.assertThrows(["latents.json", "not valid JSON"]) { _ = try LatentBlock.load(from: folder) }
  }
}
