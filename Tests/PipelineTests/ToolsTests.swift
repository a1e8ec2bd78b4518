import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// The tools of a trained run on a tiny VQ-VAE and prior: decoding the encoded codes is reconstructing, scores are
/// the prior's test NLL, completion keeps what it is given, the atlas has a tile per code, and every bad mask, grid
/// and code is named.
final class ToolsTests: XCTestCase {
  /// One tiny run for the whole class: a VQ-VAE (K 16) on 32x32 images, its latents and an unconditional prior.
  nonisolated(unsafe) private static var folder = ""
  private static var run: String { (folder as NSString).appendingPathComponent("run") }

  override class func setUp() {
    super.setUp()
    do {
      folder = try DataTestSupport.makeTemporaryFolder()
      let images = try TrainingTestSupport.makeImageFolder(in: folder)
      try TrainingTestSupport.complete(
        try Trainer(configFile: nil, overrides: TrainingTestSupport.tinyRun(images: images, output: run, updates: 30)))
      try TrainingTestSupport.tinyPrior(run: run, updates: 30)
    } catch {
      XCTFail("the tiny run failed: \(error)")
    }
  }

  override class func tearDown() {
    try? FileManager.default.removeItem(atPath: folder)
    super.tearDown()
  }

  private var run: String { Self.run }

  private func checkpoint() throws -> TrainingCheckpoint {
    try TrainingCheckpoint(contentsOf: "\(run)/checkpoints/vqvae.safetensors")
  }

  private func testImages(limit: Int? = nil) throws -> ToolImages {
    try ToolImages(ImageSource(limit: limit), checkpoint: checkpoint())
  }

  func testDecodingTheEncodedCodesIsReconstructing() throws {
    let checkpoint = try checkpoint()
    let model = try checkpoint.model()
    let input = try testImages()
    XCTAssertEqual(input.images.count, 4, "the held-out tenth of 48 images")
    XCTAssertEqual(input.names, (0..<4).map { "test/\($0)" })
    let grids = try CodeGrids(encoding: input.images, with: model, batchSize: 2)
    XCTAssertEqual([grids.count, grids.height, grids.width], [4, 8, 8])
    let npy = "\(Self.folder)/codes.npy"
    try grids.write(to: npy)
    let read = try CodeGrids(contentsOf: npy, for: model, imageShape: [1, 32, 32])
    XCTAssertEqual(read.indices, grids.indices)
    let reconstruction = try Reconstruction(
      model: model, images: input.images, variance: try XCTUnwrap(checkpoint.configuration.recordedVariance))
    // The straight-through estimator adds z_e and (z_q - z_e): equal to z_q up to rounding.
    assertClose(try read.decoded(by: model), reconstruction.shownReconstructions, absolute: 1e-4, "decode(encode(x))")

    // The per-image errors are the evaluation's, and the mean of them its figure.
    let evaluation = try Evaluation(
      model: model, dataset: input.images, dataVariance: checkpoint.configuration.recordedVariance!)
    XCTAssertEqual(reconstruction.meanNormalizedMSE, evaluation.normalizedMSE, accuracy: 1e-5)
    XCTAssertEqual(reconstruction.meanPSNR, evaluation.psnr, accuracy: 1e-3)
    XCTAssertEqual(
      reconstruction.normalizedMSE.reduce(0, +) / 4, reconstruction.meanNormalizedMSE, accuracy: 1e-9)
    let csv = reconstruction.csv(names: input.names, labels: []).split(separator: "\n")
    XCTAssertEqual(csv.count, 5)
    XCTAssertEqual(csv[0], "image,name,label,normalized_mse,psnr_db")
    XCTAssertTrue(csv[1].hasPrefix("0,test/0,,"))
    // 4 images in rows of 3: originals, reconstructions, the short row's originals, its reconstructions.
    let small = try Reconstruction(model: model, images: input.images, variance: 1, shown: 4, columns: 3)
    XCTAssertEqual([small.picture.width, small.picture.height], [3 * 34 + 2, 4 * 34 + 2])
  }

  func testCodeFilesThatDoNotFitTheModelAreNamed() throws {
    let model = try checkpoint().model()
    let path = "\(Self.folder)/bad.npy"
    for (values, shape, message) in [
      ([Int](repeating: 1, count: 2 * 49), [2, 7, 7], "holds 7x7 grids but the VQ-VAE's latent grid is 8x8"),
      ([Int](repeating: 16, count: 64), [1, 8, 8], "code 16 at position 0 is outside the VQ-VAE's codebook (K 16"),
      ([Int](repeating: 0, count: 63) + [-1], [8, 8], "code -1 at position 63 is outside"),
      ([Int](repeating: 0, count: 64), [1, 1, 8, 8], "has shape [1, 1, 8, 8]; code grids are (N, H, W)"),
      ([], [0, 8, 8], "holds no grids"),
    ] as [([Int], [Int], String)] {
      try NPY.write(values, shape: shape, to: path)
      DataTestSupport.assertThrows([path, message]) {
        _ = try CodeGrids(contentsOf: path, for: model, imageShape: [1, 32, 32])
      }
    }
    // One grid may come as (H, W).
    try NPY.write([Int](repeating: 3, count: 64), shape: [8, 8], to: path)
    XCTAssertEqual(try CodeGrids(contentsOf: path, for: model, imageShape: [1, 32, 32]).count, 1)
  }

  func testScoresAreThePriorsTestNegativeLogLikelihood() throws {
    let block = try LatentBlock.load(from: "\(run)/latents")
    let prior = try PriorCheckpoint(contentsOf: "\(run)/prior/checkpoints/prior.safetensors").model()
    let grids = CodeGrids(indices: block.test.indices, count: block.test.count, height: 8, width: 8)
    let scores = try Scores(prior: prior, grids: grids, labels: [], fixedClass: nil)
    let evaluation = try PriorEvaluation(model: prior, split: block.test, height: 8, width: 8)
    XCTAssertEqual(
      scores.bitsPerImage.reduce(0, +) / Double(block.test.count * 64), evaluation.bitsPerLatent, accuracy: 1e-5)
    XCTAssertEqual(scores.classChoice, "unconditional prior")
    DataTestSupport.assertThrows(["--class 2: the prior is not class-conditional"]) {
      _ = try Scores(prior: prior, grids: grids, labels: [], fixedClass: 2)
    }
  }

  func testAClassConditionalScoreSumsTheClassesWhenTheLabelIsUnknown() throws {
    var rng = RandomGenerator(seed: 3)
    let prior = GatedPixelCNN(PriorConfiguration(codes: 6, dim: 4, layers: 2, classes: 3), rng: &rng)
    for parameter in prior.parameters { parameter.data = parameter.data.map { $0 * 3 } }
    let grids = CodeGrids(indices: (0..<(4 * 12)).map { ($0 * 7) % 6 }, count: 4, height: 3, width: 4)
    let perClass = try (0..<3).map { try Scores(prior: prior, grids: grids, labels: [], fixedClass: $0).bitsPerImage }
    let marginal = try Scores(prior: prior, grids: grids, labels: [], fixedClass: nil)
    XCTAssertEqual(marginal.classChoice, "summed over the 3 classes")
    for n in 0..<4 {
      // -log2 of the mean over classes of 2^-bits.
      let expected = -log2(perClass.map { pow(2, -$0[n]) }.reduce(0, +) / 3)
      XCTAssertEqual(marginal.bitsPerImage[n], expected, accuracy: 1e-6)
    }
    let labelled = try Scores(prior: prior, grids: grids, labels: [2, 0, 1, 1], fixedClass: nil)
    XCTAssertEqual(labelled.bitsPerImage, [perClass[2][0], perClass[0][1], perClass[1][2], perClass[1][3]])
    XCTAssertEqual(
      try Scores.likeliestClasses(prior: prior, grids: grids),
      (0..<4).map { n in
        (0..<3).min { perClass[$0][n] < perClass[$1][n] }!
      })
    DataTestSupport.assertThrows(["label 5 of the images is not one of the prior's 3 classes"]) {
      _ = try Scores(prior: prior, grids: grids, labels: [5, 0, 0, 0], fixedClass: nil)
    }
  }

  func testAUROCCountsThePairsThatAHigherScoreOrders() {
    var rng = RandomGenerator(seed: 8)
    let inside = (0..<40).map { _ in Double(rng.next() % 20) }
    let outside = (0..<30).map { _ in Double(rng.next() % 20) + 5 }
    var pairs = 0.0
    for a in inside { for b in outside { pairs += b > a ? 1 : b == a ? 0.5 : 0 } }
    XCTAssertEqual(Scores.auroc(inside: inside, outside: outside), pairs / 1200, accuracy: 1e-12)
    XCTAssertEqual(Scores.auroc(inside: [1, 2], outside: [3, 4]), 1)
    XCTAssertEqual(Scores.auroc(inside: [3, 4], outside: [1, 2]), 0)
    XCTAssertEqual(Scores.auroc(inside: [1, 1], outside: [1]), 0.5)
  }

  func testCompletionKeepsTheGivenCodesAndShowsARowPerImage() throws {
    let stage = try SampleStage(vqvae: run, prior: run)
    let prior = try stage.prior.model()
    let input = try testImages(limit: 3)
    let fill = try FillRegion.below(rows: 5).positions(grid: (8, 8), imageSize: (32, 32))
    XCTAssertEqual(fill.filter { $0 }.count, 24)
    let completion = try Completion(
      prior: prior, vqvae: stage.vqvae, images: input.images, fill: fill, samples: 4, fixedClass: nil,
      options: SamplingOptions(), seed: 1)
    XCTAssertEqual(completion.grids.count, 12)
    for n in 0..<12 {
      for p in 0..<64 where !fill[p] {
        XCTAssertEqual(completion.grids.indices[n * 64 + p], completion.original.indices[(n / 4) * 64 + p])
      }
    }
    XCTAssertNotEqual(
      completion.grids.indices, (0..<12).flatMap { completion.original.indices[($0 / 4) * 64..<($0 / 4 + 1) * 64] })
    XCTAssertEqual([completion.picture.width, completion.picture.height], [6 * 34 + 2, 3 * 34 + 2])
    DataTestSupport.assertThrows(["encodes these 32x32 images to 8x8 grids, but the fill region has 49 positions"]) {
      _ = try Completion(
        prior: prior, vqvae: stage.vqvae, images: input.images, fill: [Bool](repeating: true, count: 49), samples: 1,
        fixedClass: nil, options: SamplingOptions(), seed: 1)
    }
    DataTestSupport.assertThrows(["--class 0: the prior is not class-conditional"]) {
      _ = try Completion(
        prior: prior, vqvae: stage.vqvae, images: input.images, fill: fill, samples: 1, fixedClass: 0,
        options: SamplingOptions(), seed: 1)
    }
  }

  func testFillRegionsMapPixelsToLatentCellsAndBadOnesAreNamed() throws {
    let grid = (height: 8, width: 8)
    let size = (height: 32, width: 32)
    // A box from pixel (5, 9) to (12, 9) touches rows 1...3 of column 2.
    let box = try FillRegion.box(top: 5, left: 9, height: 8, width: 1).positions(grid: grid, imageSize: size)
    XCTAssertEqual(box.indices.filter { box[$0] }, [10, 18, 26])
    var pixels = [UInt8](repeating: 0, count: 32 * 32)
    pixels[31 * 32 + 31] = 255
    pixels[0] = 127
    let mask = "\(Self.folder)/mask.png"
    try writePNG(path: mask, pixels: pixels, width: 32, height: 32, channels: 1)
    let masked = try FillRegion.mask(path: mask).positions(grid: grid, imageSize: size)
    XCTAssertEqual(masked.indices.filter { masked[$0] }, [63], "only the white pixel's cell; 127 is not white")
    XCTAssertEqual(try FillRegion.below(rows: nil).positions(grid: grid, imageSize: size).filter { $0 }.count, 32)

    DataTestSupport.assertThrows(["--keep-rows must be 0 to 7", "got 8"]) {
      _ = try FillRegion.below(rows: 8).positions(grid: grid, imageSize: size)
    }
    DataTestSupport.assertThrows(["the prior's 64x64 grid does not divide the VQ-VAE's 32x32 images"]) {
      _ = try FillRegion.box(top: 0, left: 0, height: 4, width: 4).positions(grid: (64, 64), imageSize: size)
    }
    DataTestSupport.assertThrows(["--box 30,0,4,4", "does not lie within the 32x32 images"]) {
      _ = try FillRegion.box(top: 30, left: 0, height: 4, width: 4).positions(grid: grid, imageSize: size)
    }
    try writePNG(path: mask, pixels: [UInt8](repeating: 255, count: 16 * 32), width: 16, height: 32, channels: 1)
    DataTestSupport.assertThrows([mask, "is 16x32 but the images are 32x32"]) {
      _ = try FillRegion.mask(path: mask).positions(grid: grid, imageSize: size)
    }
    try writePNG(path: mask, pixels: [UInt8](repeating: 20, count: 32 * 32), width: 32, height: 32, channels: 1)
    DataTestSupport.assertThrows([mask, "marks no pixel"]) {
      _ = try FillRegion.mask(path: mask).positions(grid: grid, imageSize: size)
    }
  }

  func testTheAtlasHasATilePerCodeByUsage() throws {
    let model = try checkpoint().model()
    var usage = [Int](repeating: 0, count: 16)
    usage[3] = 50
    usage[9] = 50
    usage[0] = 7
    let atlas = try CodebookAtlas(vqvae: model, usage: usage, grid: (8, 8), columns: 4)
    XCTAssertEqual(Array(atlas.order.prefix(4)), [3, 9, 0, 1], "by usage, ties by index")
    XCTAssertEqual(atlas.order.count, 16)
    // 4 x 4 tiles of 32x32 (captions fit: no enlargement), 4 pixels apart, captions 10 pixels high.
    XCTAssertEqual(atlas.picture.scale, 1)
    XCTAssertEqual([atlas.picture.width, atlas.picture.height], [4 * 36 + 4, 4 * 46 + 4])
    let lines = atlas.csv.split(separator: "\n")
    XCTAssertEqual(lines.count, 17)
    XCTAssertEqual(lines[1], "0,3,50,46.7290")
    // The first tile is code 3 decoded as a constant grid.
    let decoded = try model.decode(indices: [Int](repeating: 3, count: 64), batch: 1, height: 8, width: 8)
    let unit: Float = (min(max(decoded.data[0], -1), 1) + 1) / 2
    let byte = UInt8(min(max(unit * 255 + 0.5, 0), 255))
    XCTAssertEqual(atlas.picture.pixels[(4 * atlas.picture.width + 4) * 3], byte)
  }

  func testInterpolationStartsAndEndsAtTheTwoImagesCodes() throws {
    let model = try checkpoint().model()
    let input = try testImages()
    let two = input.images.subset([1, 3])
    let walk = try Interpolation(vqvae: model, images: two, steps: 5)
    let own = try CodeGrids(encoding: two, with: model)
    XCTAssertEqual(Array(walk.grids.indices.prefix(64)), Array(own.indices.prefix(64)))
    XCTAssertEqual(Array(walk.grids.indices.suffix(64)), Array(own.indices.suffix(64)))
    XCTAssertEqual([walk.picture.width, walk.picture.height], [7 * 34 + 2, 36])
  }

  func testImagesThatDoNotFitTheModelAreNamed() throws {
    let checkpoint = try checkpoint()
    DataTestSupport.assertThrows(["give PNG files and folders or --dataset, not both"]) {
      _ = try ToolImages(ImageSource(paths: ["x.png"], dataset: "MNIST"), checkpoint: checkpoint)
    }
    DataTestSupport.assertThrows(["--split must be train or test, got 'valid'"]) {
      _ = try ToolImages(ImageSource(split: "valid"), checkpoint: checkpoint)
    }
    // A PNG of another size is centre-cropped and resized; a colour one is made gray.
    let png = "\(Self.folder)/wide.png"
    try writePNG(path: png, pixels: DataTestSupport.bytes(48 * 64 * 3, seed: 2), width: 64, height: 48, channels: 3)
    let one = try ToolImages(ImageSource(paths: [png]), checkpoint: checkpoint)
    XCTAssertEqual([one.images.count, one.images.channels, one.images.height, one.images.width], [1, 1, 32, 32])
    XCTAssertEqual(one.names, [png])
    DataTestSupport.assertThrows(["nothing.png", "file not found"]) {
      _ = try ToolImages(ImageSource(paths: ["\(Self.folder)/nothing.png"]), checkpoint: checkpoint)
    }
  }
}
