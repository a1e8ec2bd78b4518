import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import Models

/// The gated PixelCNN against PyTorch's, and its causality: no logit sees its own position or any later one, and
/// the vertical stack removes the blind spot above-right.
final class GatedPixelCNNTests: XCTestCase {
  /// The fixture's prior, built through the seam from the architecture its metadata records.
  private func model(from file: SafeTensors) throws -> GatedPixelCNN {
    var rng = RandomGenerator(seed: 0)
    let model = try GatedPixelCNN(architecture: file.metadata, rng: &rng)
    try model.load(from: file)
    return model
  }

  private func checkParity(_ name: String) throws {
    let file = try fixture(name)
    let model = try model(from: file)
    assertClassicNames(model, file)
    let indices = try file.int64s("input").map(Int.init)
    let labels = file.entry("labels") == nil ? nil : try file.int64s("labels").map(Int.init)
    let (loss, logits) = try model.loss(indices, batch: 3, height: 8, width: 8, labels: labels)
    XCTAssertEqual(logits.shape, [model.configuration.codes, 3, 8, 8], "channel-major")
    assertClose(try logits.swappingFirstTwoAxes().data, try file.floats("logits"), "\(name) logits")
    assertClose(loss.data, try file.floats("loss"), "\(name) loss")
    try loss.backward()
    try assertGradientsMatchFixture(model, file, name)
    // Mask A's taps: never used, so their gradient is exactly zero (as PyTorch's, through its mask).
    let vertical = try XCTUnwrap(model.layers[0].verticalStack.weight.grad)
    let (rows, columns) = (4, 7)
    for tap in stride(from: (rows - 1) * columns, to: vertical.count, by: rows * columns) {
      XCTAssertEqual(Array(vertical[tap..<(tap + columns)]), [Float](repeating: 0, count: columns))
    }
  }

  func testConditionalModelMatchesPyTorch() throws { try checkParity("pixelcnn_small") }

  func testUnconditionalModelWithHiddenHeadMatchesPyTorch() throws { try checkParity("pixelcnn_small_uncond_head") }

  /// For every position (i, j) in raster order: the gradient of its logits with respect to the embedded input is
  /// exactly zero at (i, j) and after, and non-zero at the neighbours the first layer sees directly: rows i-3 to
  /// i-1 across columns j-3 to j+3 (including above-right, the original PixelCNN's blind spot) and the three
  /// positions to the left.
  func testLogitsDependOnlyOnEarlierPositionsWithNoBlindSpot() throws {
    var rng = RandomGenerator(seed: 3)
    let model = GatedPixelCNN(PriorConfiguration(codes: 12, dim: 6, layers: 4, classes: 3), rng: &rng)
    // Fill mask A's unused taps, so that a layer which used them would show it.
    for weight in [model.layers[0].verticalStack.weight, model.layers[0].horizontalStack.weight] {
      for i in weight.data.indices where weight.data[i] == 0 { weight.data[i] = 0.5 }
    }
    let (height, width, codes) = (8, 8, 12)
    let indices = (0..<(height * width)).map { _ in rng.integer(below: codes) }
    let embedded = try withoutGrad { try model.embed(indices, batch: 1, height: height, width: width) }
    for i in 0..<height {
      for j in 0..<width {
        let x = try Tensor(embedded.data, shape: embedded.shape, requiresGrad: true)
        let logits = try model.forward(x, labels: [1])
        var seed = [Float](repeating: 0, count: logits.count)
        for k in 0..<codes { seed[(k * height + i) * width + j] = 1 }
        try logits.backward(seed: seed)
        let gradient = try XCTUnwrap(x.grad)
        func influence(_ r: Int, _ c: Int) -> Float {
          (0..<6).reduce(0) { $0 + abs(gradient[($1 * height + r) * width + c]) }
        }
        for r in 0..<height {
          for c in 0..<width {
            let later = r > i || (r == i && c >= j)
            let seenDirectly = (r < i && r >= i - 3 && abs(c - j) <= 3) || (r == i && c < j && c >= j - 3)
            if later {
              XCTAssertEqual(influence(r, c), 0, "logits at (\(i), \(j)) see (\(r), \(c))")
            } else if seenDirectly {
              XCTAssertGreaterThan(influence(r, c), 0, "logits at (\(i), \(j)) do not see (\(r), \(c))")
            }
          }
        }
      }
    }
  }

  func testBadInputsAreNamed() throws {
    var rng = RandomGenerator(seed: 1)
    let model = GatedPixelCNN(PriorConfiguration(codes: 4, dim: 2, layers: 2, classes: 2), rng: &rng)
    assertPriorNamesBadGridsAndLabels(model, kind: "GatedPixelCNN")
    DataTestSupport.assertThrows(["codeConvolution: code 4 outside 0..<4"]) {
      _ = try model([0, 1, 2, 4], batch: 1, height: 2, width: 2, labels: [0])
    }
  }
}
