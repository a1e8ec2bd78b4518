import Foundation
import TensorEngine
import XCTest

@testable import Models

/// The incremental sampler against the full-recompute loop, the greedy limits of temperature and top-k, top-p
/// against a hand computation, and a conditional prior that keeps to each class's codes.
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
      try assertCachedSamplingMatchesFullRecompute(
        PriorSampler(model: randomModel(classes: classes, headHidden: headHidden)),
        labels: classes > 0 ? [0, 1, 2, 1] : nil)
    }
  }

  func testCompletionKeepsEveryGivenCodeAndDrawsAsTheFullRecomputeLoopDoes() throws {
    let (count, height, width) = (4, 6, 5)
    let size = height * width
    for (classes, headHidden) in [(3, 0), (0, 5)] {
      let sampler = PriorSampler(model: randomModel(classes: classes, headHidden: headHidden))
      let labels = classes > 0 ? [2, 0, 1, 2] : nil
      for seed in 0..<12 as Range<UInt64> {
        var pick = RandomGenerator(seed: 100 + seed)
        let codes = (0..<(count * size)).map { _ in Int(pick.next() % 10) }
        // Kept rows (top half: rows no grid draws in), a random mask, and one grid kept whole among drawn ones.
        let fill: [Bool] =
          switch seed % 3 {
          case 0: (0..<(count * size)).map { $0 % size >= 3 * width }
          case 1: (0..<(count * size)).map { _ in pick.next() % 3 == 0 }
          default: (0..<(count * size)).map { $0 / size != 1 && ($0 % size) % 4 != 0 }
          }
        let given = GivenCodes(codes: codes, fill: fill)
        var fast = RandomGenerator(seed: seed)
        var slow = RandomGenerator(seed: seed)
        let options = seed % 2 == 0 ? SamplingOptions() : SamplingOptions(temperature: 0.8, topK: 5)
        let incremental = try sampler.sample(
          count: count, height: height, width: width, labels: labels, given: given, options: options, rng: &fast)
        let reference = try sampler.sampleByFullRecompute(
          count: count, height: height, width: width, labels: labels, given: given, options: options, rng: &slow)
        XCTAssertEqual(incremental, reference, "seed \(seed), classes \(classes)")
        XCTAssertEqual(fast.state, slow.state, "both drew the same numbers")
        for p in fill.indices where !fill[p] { XCTAssertEqual(incremental[p], codes[p], "kept code at \(p)") }
        XCTAssertNotEqual(
          fill.indices.filter { fill[$0] }.map { incremental[$0] }, fill.indices.filter { fill[$0] }.map { codes[$0] },
          "the filled positions were drawn anew")
      }
      // Filling every position is plain sampling, number for number.
      var (a, b) = (RandomGenerator(seed: 9), RandomGenerator(seed: 9))
      let all = GivenCodes(
        codes: [Int](repeating: 7, count: count * size), fill: [Bool](repeating: true, count: count * size))
      XCTAssertEqual(
        try sampler.sample(count: count, height: height, width: width, labels: labels, given: all, rng: &a),
        try sampler.sample(count: count, height: height, width: width, labels: labels, rng: &b))
    }
  }

  func testGivenCodesOutsideTheCodebookOrOfTheWrongLengthAreNamed() {
    let sampler = PriorSampler(model: randomModel(classes: 0))
    var rng = RandomGenerator(seed: 1)
    let kept = GivenCodes(codes: [1, 2, 10, 3], fill: [false, true, false, true])
    XCTAssertThrowsError(try sampler.sample(count: 1, height: 2, width: 2, labels: nil, given: kept, rng: &rng)) {
      XCTAssertEqual("\($0)", "given codes: code 10 at position 2 is outside the codebook (K 10)")
    }
    // A code at a position that is drawn is never read, so it may be anything.
    let ignored = GivenCodes(codes: [1, -5, 2, 99], fill: [false, true, false, true])
    XCTAssertNoThrow(
      try sampler.sampleByFullRecompute(count: 1, height: 2, width: 2, labels: nil, given: ignored, rng: &rng))
    let short = GivenCodes(codes: [1, 2, 3], fill: [false, false, true])
    XCTAssertThrowsError(try sampler.sample(count: 1, height: 2, width: 2, labels: nil, given: short, rng: &rng)) {
      XCTAssertEqual("\($0)", "given codes: 3 for 1 grids of 2x2")
    }
  }

  func testEachGridsNegativeLogLikelihoodIsItsShareOfTheMeanLoss() throws {
    let model = randomModel(classes: 3)
    var rng = RandomGenerator(seed: 4)
    let codes = (0..<(5 * 20)).map { _ in Int(rng.next() % 10) }
    let labels = [0, 1, 2, 1, 0]
    let nll = try model.negativeLogLikelihoods(codes, batch: 5, height: 4, width: 5, labels: labels)
    let mean = try model.loss(codes, batch: 5, height: 4, width: 5, labels: labels).loss.scalarValue
    XCTAssertEqual(nll.reduce(0, +) / 100, Double(mean), accuracy: 1e-5)
    // One grid alone scores what it scored in the batch.
    let second = try model.negativeLogLikelihoods(Array(codes[20..<40]), batch: 1, height: 4, width: 5, labels: [1])
    XCTAssertEqual(second[0], nll[1], accuracy: 1e-4)
    // By hand: -log softmax at each position of the second grid.
    let logits = try withoutGrad { try model(Array(codes[20..<40]), batch: 1, height: 4, width: 5, labels: [1]) }
    var byHand = 0.0
    for p in 0..<20 {
      let values = (0..<10).map { Double(logits.data[$0 * 20 + p]) }
      byHand += log(values.map { exp($0) }.reduce(0, +)) - values[codes[20 + p]]
    }
    XCTAssertEqual(second[0], byHand, accuracy: 1e-4)
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

  /// The weights `draw` leaves in its scratch, normalised: the distribution the code was drawn from.
  private func drawnDistribution(_ logits: [Float], _ options: SamplingOptions) -> [Double] {
    var rng = RandomGenerator(seed: 1)
    var scratch = [Float](repeating: 0, count: logits.count)
    _ = logits.withUnsafeBufferPointer { values in
      scratch.withUnsafeMutableBufferPointer { options.draw(values, scratch: $0, rng: &rng) }
    }
    let total = scratch.reduce(0.0) { $0 + Double($1) }
    return scratch.map { Double($0) / total }
  }

  /// Probabilities 0.1, 0.4, 0.2, 0.3, worked by hand: sorted, 0.4 + 0.3 = 0.7 is the first sum to reach 0.6, so
  /// top-p 0.6 keeps codes 1 and 3, renormalised to 4/7 and 3/7.
  func testTopPKeepsTheSmallestSetOfTheLikeliestCodesThatReachesP() throws {
    let logits: [Float] = [0.1, 0.4, 0.2, 0.3].map { Float(log($0)) }
    func assertDistribution(_ options: SamplingOptions, _ expected: [Double], line: UInt = #line) {
      for (actual, wanted) in zip(drawnDistribution(logits, options), expected) {
        XCTAssertEqual(actual, wanted, accuracy: 1e-6, "\(options)", line: line)
      }
    }
    assertDistribution(SamplingOptions(topP: 0.6), [0, 4.0 / 7, 0, 3.0 / 7])
    assertDistribution(SamplingOptions(topP: 0.4), [0, 1, 0, 0])
    assertDistribution(SamplingOptions(topP: 0.75), [0, 4.0 / 9, 2.0 / 9, 3.0 / 9])
    assertDistribution(SamplingOptions(topP: 1), [0.1, 0.4, 0.2, 0.3])
    // A sum that reaches p exactly is enough: 0.4 + 0.3 + 0.2 = 0.9.
    assertDistribution(SamplingOptions(topP: 0.9), [0, 4.0 / 9, 2.0 / 9, 3.0 / 9])
    // After temperature 2 the probabilities are ∝ √p: 0.163, 0.325, 0.230, 0.282; 0.325 + 0.282 = 0.607 reaches 0.55.
    let roots = [0.1, 0.4, 0.2, 0.3].map { $0.squareRoot() }
    assertDistribution(
      SamplingOptions(temperature: 2, topP: 0.55), [0, roots[1], 0, roots[3]].map { $0 / (roots[1] + roots[3]) })
    // After top-k 3 the three left are renormalised (0.388, 0.337, 0.275), so 0.7 takes two codes; without top-k
    // (0.325 + 0.282 = 0.607 < 0.7) it takes three.
    let two = [0, roots[1], 0, roots[3]].map { $0 / (roots[1] + roots[3]) }
    assertDistribution(SamplingOptions(temperature: 2, topK: 3, topP: 0.7), two)
    let three = [0, roots[1], roots[2], roots[3]].map { $0 / (roots[1] + roots[2] + roots[3]) }
    assertDistribution(SamplingOptions(temperature: 2, topP: 0.7), three)
  }

  func testTopPBreaksTiesByTheLowerCode() throws {
    // Three codes of equal probability (0.3222 each): 0.5 needs two of them, always codes 0 and 1.
    let distribution = drawnDistribution([1, 1, 1, 0], SamplingOptions(topP: 0.5))
    XCTAssertEqual(distribution, [0.5, 0.5, 0, 0])
    var rng = RandomGenerator(seed: 3)
    var scratch = [Float](repeating: 0, count: 4)
    var seen = Set<Int>()
    for _ in 0..<300 {
      seen.insert(
        [Float(1), 1, 1, 0].withUnsafeBufferPointer { values in
          scratch.withUnsafeMutableBufferPointer { SamplingOptions(topP: 0.5).draw(values, scratch: $0, rng: &rng) }
        })
    }
    XCTAssertEqual(seen, [0, 1])
  }

  func testTopPOutsideZeroToOneIsNamed() {
    for bad in [Float(0), -0.5, 1.5, .nan] {
      XCTAssertThrowsError(try SamplingOptions(topP: bad).validate()) {
        XCTAssertTrue("\($0)".hasPrefix("top_p must be in (0, 1], got"), "\($0)")
      }
    }
    XCTAssertNoThrow(try SamplingOptions(topP: 1).validate())
    XCTAssertNoThrow(try SamplingOptions(topP: 0.01).validate())
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
