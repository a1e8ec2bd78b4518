import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import Models

/// The prior seam: a prior is rebuilt from the kind and architecture its checkpoint records, and a bad record is
/// refused naming the key.
final class PriorKindsTests: XCTestCase {
  func testAGatedPixelCNNIsRebuiltFromItsArchitecture() throws {
    var rng = RandomGenerator(seed: 1)
    let original = GatedPixelCNN(PriorConfiguration(codes: 12, dim: 8, layers: 3, classes: 4, headHidden: 6), rng: &rng)
    let rebuilt = try Priors.make(kind: "gated_pixelcnn", architecture: original.architecture, rng: &rng)
    XCTAssertEqual(rebuilt.architecture, original.architecture)
    XCTAssertEqual([rebuilt.codes, rebuilt.classes], [12, 4])
    XCTAssertEqual(rebuilt.namedParameters.map(\.name), original.namedParameters.map(\.name))
    XCTAssertEqual(rebuilt.namedParameters.map(\.tensor.shape), original.namedParameters.map(\.tensor.shape))
    XCTAssertNotNil(try Priors.make(kind: nil, architecture: original.architecture, rng: &rng) as? GatedPixelCNN)
  }

  func testTheSeamSamplesAndScoresThroughTheProtocol() throws {
    var rng = RandomGenerator(seed: 2)
    let prior: any Prior = GatedPixelCNN(PriorConfiguration(codes: 5, dim: 4, layers: 2), rng: &rng)
    let grids = try prior.sample(count: 3, height: 4, width: 5, labels: nil, options: SamplingOptions(), rng: &rng)
    XCTAssertEqual(grids.count, 3 * 4 * 5)
    XCTAssertTrue(grids.allSatisfy { (0..<5).contains($0) })
    let (loss, logits) = try prior.loss(grids, batch: 3, height: 4, width: 5, labels: nil)
    XCTAssertEqual(logits.shape, [5, 3, 4, 5])
    XCTAssertTrue(loss.scalarValue.isFinite && loss.scalarValue > 0)
  }

  func testUnknownKindsAndBadArchitecturesAreNamed() {
    var rng = RandomGenerator(seed: 3)
    let good = ["n_embeddings": "8", "dim": "4", "n_layers": "2", "n_classes": "0", "head_hidden": "0"]
    DataTestSupport.assertThrows(["model 'pixelsnail'", "gated_pixelcnn"]) {
      _ = try Priors.make(kind: "pixelsnail", architecture: good, rng: &rng)
    }
    DataTestSupport.assertThrows(["'dim' must be a whole number >= 1, got 0"]) {
      _ = try Priors.make(kind: nil, architecture: good.merging(["dim": "0"]) { $1 }, rng: &rng)
    }
    DataTestSupport.assertThrows(["'n_layers' must be a whole number >= 1, got nothing"]) {
      _ = try Priors.make(kind: nil, architecture: good.filter { $0.key != "n_layers" }, rng: &rng)
    }
  }
}
