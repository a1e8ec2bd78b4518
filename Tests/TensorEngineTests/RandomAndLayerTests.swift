import XCTest

@testable import TensorEngine

/// The seeded generator, PyTorch-style initialisation and parameter naming.
final class RandomAndLayerTests: XCTestCase {
  func testSameSeedSameStreamAndStateRestores() throws {
    var a = RandomGenerator(seed: 7)
    var b = RandomGenerator(seed: 7)
    XCTAssertEqual((0..<100).map { _ in a.next() }, (0..<100).map { _ in b.next() })
    var c = RandomGenerator(seed: 8)
    XCTAssertNotEqual(a.next(), c.next())
    var restored = try RandomGenerator(state: a.state)
    XCTAssertEqual(restored.normalArray(5), a.normalArray(5))
    XCTAssertThrowsError(try RandomGenerator(state: [0, 0, 0, 0]))
  }

  func testDistributions() {
    var rng = RandomGenerator(seed: 1)
    let u = rng.uniformArray(100_000, in: 0..<1)
    XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
    XCTAssertEqual(u.reduce(0, +) / 100_000, 0.5, accuracy: 0.01)
    let n = rng.normalArray(100_000)
    let mean = n.reduce(0, +) / 100_000
    let variance = n.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 100_000
    XCTAssertEqual(mean, 0, accuracy: 0.02)
    XCTAssertEqual(variance, 1, accuracy: 0.03)
    let permutation = rng.permutation(50)
    XCTAssertEqual(permutation.sorted(), Array(0..<50))
    XCTAssertNotEqual(permutation, Array(0..<50))
  }

  func testCategoricalFollowsTheWeights() {
    var rng = RandomGenerator(seed: 2)
    let weights: [Float] = [0, 1, 3, 0]
    var counts = [0, 0, 0, 0]
    weights.withUnsafeBufferPointer { w in
      for _ in 0..<40_000 { counts[rng.categorical(w)] += 1 }
    }
    XCTAssertEqual(counts[0], 0)
    XCTAssertEqual(counts[3], 0)
    XCTAssertEqual(Double(counts[2]) / 40_000, 0.75, accuracy: 0.01)
  }

  func testInitialisationBoundsMatchPyTorch() {
    var rng = RandomGenerator(seed: 3)
    let conv = Conv2D(64, 128, kernelSize: 4, stride: 2, padding: 1, rng: &rng)
    let bound = 1 / Float(64 * 16).squareRoot()
    XCTAssertLessThanOrEqual(conv.weight.data.map(abs).max()!, bound)
    XCTAssertGreaterThan(conv.weight.data.map(abs).max()!, 0.99 * bound, "fills the whole range")
    XCTAssertLessThanOrEqual(conv.bias!.data.map(abs).max()!, bound)
    // A transposed conv's fan-in comes from its output channels.
    let transposed = ConvTranspose2D(128, 64, kernelSize: 4, stride: 2, padding: 1, rng: &rng)
    XCTAssertEqual(transposed.weight.shape, [128, 64, 4, 4])
    XCTAssertLessThanOrEqual(transposed.weight.data.map(abs).max()!, bound)
    XCTAssertGreaterThan(transposed.weight.data.map(abs).max()!, 0.99 * bound)
    let linear = Linear(10, 3, rng: &rng)
    XCTAssertLessThanOrEqual(linear.weight.data.map(abs).max()!, 1 / Float(10).squareRoot())
  }

  func testParameterNamesAndLoad() throws {
    var rng = RandomGenerator(seed: 4)
    let conv = Conv2D(2, 3, kernelSize: 3, bias: false, rng: &rng)
    let names = prefixed("encoder.conv_stack.0", conv.namedParameters).map(\.name)
    XCTAssertEqual(names, ["encoder.conv_stack.0.weight"])
    let values = [Float](repeating: 0.5, count: 54)
    try conv.load(["weight": ([3, 2, 3, 3], values)])
    XCTAssertEqual(conv.weight.data, values)
    assertThrowsTensorError("parameter 'weight' has shape [3, 2], the model expects [3, 2, 3, 3]") {
      try conv.load(["weight": ([3, 2], [1, 2, 3, 4, 5, 6])])
    }
    assertThrowsTensorError("missing parameter 'weight'") { try conv.load([:]) }
  }
}
