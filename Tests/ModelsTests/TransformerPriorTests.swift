import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import Models

/// The transformer prior against PyTorch's, its causality, its checks of inputs and architectures, and the cached
/// sampler against the full-recompute loop.
final class TransformerPriorTests: XCTestCase {
  /// The fixture's prior, built through the seam from the architecture its metadata records.
  private func model(from file: SafeTensors) throws -> TransformerPrior {
    var rng = RandomGenerator(seed: 0)
    let model = try XCTUnwrap(
      try Priors.make(kind: "transformer", architecture: file.metadata, rng: &rng) as? TransformerPrior)
    try model.load(from: file)
    return model
  }

  private func checkParity(_ name: String) throws {
    let file = try fixture(name)
    let model = try model(from: file)
    assertClassicNames(model, file)
    let (batch, height, width) = (3, 4, 4)
    let indices = try file.int64s("input").map(Int.init)
    let labels = file.entry("labels") == nil ? nil : try file.int64s("labels").map(Int.init)
    let (loss, logits) = try model.loss(indices, batch: batch, height: height, width: width, labels: labels)
    XCTAssertEqual(logits.shape, [16, batch, height, width], "channel-major")
    assertClose(try logits.swappingFirstTwoAxes().data, try file.floats("logits"), "\(name) logits")
    assertClose(
      try withoutGrad { try model(indices, batch: batch, height: height, width: width, labels: labels) }.data,
      try file.floats("logits"), "\(name) logits [batch, K, height, width]")
    assertClose(loss.data, try file.floats("loss"), "\(name) loss")
    try loss.backward()
    try assertGradientsMatchFixture(model, file, name)
  }

  func testConditionalModelMatchesPyTorch() throws { try checkParity("transformer_small") }

  func testUnconditionalModelMatchesPyTorch() throws { try checkParity("transformer_small_uncond") }

  /// A prior trained with class dropout has PyTorch's tables, "no class" row included: its logits for a batch whose
  /// second grid has no class match the fixture's (evaluation, so no label is dropped).
  func testTheNoClassRowMatchesPyTorch() throws {
    let file = try fixture("transformer_small_guidable")
    let model = try model(from: file)
    assertClassicNames(model, file)
    XCTAssertEqual(model.configuration.noClassLabel, 3)
    let labels = try file.int64s("labels").map(Int.init)
    XCTAssertEqual(labels[1], 3, "the fixture's second grid has no class")
    let (loss, logits) = try withoutGrad {
      try model.loss(try file.int64s("input").map(Int.init), batch: 3, height: 4, width: 4, labels: labels)
    }
    assertClose(try logits.swappingFirstTwoAxes().data, try file.floats("logits"), "guidable logits")
    assertClose(loss.data, try file.floats("loss"), "guidable loss")
  }

  /// A prior with weights large enough that every logit depends visibly on every earlier code.
  private func randomModel(classes: Int, classDropout: Float = 0, seed: UInt64 = 5) -> TransformerPrior {
    var rng = RandomGenerator(seed: seed)
    let model = TransformerPrior(
      TransformerConfiguration(
        codes: 10, dim: 12, layers: 2, heads: 3, classes: classes, maxPositions: 30, classDropout: classDropout),
      rng: &rng)
    for (name, parameter) in model.namedParameters where !name.hasSuffix("ln1.weight") && !name.contains("ln") {
      parameter.data = parameter.data.map { $0 * 20 }
    }
    return model
  }

  func testChangingACodeChangesNoLogitAtOrBeforeItsPosition() throws {
    let model = randomModel(classes: 3)
    let (height, width) = (4, 5)
    var rng = RandomGenerator(seed: 8)
    let codes = (0..<(height * width)).map { _ in rng.integer(below: 10) }
    let before = try withoutGrad {
      try model.positionLogits(codes, batch: 1, height: height, width: width, labels: [2])
    }
    for j in 0..<(height * width) {
      var changed = codes
      changed[j] = (codes[j] + 1 + rng.integer(below: 9)) % 10
      let after = try withoutGrad {
        try model.positionLogits(changed, batch: 1, height: height, width: width, labels: [2])
      }
      for p in 0..<(height * width) {
        let (old, new) = (before.data[(p * 10)..<((p + 1) * 10)], after.data[(p * 10)..<((p + 1) * 10)])
        if p <= j {
          XCTAssertEqual(Array(old), Array(new), "the logits at \(p) see the code at \(j)")
        } else if p == j + 1 {
          XCTAssertNotEqual(Array(old), Array(new), "the logits at \(p) do not see the code just before")
        }
      }
    }
    // The class reaches every position.
    let otherClass = try withoutGrad {
      try model.positionLogits(codes, batch: 1, height: height, width: width, labels: [0])
    }
    for p in 0..<(height * width) {
      XCTAssertNotEqual(
        Array(before.data[(p * 10)..<((p + 1) * 10)]), Array(otherClass.data[(p * 10)..<((p + 1) * 10)]))
    }
  }

  /// The class embedding carries the class to every position: with the class tokens of two classes made equal,
  /// their logits still differ at every position, and with the class embeddings made equal too, they are the same.
  func testTheClassEmbeddingReachesEveryPosition() throws {
    let model = randomModel(classes: 3)
    let classEmbedding = try XCTUnwrap(model.classEmbedding)
    XCTAssertEqual(classEmbedding.weight.shape, [3, 12])
    XCTAssertTrue(model.namedParameters.contains { $0.name == "class_embedding.weight" })
    XCTAssertNil(randomModel(classes: 0).classEmbedding)
    XCTAssertFalse(randomModel(classes: 0).namedParameters.contains { $0.name.hasPrefix("class_embedding") })
    let (height, width, d) = (4, 5, 12)
    var rng = RandomGenerator(seed: 12)
    let codes = (0..<(height * width)).map { _ in rng.integer(below: 10) }
    func logits(_ label: Int) throws -> [Float] {
      try withoutGrad { try model.positionLogits(codes, batch: 1, height: height, width: width, labels: [label]) }.data
    }
    func copyRow(_ table: Embedding, from source: Int, to target: Int) {
      for i in 0..<d { table.weight.data[target * d + i] = table.weight.data[source * d + i] }
    }
    copyRow(model.startEmbedding, from: 0, to: 1)
    let (zero, one) = (try logits(0), try logits(1))
    for p in 0..<(height * width) {
      XCTAssertNotEqual(
        Array(zero[(p * 10)..<((p + 1) * 10)]), Array(one[(p * 10)..<((p + 1) * 10)]),
        "the class does not reach position \(p) through the class embedding")
    }
    copyRow(classEmbedding, from: 0, to: 1)
    XCTAssertEqual(try logits(0), try logits(1), "the class enters through the class token and embedding only")
    // Trained, every position's input sends gradient to its class's row alone.
    let loss = try model.loss(codes, batch: 1, height: height, width: width, labels: [2]).loss
    try loss.backward()
    let gradient = try XCTUnwrap(classEmbedding.weight.grad)
    XCTAssertEqual(gradient[0..<(2 * d)].reduce(0) { $0 + abs($1) }, 0)
    XCTAssertGreaterThan(gradient[(2 * d)...].reduce(0) { $0 + abs($1) }, 0)
  }

  /// For each position i: the gradient of its logits with respect to the input sequence is exactly zero at input
  /// positions after i (which hold the codes at i and later) and non-zero at every position up to i.
  func testTheGradientOfALogitReachesNoLaterInputPosition() throws {
    let model = randomModel(classes: 0)
    let (length, d) = (12, 12)
    var rng = RandomGenerator(seed: 9)
    let codes = (0..<length).map { _ in rng.integer(below: 10) }
    let embedded = try withoutGrad { try model.embed(codes, batch: 1, length: length, labels: nil) }
    for i in 0..<length {
      let x = try Tensor(embedded.data, shape: embedded.shape, requiresGrad: true)
      let logits = try model.forward(x, batch: 1, length: length)
      var seed = [Float](repeating: 0, count: logits.count)
      for k in 0..<10 { seed[i * 10 + k] = 1 }
      try logits.backward(seed: seed)
      let gradient = try XCTUnwrap(x.grad)
      for p in 0..<length {
        let influence = gradient[(p * d)..<((p + 1) * d)].reduce(0) { $0 + abs($1) }
        if p > i {
          XCTAssertEqual(influence, 0, "logits at \(i) see input position \(p)")
        } else {
          XCTAssertGreaterThan(influence, 0, "logits at \(i) do not see input position \(p)")
        }
      }
    }
  }

  func testCachedSamplingGivesTheFullRecomputeLoopsCodes() throws {
    for classes in [3, 0] {
      try assertCachedSamplingMatchesFullRecompute(
        TransformerSampler(model: randomModel(classes: classes)), labels: classes > 0 ? [0, 1, 2, 1] : nil)
    }
  }

  func testCachedCompletionKeepsEveryGivenCodeAndDrawsAsTheFullRecomputeLoopDoes() throws {
    let (count, height, width) = (4, 6, 5)
    let size = height * width
    for classes in [3, 0] {
      let sampler = TransformerSampler(model: randomModel(classes: classes))
      let labels = classes > 0 ? [2, 0, 1, 2] : nil
      for seed in 0..<9 as Range<UInt64> {
        var pick = RandomGenerator(seed: 100 + seed)
        let codes = (0..<(count * size)).map { _ in Int(pick.next() % 10) }
        // The bottom half drawn, a random mask, and the top half drawn (the rest computed not at all).
        let fill: [Bool] =
          switch seed % 3 {
          case 0: (0..<(count * size)).map { $0 % size >= 3 * width }
          case 1: (0..<(count * size)).map { _ in pick.next() % 3 == 0 }
          default: (0..<(count * size)).map { $0 / size != 1 && $0 % size < 3 * width }
          }
        let given = GivenCodes(codes: codes, fill: fill)
        var (fast, slow) = (RandomGenerator(seed: seed), RandomGenerator(seed: seed))
        let options = seed % 2 == 0 ? SamplingOptions() : SamplingOptions(temperature: 0.8, topK: 5)
        let cached = try sampler.sample(
          count: count, height: height, width: width, labels: labels, given: given, options: options, rng: &fast)
        let reference = try sampler.sampleByFullRecompute(
          count: count, height: height, width: width, labels: labels, given: given, options: options, rng: &slow)
        XCTAssertEqual(cached, reference, "seed \(seed), classes \(classes)")
        XCTAssertEqual(fast.state, slow.state, "both drew the same numbers")
        for p in fill.indices where !fill[p] { XCTAssertEqual(cached[p], codes[p], "kept code at \(p)") }
      }
    }
  }

  func testGuidedCachedSamplingGivesTheGuidedFullRecomputeLoopsCodes() throws {
    try assertCachedSamplingMatchesFullRecompute(
      TransformerSampler(model: randomModel(classes: 3, classDropout: 0.1)), labels: [0, 1, 2, 1],
      options: [
        SamplingOptions(guidance: 3), SamplingOptions(guidance: 0), SamplingOptions(topP: 0.8, guidance: 1.5),
      ])
  }

  func testGuidanceZeroDrawsAsNoClassAndMoreGuidanceChangesTheDraws() throws {
    let sampler = TransformerSampler(model: randomModel(classes: 3, classDropout: 0.1))
    func draw(_ labels: [Int], guidance: Float) throws -> [Int] {
      var rng = RandomGenerator(seed: 21)
      return try sampler.sample(
        count: 4, height: 6, width: 5, labels: labels, options: SamplingOptions(guidance: guidance), rng: &rng)
    }
    let plain = try draw([0, 1, 2, 1], guidance: 1)
    XCTAssertEqual(try draw([0, 1, 2, 1], guidance: 0), try draw([3, 3, 3, 3], guidance: 1), "u + 0 (c - u) is u")
    XCTAssertNotEqual(try draw([0, 1, 2, 1], guidance: 0), plain)
    XCTAssertNotEqual(try draw([0, 1, 2, 1], guidance: 3), plain)
  }

  func testClassDropoutShowsGridsWithoutTheirClassOnlyWhileTraining() throws {
    let model = randomModel(classes: 3, classDropout: 0.25)
    let (count, length) = (400, 2)
    let labels = (0..<count).map { $0 % 3 }
    let codes = [Int](repeating: 1, count: count * length)
    let (withClass, noClass) = try withoutGrad {
      (
        try model.embed(codes, batch: count, length: length, labels: labels).data,
        try model.embed(codes, batch: count, length: length, labels: [Int](repeating: 3, count: count)).data
      )
    }
    let trained = try model.embed(codes, batch: count, length: length, labels: labels).data
    let rowSize = length * model.configuration.dim
    var shownWithout = 0
    for n in 0..<count {
      let rows = (n * rowSize)..<((n + 1) * rowSize)
      if trained[rows] == noClass[rows] {
        shownWithout += 1
      } else {
        XCTAssertEqual(trained[rows], withClass[rows], "grid \(n) is shown with its class or without")
      }
    }
    // 100 expected; the bounds are 6 standard deviations (8.7) away.
    XCTAssertTrue((48...152).contains(shownWithout), "\(shownWithout) of \(count) grids shown without their class")
  }

  func testGuidanceNeedsAPriorThatLearnedNoClass() throws {
    var rng = RandomGenerator(seed: 6)
    let guided = SamplingOptions(guidance: 2)
    for (model, labels, message) in [
      (randomModel(classes: 3), [0] as [Int]?, "learned no 'no class' (it was trained with class_dropout 0)"),
      (randomModel(classes: 0, classDropout: 0.1), nil, "the prior is unconditional"),
    ] as [(TransformerPrior, [Int]?, String)] {
      DataTestSupport.assertThrows(["guidance 2.0: ", message, "needs a class-conditional transformer"]) {
        _ = try model.sample(count: 1, height: 2, width: 2, labels: labels, options: guided, rng: &rng)
      }
    }
    let pixelCNN = GatedPixelCNN(PriorConfiguration(codes: 4, dim: 2, layers: 2, classes: 2), rng: &rng)
    DataTestSupport.assertThrows(["guidance 2.0: the gated PixelCNN learned no 'no class'"]) {
      _ = try pixelCNN.sample(count: 1, height: 2, width: 2, labels: [0], options: guided, rng: &rng)
    }
    DataTestSupport.assertThrows(["gatherRows: index 3 outside 0..<3"]) {
      _ = try randomModel(classes: 3).loss([0, 1, 2, 3], batch: 1, height: 2, width: 2, labels: [3])
    }
    DataTestSupport.assertThrows(["guidance must be a number >= 0, got -1.0"]) {
      try SamplingOptions(guidance: -1).validate()
    }
  }

  func testTheSeamRebuildsSamplesAndScoresATransformer() throws {
    var rng = RandomGenerator(seed: 1)
    let original = TransformerPrior(
      TransformerConfiguration(codes: 12, dim: 8, layers: 2, heads: 2, classes: 4, maxPositions: 20, dropout: 0.1),
      rng: &rng)
    let rebuilt = try Priors.make(kind: "transformer", architecture: original.architecture, rng: &rng)
    XCTAssertEqual(rebuilt.architecture, original.architecture)
    XCTAssertEqual([rebuilt.codes, rebuilt.classes], [12, 4])
    XCTAssertEqual(rebuilt.namedParameters.map(\.name), original.namedParameters.map(\.name))
    XCTAssertEqual(rebuilt.namedParameters.map(\.tensor.shape), original.namedParameters.map(\.tensor.shape))
    let grids = try rebuilt.sample(
      count: 3, height: 4, width: 5, labels: [0, 1, 3], options: SamplingOptions(), rng: &rng)
    XCTAssertTrue(grids.allSatisfy { (0..<12).contains($0) })
    let nll = try rebuilt.negativeLogLikelihoods(grids, batch: 3, height: 4, width: 5, labels: [0, 1, 3])
    let mean = try withoutGrad { try rebuilt.loss(grids, batch: 3, height: 4, width: 5, labels: [0, 1, 3]).loss }
    XCTAssertEqual(nll.reduce(0, +) / 60, Double(mean.scalarValue), accuracy: 1e-5, "evaluation has no dropout")
  }

  func testOnlyTheLinearMapsWeightsAreDecayed() {
    var rng = RandomGenerator(seed: 4)
    let model = TransformerPrior(
      TransformerConfiguration(codes: 6, dim: 8, layers: 2, heads: 2, maxPositions: 4), rng: &rng)
    let decayed = Set(model.namedParameters.map(\.name)).subtracting(model.parametersExemptFromWeightDecay)
    XCTAssertEqual(
      decayed,
      [
        "blocks.0.attn.qkv.weight", "blocks.0.attn.proj.weight", "blocks.0.mlp.0.weight", "blocks.0.mlp.2.weight",
        "blocks.1.attn.qkv.weight", "blocks.1.attn.proj.weight", "blocks.1.mlp.0.weight", "blocks.1.mlp.2.weight",
        "head.weight",
      ])
    XCTAssertTrue(
      model.parametersExemptFromWeightDecay.isSuperset(of: ["token_embedding.weight", "ln_f.bias", "head.bias"]))
    let conditional = TransformerPrior(
      TransformerConfiguration(codes: 6, dim: 8, layers: 1, heads: 2, classes: 3, maxPositions: 4), rng: &rng)
    XCTAssertTrue(
      conditional.parametersExemptFromWeightDecay.isSuperset(of: ["start_embedding.weight", "class_embedding.weight"]))
  }

  func testDropoutActsOnlyWhileGradientsAreRecorded() throws {
    var rng = RandomGenerator(seed: 2)
    let model = TransformerPrior(
      TransformerConfiguration(codes: 6, dim: 8, layers: 1, heads: 2, maxPositions: 4, dropout: 0.5), rng: &rng)
    let codes = [1, 2, 3, 4]
    let evaluated = try withoutGrad { try model.loss(codes, batch: 1, height: 2, width: 2, labels: nil).loss }
    let again = try withoutGrad { try model.loss(codes, batch: 1, height: 2, width: 2, labels: nil).loss }
    XCTAssertEqual(evaluated.scalarValue, again.scalarValue)
    let trained = try model.loss(codes, batch: 1, height: 2, width: 2, labels: nil).loss
    XCTAssertNotEqual(trained.scalarValue, evaluated.scalarValue)
  }

  func testBadInputsAndArchitecturesAreNamed() throws {
    var rng = RandomGenerator(seed: 3)
    let model = TransformerPrior(
      TransformerConfiguration(codes: 4, dim: 4, layers: 1, heads: 2, classes: 2, maxPositions: 4), rng: &rng)
    assertPriorNamesBadGridsAndLabels(model, kind: "TransformerPrior")
    DataTestSupport.assertThrows(["gatherRows: index 4 outside 0..<4"]) {
      _ = try model([0, 4, 2, 1], batch: 1, height: 2, width: 2, labels: [0])
    }
    DataTestSupport.assertThrows(["grids of 6 positions are longer than max_positions 4"]) {
      _ = try model([0, 1, 2, 3, 0, 1], batch: 1, height: 2, width: 3, labels: [0])
    }
    DataTestSupport.assertThrows(["grids of 3x2 positions are longer than max_positions 4"]) {
      _ = try model.sample(count: 1, height: 3, width: 2, labels: [0], options: SamplingOptions(), rng: &rng)
    }
    let good = model.architecture
    DataTestSupport.assertThrows(["'heads' must be a whole number >= 1, got nothing"]) {
      _ = try Priors.make(kind: "transformer", architecture: good.filter { $0.key != "heads" }, rng: &rng)
    }
    DataTestSupport.assertThrows(["'dim' (4) must be a multiple of 'heads' (3)"]) {
      _ = try Priors.make(kind: "transformer", architecture: good.merging(["heads": "3"]) { $1 }, rng: &rng)
    }
    DataTestSupport.assertThrows(["grids of 4x3 have more positions than 'max_positions' (4)"]) {
      _ = try Priors.footprint(kind: "transformer", architecture: good, height: 4, width: 3)
    }
    DataTestSupport.assertThrows(["'dropout' must be a number in [0, 1), got 1"]) {
      _ = try Priors.make(kind: "transformer", architecture: good.merging(["dropout": "1"]) { $1 }, rng: &rng)
    }
    DataTestSupport.assertThrows(["'class_dropout' must be a number in [0, 1), got -0.5"]) {
      _ = try Priors.make(kind: "transformer", architecture: good.merging(["class_dropout": "-0.5"]) { $1 }, rng: &rng)
    }
  }

  func testCheckpointsFromBeforeClassDropoutLoadWithoutTheNoClassRow() throws {
    var rng = RandomGenerator(seed: 7)
    let guidable = randomModel(classes: 3, classDropout: 0.1)
    XCTAssertEqual(guidable.architecture["class_dropout"], "0.1")
    XCTAssertEqual(guidable.startEmbedding.weight.shape, [4, 12], "3 classes and no class")
    XCTAssertEqual(guidable.classEmbedding?.weight.shape, [4, 12])
    let rebuilt = try XCTUnwrap(
      try Priors.make(kind: "transformer", architecture: guidable.architecture, rng: &rng) as? TransformerPrior)
    XCTAssertEqual(rebuilt.configuration, guidable.configuration)
    let old = try XCTUnwrap(
      try Priors.make(
        kind: "transformer", architecture: guidable.architecture.filter { $0.key != "class_dropout" }, rng: &rng)
        as? TransformerPrior)
    XCTAssertEqual(old.configuration.classDropout, 0)
    XCTAssertNil(old.configuration.noClassLabel)
    XCTAssertEqual(old.startEmbedding.weight.shape, [3, 12])
  }
}
