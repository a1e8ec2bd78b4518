import Foundation
import TestSupport
import XCTest

@testable import TensorEngine

/// The ops of a decoder-only transformer: values against direct formulas, gradients against finite differences.
final class TransformerOpTests: XCTestCase {
  func testLayerNormNormalisesEachRowAndScalesAndShifts() throws {
    let x = randomTensor([3, 5], seed: 1, in: -2..<2, requiresGrad: false)
    let weight = randomTensor([5], seed: 2, requiresGrad: false)
    let bias = randomTensor([5], seed: 3, requiresGrad: false)
    let y = try x.layerNormalized(weight: weight, bias: bias)
    for row in 0..<3 {
      let values = (0..<5).map { Double(x.data[row * 5 + $0]) }
      let mean = values.reduce(0, +) / 5
      let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5
      for j in 0..<5 {
        let expected =
          (values[j] - mean) / (variance + 1e-5).squareRoot() * Double(weight.data[j]) + Double(bias.data[j])
        XCTAssertEqual(Double(y.data[row * 5 + j]), expected, accuracy: 1e-5, "row \(row), feature \(j)")
      }
    }
  }

  func testLayerNormGradientsReachInputWeightAndBias() throws {
    let x = randomTensor([2, 3, 6], seed: 4, in: -2..<2)
    let weight = randomTensor([6], seed: 5, in: 0.5..<1.5)
    let bias = randomTensor([6], seed: 6)
    try assertGradientsMatchFiniteDifferences([x, weight, bias], epsilon: 1e-3) {
      try $0[0].layerNormalized(weight: $0[1], bias: $0[2])
    }
  }

  func testLayerNormGradientsSplitOverThreadsAddUpInOrder() throws {
    // Enough rows that the backward pass splits them over the engine's threads.
    let x = randomTensor([4096, 8], seed: 7, requiresGrad: true)
    let layer = LayerNorm(8)
    let seed = (0..<x.count).map { Float($0 % 7) - 3 }
    try layer(x).backward(seed: seed)
    let biasGradient = try XCTUnwrap(layer.bias.grad)
    for j in 0..<8 {
      let expected = stride(from: j, to: x.count, by: 8).reduce(Float(0)) { $0 + seed[$1] }
      XCTAssertEqual(biasGradient[j], expected, accuracy: 1e-2)
    }
  }

  func testGELUIsTheExactErfForm() throws {
    let x = try Tensor([-6, -3, -1, -0.1, 0, 0.1, 0.5, 1, 2.5, 6], shape: [10])
    let y = x.gelu()
    for (value, result) in zip(x.data, y.data) {
      let expected = Double(value) * 0.5 * (1 + erf(Double(value) / 2.0.squareRoot()))
      XCTAssertEqual(Double(result), expected, accuracy: 2e-7 + 1e-6 * abs(expected), "gelu(\(value))")
    }
  }

  func testGELUGradient() throws {
    let x = randomTensor([3, 7], seed: 8, in: -3..<3)
    try assertGradientsMatchFiniteDifferences([x], epsilon: 1e-3) { $0[0].gelu() }
  }

  func testBatchedMatmulMultipliesEachMatrixInAllTranspositions() throws {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
      let a = randomTensor(ta ? [2, 3, 4, 3] : [2, 3, 3, 4], seed: 9)
      let b = randomTensor(tb ? [2, 3, 5, 4] : [2, 3, 4, 5], seed: 10)
      let c = try a.batchedMatmul(b, transposeSelf: ta, transposeRight: tb)
      XCTAssertEqual(c.shape, [2, 3, 3, 5])
      // Each matrix of the stack against the 2-D matmul of its slices.
      for i in 0..<6 {
        let ai = try Tensor(Array(a.data[(i * 12)..<((i + 1) * 12)]), shape: Array(a.shape.suffix(2)))
        let bi = try Tensor(Array(b.data[(i * 20)..<((i + 1) * 20)]), shape: Array(b.shape.suffix(2)))
        let ci = try ai.matmul(bi, transposeSelf: ta, transposeRight: tb)
        XCTAssertEqual(Array(c.data[(i * 15)..<((i + 1) * 15)]), ci.data, "matrix \(i), transposes \(ta), \(tb)")
      }
      try assertGradientsMatchFiniteDifferences([a, b]) {
        try $0[0].batchedMatmul($0[1], transposeSelf: ta, transposeRight: tb)
      }
    }
    assertThrowsTensorError("batchedMatmul: inner dimensions differ") {
      _ = try randomTensor([2, 3, 4], seed: 1).batchedMatmul(randomTensor([2, 5, 4], seed: 2))
    }
    assertThrowsTensorError("the same leading dimensions") {
      _ = try randomTensor([2, 3, 4], seed: 1).batchedMatmul(randomTensor([3, 4, 4], seed: 2))
    }
  }

  /// Attention written out: scores, the causal mask, softmax and the weighted sum, in Double.
  private func referenceAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> [Double] {
    let (heads, queries, keys, dim) = (q.shape[0] * q.shape[1], q.shape[2], k.shape[2], q.shape[3])
    var out = [Double](repeating: 0, count: q.count)
    for h in 0..<heads {
      for i in 0..<queries {
        let visible = keys - queries + i + 1
        let scores = (0..<visible).map { j in
          (0..<dim).reduce(0.0) {
            $0 + Double(q.data[(h * queries + i) * dim + $1]) * Double(k.data[(h * keys + j) * dim + $1])
          } / Double(dim).squareRoot()
        }
        let maximum = scores.max()!
        let weights = scores.map { exp($0 - maximum) }
        let total = weights.reduce(0, +)
        for j in 0..<visible {
          for d in 0..<dim {
            out[(h * queries + i) * dim + d] += weights[j] / total * Double(v.data[(h * keys + j) * dim + d])
          }
        }
      }
    }
    return out
  }

  func testCausalAttentionMatchesTheFormulaForWholeSequencesAndLastPositions() throws {
    for (queries, keys) in [(5, 5), (2, 5), (1, 4)] {
      let q = randomTensor([2, 3, queries, 4], seed: 11, in: -2..<2)
      let k = randomTensor([2, 3, keys, 4], seed: 12, in: -2..<2)
      let v = randomTensor([2, 3, keys, 4], seed: 13)
      let out = try Tensor.causalAttention(query: q, key: k, value: v)
      XCTAssertEqual(out.shape, q.shape)
      for (actual, expected) in zip(out.data, referenceAttention(q, k, v)) {
        XCTAssertEqual(Double(actual), expected, accuracy: 1e-5, "\(queries) queries, \(keys) keys")
      }
    }
  }

  func testCausalAttentionIsStableForLargeScores() throws {
    // Scores of about ±10⁴: without subtracting the maximum, e^score overflows.
    let q = try Tensor([100, 0, -100, 0], shape: [1, 1, 2, 2])
    let k = try Tensor([100, 0, 50, 0], shape: [1, 1, 2, 2])
    let v = try Tensor([1, 2, 3, 4], shape: [1, 1, 2, 2])
    let out = try Tensor.causalAttention(query: q, key: k, value: v)
    XCTAssertEqual(out.data, [1, 2, 3, 4], "position 0 sees only itself; position 1 puts all weight on key 1")
  }

  func testCausalAttentionGradients() throws {
    for (queries, keys) in [(6, 6), (3, 6)] {
      let q = randomTensor([2, 2, queries, 3], seed: 14)
      let k = randomTensor([2, 2, keys, 3], seed: 15)
      let v = randomTensor([2, 2, keys, 3], seed: 16)
      try assertGradientsMatchFiniteDifferences([q, k, v], epsilon: 1e-3) {
        try Tensor.causalAttention(query: $0[0], key: $0[1], value: $0[2])
      }
    }
  }

  func testCausalAttentionLetsNoGradientReachLaterPositions() throws {
    let (q, k, v) = (
      randomTensor([1, 2, 6, 4], seed: 17), randomTensor([1, 2, 6, 4], seed: 18), randomTensor([1, 2, 6, 4], seed: 19)
    )
    let out = try Tensor.causalAttention(query: q, key: k, value: v)
    // The output of position 2 only.
    var seed = [Float](repeating: 0, count: out.count)
    for h in 0..<2 { for d in 0..<4 { seed[(h * 6 + 2) * 4 + d] = 1 } }
    try out.backward(seed: seed)
    for gradient in [k.grad!, v.grad!] {
      for h in 0..<2 {
        for position in 3..<6 {
          XCTAssertEqual(Array(gradient[((h * 6 + position) * 4)..<((h * 6 + position + 1) * 4)]), [0, 0, 0, 0])
        }
      }
    }
  }

  func testCausalAttentionNamesBadShapes() {
    assertThrowsTensorError("with queries <= keys; got [1, 1, 3, 2], [1, 1, 2, 2]") {
      _ = try Tensor.causalAttention(
        query: randomTensor([1, 1, 3, 2], seed: 1), key: randomTensor([1, 1, 2, 2], seed: 2),
        value: randomTensor([1, 1, 2, 2], seed: 3))
    }
  }

  func testKeyValueCacheGivesTheWholeSequencesAttentionOnePositionAtATime() throws {
    let (batch, heads, length, dim) = (2, 3, 5, 4)
    let q = randomTensor([batch, heads, length, dim], seed: 20, requiresGrad: false)
    let k = randomTensor([batch, heads, length, dim], seed: 21, requiresGrad: false)
    let v = randomTensor([batch, heads, length, dim], seed: 22, requiresGrad: false)
    let whole = try Tensor.causalAttention(query: q, key: k, value: v)
    var cache = KeyValueCache(batch: batch, heads: heads, capacity: length, headDim: dim)
    func position(_ t: Tensor, _ p: Int) throws -> Tensor {
      var values: [Float] = []
      for head in 0..<(batch * heads) {
        values += t.data[((head * length + p) * dim)..<((head * length + p + 1) * dim)]
      }
      return try Tensor(values, shape: [batch, heads, 1, dim])
    }
    for p in 0..<length {
      let step = try cache.attend(query: position(q, p), key: position(k, p), value: position(v, p))
      XCTAssertEqual(cache.count, p + 1)
      assertClose(step.data, try position(whole, p).data, "position \(p)")
    }
    assertThrowsTensorError("all 5 positions are filled") {
      _ = try cache.attend(query: position(q, 0), key: position(k, 0), value: position(v, 0))
    }
  }

  func testDropoutZeroesAboutPAndScalesTheRest() throws {
    let x = try Tensor([Float](repeating: 2, count: 10_000), shape: [100, 100], requiresGrad: true)
    var rng = RandomGenerator(seed: 5)
    let y = try x.dropout(probability: 0.25, training: true, rng: &rng)
    let dropped = y.data.filter { $0 == 0 }.count
    XCTAssertEqual(Double(dropped) / 10_000, 0.25, accuracy: 0.02)
    XCTAssertTrue(y.data.allSatisfy { $0 == 0 || abs($0 - 2 / 0.75) < 1e-6 })
    try y.sum().backward()
    XCTAssertEqual(x.grad!, y.data.map { $0 / 2 }, "the gradient goes through the same mask and scale")
    // The same seed gives the same mask.
    var again = RandomGenerator(seed: 5)
    XCTAssertEqual(try x.dropout(probability: 0.25, training: true, rng: &again).data, y.data)
  }

  func testDropoutIsTheIdentityWhenNotTrainingOrAtZero() throws {
    let x = randomTensor([4, 4], seed: 23)
    var rng = RandomGenerator(seed: 6)
    let before = rng.state
    XCTAssertTrue(try x.dropout(probability: 0.5, training: false, rng: &rng) === x)
    XCTAssertTrue(try x.dropout(probability: 0, training: true, rng: &rng) === x)
    XCTAssertEqual(rng.state, before, "no draws")
    assertThrowsTensorError("dropout: the probability must be in [0, 1), got 1.0") {
      _ = try x.dropout(probability: 1, training: true, rng: &rng)
    }
  }

  func testDropoutGradient() throws {
    let x = randomTensor([5, 6], seed: 24)
    try assertGradientsMatchFiniteDifferences([x]) {
      var rng = RandomGenerator(seed: 7)
      return try $0[0].dropout(probability: 0.3, training: true, rng: &rng)
    }
  }
}
