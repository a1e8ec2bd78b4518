import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// The codebook's health options: the EMA update against a hand computation, k-means on separated clusters,
/// dead-code restarts, the straight-through gradient untouched by all of them, and bad settings named.
final class CodebookTests: XCTestCase {
  private var rng = RandomGenerator(seed: 7)

  /// K = 3 codes of D = 2: (0, 0), (1, 1), (5, 5); four encoder outputs, columns of `[D, B, H, W]` = [2, 1, 2, 2].
  private func makeQuantizer(_ settings: CodebookSettings) throws -> (VectorQuantizer, Tensor) {
    var rng = RandomGenerator(seed: 1)
    let quantizer = VectorQuantizer(count: 3, dimension: 2, beta: 0.25, rng: &rng)
    quantizer.codebook.weight.data = [0, 0, 1, 1, 5, 5]
    quantizer.configure(settings)
    // Columns (0.2, 0), (1.2, 0.8), (0.9, 1.1), (0.1, -0.1): codes 0, 1, 1, 0.
    let z = try Tensor([0.2, 1.2, 0.9, 0.1, 0, 0.8, 1.1, -0.1], shape: [2, 1, 2, 2], requiresGrad: true)
    return (quantizer, z)
  }

  func testEMAUpdateEqualsTheHandComputation() throws {
    let (quantizer, z) = try makeQuantizer(CodebookSettings(update: .ema, emaDecay: 0.9))
    let quantization = try quantizer(z)
    XCTAssertEqual(quantization.indices, [0, 1, 1, 0])
    let restarted = quantizer.maintainCodebook(encoderOutputs: z, indices: quantization.indices, rng: &rng)
    XCTAssertEqual(restarted, 0)
    // N = 0.9 · 1 + 0.1 · (2, 2, 0); m = 0.9 · e + 0.1 · (sums of the assigned outputs); e = m / N (ε is tiny).
    let statistics = try XCTUnwrap(quantizer.statistics)
    assertClose(statistics.clusterSize, [1.1, 1.1, 0.9], "N")
    assertClose(statistics.embedSum, [0.03, -0.01, 1.11, 1.09, 4.5, 4.5], "m")
    assertClose(quantizer.codebook.weight.data, [0.03 / 1.1, -0.01 / 1.1, 1.11 / 1.1, 1.09 / 1.1, 5, 5], "e")
    // No codebook term in the loss: only beta times the commitment.
    assertClose(quantization.loss.data, [0.25 * quantization.commitmentLoss.scalarValue], "loss")
  }

  func testDeadCodeIsRestartedFromABatchVectorWithFreshStatistics() throws {
    let (quantizer, z) = try makeQuantizer(CodebookSettings(update: .ema, emaDecay: 0.9, deadCodeThreshold: 0.95))
    let quantization = try quantizer(z)
    let restarted = quantizer.maintainCodebook(encoderOutputs: z, indices: quantization.indices, rng: &rng)
    XCTAssertEqual(restarted, 1, "code 2 (usage 0.9 < 0.95) only")
    let revived = Array(quantizer.codebook.weight.data[4..<6])
    let columns = (0..<4).map { [z.data[$0], z.data[4 + $0]] }
    XCTAssertTrue(columns.contains(revived), "\(revived) is one of the batch's encoder outputs")
    let statistics = try XCTUnwrap(quantizer.statistics)
    XCTAssertEqual(statistics.clusterSize[2], 1, "usage reset")
    XCTAssertEqual(Array(statistics.embedSum[4..<6]), revived, "sum reset to the new code")
    // The same happens when the codebook learns from its loss: usage is tracked for the restarts alone.
    let (lossQuantizer, _) = try makeQuantizer(CodebookSettings(update: .loss, emaDecay: 0.9, deadCodeThreshold: 0.95))
    XCTAssertEqual(lossQuantizer.maintainCodebook(encoderOutputs: z, indices: quantization.indices, rng: &rng), 1)
    XCTAssertEqual(Array(lossQuantizer.codebook.weight.data[0..<4]), [0, 0, 1, 1], "live codes untouched")
  }

  func testTheUpkeepOfTwoHalvesOfABatchWithSummedUsageEqualsTheWholeBatchs() throws {
    let settings = CodebookSettings(update: .ema, emaDecay: 0.9, deadCodeThreshold: 0.95)
    let (whole, z) = try makeQuantizer(settings)
    let (split, _) = try makeQuantizer(settings)
    let indices = try whole(z).indices
    var (rngWhole, rngSplit) = (RandomGenerator(seed: 3), RandomGenerator(seed: 3))
    XCTAssertEqual(whole.maintainCodebook(encoderOutputs: z, indices: indices, rng: &rngWhole), 1)
    // Columns 0-1 and 2-3 as two ranks' encoder outputs, [D, 1, 1, 2] each.
    let halves = try (0..<2).map { half in
      try Tensor([0, 1].flatMap { c in (0..<2).map { z.data[c * 4 + half * 2 + $0] } }, shape: [2, 1, 1, 2])
    }
    let usages = (0..<2).map {
      split.usage(encoderOutputs: halves[$0], indices: Array(indices[($0 * 2)..<($0 * 2 + 2)]))
    }
    let summed = CodebookUsage(
      counts: zip(usages[0].counts, usages[1].counts).map(+), sums: zip(usages[0].sums, usages[1].sums).map(+))
    var asked: [Int] = []
    let restarted = split.maintainCodebook(
      usage: summed, positions: 4,
      vectors: { positions in
        asked += positions
        return positions.flatMap { p in [z.data[p], z.data[4 + p]] }
      }, rng: &rngSplit)
    XCTAssertEqual(restarted, 1)
    XCTAssertEqual(asked.count, 1, "one vector for the one dead code")
    XCTAssertEqual(split.codebook.weight.data, whole.codebook.weight.data)
    XCTAssertEqual(split.statistics, whole.statistics)
  }

  func testKMeansFindsSeparatedClusters() throws {
    var rng = RandomGenerator(seed: 4)
    let centres: [(Float, Float)] = [(-5, -5), (0, 5), (5, -5), (8, 8)]
    var columns: [(Float, Float)] = []
    for (x, y) in centres {
      for _ in 0..<40 { columns.append((x + 0.3 * rng.normal(), y + 0.3 * rng.normal())) }
    }
    let vectors = try Tensor(columns.map(\.0) + columns.map(\.1), shape: [2, columns.count])
    let quantizer = VectorQuantizer(count: 4, dimension: 2, beta: 0.25, rng: &rng)
    quantizer.configure(CodebookSettings(update: .ema, initialization: .kmeans))
    try quantizer.initializeByKMeans(vectors, rng: &rng)
    let found = (0..<4).map { (quantizer.codebook.weight.data[2 * $0], quantizer.codebook.weight.data[2 * $0 + 1]) }
    for (x, y) in centres {
      XCTAssertTrue(
        found.contains { abs($0.0 - x) < 0.2 && abs($0.1 - y) < 0.2 }, "no code near (\(x), \(y)): \(found)")
    }
    XCTAssertEqual(quantizer.statistics?.embedSum, quantizer.codebook.weight.data, "averages start at the new codes")
    let tooFew = try Tensor([Float](repeating: 0, count: 6), shape: [2, 3])
    DataTestSupport.assertThrows(["k-means", "3 vectors for 4 codes"]) {
      try quantizer.initializeByKMeans(tooFew, rng: &rng)
    }
  }

  /// Whatever the codebook settings, the decoder's input passes its gradient to z_e unchanged.
  func testNoOptionChangesTheStraightThroughGradient() throws {
    for settings in [
      CodebookSettings(), CodebookSettings(update: .ema), CodebookSettings(initialization: .kmeans),
      CodebookSettings(update: .ema, initialization: .kmeans, deadCodeThreshold: 0.5),
    ] {
      let (quantizer, z) = try makeQuantizer(settings)
      let quantization = try quantizer(z)
      let upstream: [Float] = [1, -2, 3, 0.5, -1, 4, 0.25, 2]
      try quantization.straightThrough.backward(seed: upstream)
      XCTAssertEqual(z.grad, upstream, "\(settings)")
    }
  }

  func testBadSettingsNameTheFlag() throws {
    func assertRejected(_ fragments: [String], _ overrides: [(String, ConfigValue)]) {
      DataTestSupport.assertThrows(fragments) {
        _ = try TrainingConfiguration.resolve(configFile: nil, overrides: overrides)
      }
    }
    assertRejected(["--ema-decay must be in (0, 1)", "got 1.0"], [("ema_decay", .number(1))])
    assertRejected(["--ema-decay must be in (0, 1)", "got 0.0"], [("ema_decay", .number(0))])
    assertRejected(
      ["--dead-code-threshold must be a non-negative number", "-0.5"], [("dead_code_threshold", .number(-0.5))])
    assertRejected(["--codebook-update must be loss or ema", "\"adam\""], [("codebook_update", .string("adam"))])
    assertRejected(["--codebook-init must be uniform or kmeans"], [("codebook_init", .string("random"))])
    let folder = try DataTestSupport.makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let images = try TrainingTestSupport.makeImageFolder(in: folder, count: 20)
    // 18 training images give 18 · 64 = 1152 encoder outputs, too few for 2048 codes.
    DataTestSupport.assertThrows(["--codebook-init kmeans needs at least as many encoder outputs as codes", "1152"]) {
      _ = try Trainer(
        configFile: nil,
        overrides: TrainingTestSupport.tinyRun(
          images: images, output: "\(folder)/run", updates: 2,
          extra: [("codebook_init", .string("kmeans")), ("n_embeddings", .integer(2048))]))
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(folder)/run"), "nothing written")
  }
}
