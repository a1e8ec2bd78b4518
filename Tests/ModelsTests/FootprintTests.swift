import TensorEngine
import XCTest

@testable import Models

/// The footprints that memory checks rely on follow the models they describe: their parameter counts stay near the
/// built models' for the shapes users pick.
final class FootprintTests: XCTestCase {
  func testVQVAEFootprintCountsAboutTheModelsParameters() {
    for (hiddens, downsamples, embeddings) in [(128, 2, 512), (32, 1, 64), (64, 4, 1024), (256, 3, 16)] {
      var configuration = VQVAEConfiguration()
      (configuration.hiddens, configuration.downsamples, configuration.embeddings) = (hiddens, downsamples, embeddings)
      var rng = RandomGenerator(seed: 0)
      let built = Double(VQVAE(configuration, rng: &rng).parameterCount)
      let estimated = configuration.footprint(height: 64, width: 64).parameterFloats
      XCTAssertEqual(estimated / built, 1, accuracy: 0.35, "h \(hiddens), \(downsamples) downsamples, K \(embeddings)")
    }
  }

  func testPriorFootprintCountsAboutTheModelsParameters() throws {
    for (dim, layers, classes, hidden) in [(64, 15, 0, 0), (32, 4, 10, 0), (128, 8, 0, 256)] {
      let configuration = PriorConfiguration(codes: 512, dim: dim, layers: layers, classes: classes, headHidden: hidden)
      var rng = RandomGenerator(seed: 0)
      let built = Double(GatedPixelCNN(configuration, rng: &rng).parameterCount)
      let estimated = try Priors.footprint(
        kind: nil, architecture: GatedPixelCNN(configuration, rng: &rng).architecture, height: 8, width: 8
      ).parameterFloats
      XCTAssertEqual(estimated / built, 1, accuracy: 0.35, "dim \(dim), \(layers) layers, \(classes) classes")
    }
  }

  func testTransformerFootprintCountsTheModelsParameters() throws {
    for (dim, layers, classes, positions) in [(256, 8, 0, 64), (64, 2, 10, 1024), (512, 12, 10, 256)] {
      let configuration = TransformerConfiguration(
        codes: 512, dim: dim, layers: layers, heads: 8, classes: classes, maxPositions: positions)
      var rng = RandomGenerator(seed: 0)
      let built = Double(TransformerPrior(configuration, rng: &rng).parameterCount)
      let estimated = try Priors.footprint(
        kind: "transformer", architecture: configuration.architecture, height: 8, width: 8
      ).parameterFloats
      XCTAssertEqual(estimated, built, "dim \(dim), \(layers) layers, \(classes) classes")
    }
  }

  func testSizesPastAnyMachineAreFiguredWithoutTrapping() {
    var configuration = VQVAEConfiguration()
    configuration.embeddings = 1 << 40
    configuration.hiddens = 1 << 40
    let floats = configuration.footprint(height: 256, width: 256).parameterFloats
    XCTAssertGreaterThan(floats, 1e24)
    XCTAssertTrue(floats.isFinite)
    XCTAssertNotNil(MemoryBudget.shortfall(4 * floats, for: "the model"))
    XCTAssertNil(MemoryBudget.shortfall(1_048_576, for: "a megabyte"))
    XCTAssertEqual(MemoryBudget.format(24 * 1024 * 1024 * 1024), "24 GiB")
    XCTAssertEqual(MemoryBudget.format(1536), "1.5 KiB")
    XCTAssertEqual(MemoryBudget.format(512), "512 B")
  }

  func testThePeakMemoryNoteCountsWhatTheProcessTouched() throws {
    MemoryBudget.resetPeakResident()
    let before = try XCTUnwrap(MemoryBudget.peakResidentMiB())
    // 96 MiB written page by page: resident, so the peak rises by about that much.
    var block = [UInt8](repeating: 0, count: 96 << 20)
    for page in stride(from: 0, to: block.count, by: 4096) { block[page] = 1 }
    let after = try XCTUnwrap(MemoryBudget.peakResidentMiB())
    XCTAssertEqual(block.reduce(0) { $0 + Int($1) }, (96 << 20) / 4096)
    XCTAssertGreaterThanOrEqual(after, before + 90, "peak \(before) MiB, then \(after) MiB")
    XCTAssertTrue(MemoryBudget.peakNote.hasPrefix("; peak memory "))
    XCTAssertTrue(MemoryBudget.peakNote.hasSuffix(" MiB"))
  }
}
