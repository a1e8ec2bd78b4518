import Foundation
import TensorEngine
import XCTest

@testable import Models

/// The incremental sampler against the full-recompute loop, the greedy limits of temperature and top-k, and a
/// conditional prior that keeps to each class's codes.
final class PriorSamplerTests: XCTestCase {
  private func randomModel(classes: Int, headHidden: Int = 0, seed: UInt64 = 5) -> GatedPixelCNN {
    var rng = RandomGenerator(seed: seed)
    let model = GatedPixelCNN(
      PriorConfiguration(codes: 10, dim: 6, layers: 3, classes: classes, headHidden: headHidden), rng: &rng)
    // Larger weights than the default initialisation, so the logits are far from uniform and a wrong position shows.
    for parameter in model.parameters { parameter.data = parameter.data.map { $0 * 3 } }
    return model
  }

  func testIncrementalSamplingGivesTheFullRecomputeLoopsIndices() throws {
    for (classes, headHidden) in [(3, 0), (0, 5)] {
      let sampler = PriorSampler(model: randomModel(classes: classes, headHidden: headHidden))
      let labels = classes > 0 ? [0, 1, 2, 1] : nil
      for options in [SamplingOptions(), SamplingOptions(temperature: 0.7, topK: 4)] {
        var fast = RandomGenerator(seed: 11)
        var slow = RandomGenerator(seed: 11)
        let incremental = try sampler.sample(
          count: 4, height: 6, width: 5, labels: labels, options: options, rng: &fast)
        let reference = try sampler.sampleByFullRecompute(
          count: 4, height: 6, width: 5, labels: labels, options: options, rng: &slow)
        XCTAssertEqual(incremental, reference, "classes \(classes), \(options)")
        XCTAssertEqual(fast.state, slow.state, "both drew the same numbers")
        XCTAssertGreaterThan(Set(incremental).count, 3, "the samples vary")
      }
    }
  }

  func testSameSeedSameSamplesAndTheGreedyLimits() throws {
    let model = randomModel(classes: 2)
    let sampler = PriorSampler(model: model)
    let labels = [0, 1, 1]
    func draw(_ options: SamplingOptions, seed: UInt64) throws -> [Int] {
      var rng = RandomGenerator(seed: seed)
      return try sampler.sample(count: 3, height: 5, width: 5, labels: labels, options: options, rng: &rng)
    }
    XCTAssertEqual(try draw(SamplingOptions(), seed: 1), try draw(SamplingOptions(), seed: 1))
    XCTAssertNotEqual(try draw(SamplingOptions(), seed: 1), try draw(SamplingOptions(), seed: 2))

    // The argmax path, one full forward pass and argmax per position.
    var greedy = [Int](repeating: 0, count: 3 * 25)
    for position in 0..<25 {
      let logits = try withoutGrad { try model(greedy, batch: 3, height: 5, width: 5, labels: labels) }
      for n in 0..<3 {
        let scores = (0..<10).map { logits.data[(n * 10 + $0) * 25 + position] }
        greedy[n * 25 + position] = scores.indices.max { scores[$0] < scores[$1] }!
      }
    }
    XCTAssertEqual(try draw(SamplingOptions(temperature: 0), seed: 3), greedy)
    XCTAssertEqual(try draw(SamplingOptions(temperature: 1e-4), seed: 4), greedy)
    XCTAssertEqual(try draw(SamplingOptions(topK: 1), seed: 5), greedy)
  }

  func testTopKKeepsToTheMostLikelyCodes() {
    var rng = RandomGenerator(seed: 9)
    let logits: [Float] = [0.1, 3, -1, 2.5, 0, 2.9]
    var scratch = [Float](repeating: 0, count: logits.count)
    var seen = Set<Int>()
    for _ in 0..<500 {
      seen.insert(
        logits.withUnsafeBufferPointer { values in
          scratch.withUnsafeMutableBufferPointer { SamplingOptions(topK: 3).draw(values, scratch: $0, rng: &rng) }
        })
    }
    XCTAssertEqual(seen, [1, 3, 5])
    XCTAssertThrowsError(try SamplingOptions(temperature: -1).validate())
    XCTAssertThrowsError(try SamplingOptions(topK: 0).validate())
  }

  /// A toy set where class 0 uses codes 0-3 and class 1 codes 4-7: after training, each class's samples use only
  /// its own codes.
  func testConditionalPriorSamplesOnlyItsClasssCodes() throws {
    var rng = RandomGenerator(seed: 21)
    let model = GatedPixelCNN(PriorConfiguration(codes: 8, dim: 8, layers: 2, classes: 2), rng: &rng)
    let adam = Adam(parameters: model.namedParameters, learningRate: 1e-2)
    let (batch, side) = (16, 4)
    for _ in 0..<150 {
      let labels = (0..<batch).map { $0 % 2 }
      let grids = labels.flatMap { label in (0..<(side * side)).map { _ in 4 * label + rng.integer(below: 4) } }
      adam.zeroGrad()
      let (loss, _) = try model.loss(grids, batch: batch, height: side, width: side, labels: labels)
      try loss.backward()
      adam.update()
    }
    let labels = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    let samples = try PriorSampler(model: model).sample(count: 10, height: side, width: side, labels: labels, rng: &rng)
    for (n, label) in labels.enumerated() {
      let grid = samples[(n * side * side)..<((n + 1) * side * side)]
      XCTAssertTrue(grid.allSatisfy { $0 / 4 == label }, "class \(label) sampled \(Array(grid))")
    }
  }
}
