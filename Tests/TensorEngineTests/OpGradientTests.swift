import Foundation
import TestSupport
import XCTest

@testable import TensorEngine

/// Every op's backward against central finite differences.
final class OpGradientTests: XCTestCase {
  func testAddSubtractMultiplySameShape() throws {
    let a = randomTensor([2, 3, 4], seed: 1)
    let b = randomTensor([2, 3, 4], seed: 2)
    try assertGradientsMatchFiniteDifferences([a, b]) { try $0[0] + $0[1] }
    try assertGradientsMatchFiniteDifferences([a, b]) { try $0[0] - $0[1] }
    try assertGradientsMatchFiniteDifferences([a, b]) { try $0[0] * $0[1] }
  }

  func testBroadcastPerChannelRowAndScalar() throws {
    let x = randomTensor([2, 3, 4, 5], seed: 3)
    for smallShape in [[1, 3, 1, 1], [3, 1, 1], [5], [1], [4, 5], [2, 3, 1, 1]] {
      let s = randomTensor(smallShape, seed: 4)
      try assertGradientsMatchFiniteDifferences([x, s]) { try $0[0] * $0[1] }
      try assertGradientsMatchFiniteDifferences([x, s]) { try $0[0] - $0[1] }
      // The small operand on the left.
      try assertGradientsMatchFiniteDifferences([s, x]) { try $0[0] - $0[1] }
      try assertGradientsMatchFiniteDifferences([s, x]) { try $0[0] + $0[1] }
    }
  }

  func testScalarOperators() throws {
    let x = randomTensor([3, 4], seed: 5)
    try assertGradientsMatchFiniteDifferences([x]) { (($0[0] * 3 + 1.5) - 0.5) / 2 }
    try assertGradientsMatchFiniteDifferences([x]) { -(0.25 * $0[0]) }
  }

  func testActivations() throws {
    let x = randomTensor([2, 3, 4], seed: 6, in: -2..<2, awayFromZero: 0.05)
    try assertGradientsMatchFiniteDifferences([x]) { $0[0].relu() }
    try assertGradientsMatchFiniteDifferences([x], epsilon: 1e-3) { $0[0].tanh() }
    try assertGradientsMatchFiniteDifferences([x], epsilon: 1e-3) { $0[0].sigmoid() }
  }

  func testInPlaceReLUOfAConvolutionGivesReLUsValuesAndGradientsExactly() throws {
    let x = randomTensor([3, 2, 5, 5], seed: 61, in: -2..<2, awayFromZero: 0.05)
    let w = randomTensor([4, 3, 3, 3], seed: 62)
    // relu() itself is checked against finite differences above; the in-place one must match it bit for bit.
    func gradients(inPlace: Bool) throws -> (out: [Float], dx: [Float], dw: [Float]) {
      let xi = try Tensor(x.data, shape: x.shape, requiresGrad: true)
      let wi = try Tensor(w.data, shape: w.shape, requiresGrad: true)
      let pre = try xi.conv2d(weight: wi, padding: (1, 1))
      let out = inPlace ? pre.reluInPlace() : pre.relu()
      try (out * out).sum().backward()
      return (out.data, xi.grad!, wi.grad!)
    }
    let (plain, inPlace) = (try gradients(inPlace: false), try gradients(inPlace: true))
    XCTAssertEqual(plain.out, inPlace.out)
    XCTAssertEqual(plain.dx, inPlace.dx)
    XCTAssertEqual(plain.dw, inPlace.dw)
  }

  func testInPlaceReLULeavesATensorThatSharesTheValuesAlone() throws {
    let x = randomTensor([4, 8], seed: 63)
    let before = x.data
    let shared = x.detached()
    let out = shared.reluInPlace()
    XCTAssertEqual(x.data, before, "the values it was detached from changed")
    XCTAssertEqual(out.data, before.map { max($0, 0) })
    XCTAssertTrue(before.contains { $0 < 0 }, "the test needs negative values")
  }

  func testReductions() throws {
    let x = randomTensor([3, 5], seed: 7)
    try assertGradientsMatchFiniteDifferences([x]) { $0[0].sum() }
    try assertGradientsMatchFiniteDifferences([x]) { $0[0].mean() }
  }

  func testShapeOps() throws {
    let x = randomTensor([2, 3, 4, 5], seed: 8)
    try assertGradientsMatchFiniteDifferences([x]) { try $0[0].reshaped([6, -1]) }
    try assertGradientsMatchFiniteDifferences([x]) { try $0[0].permuted([0, 2, 3, 1]) }
    try assertGradientsMatchFiniteDifferences([x]) { try $0[0].permuted([3, 1, 0, 2]) }
    try assertGradientsMatchFiniteDifferences([x]) {
      let parts = try $0[0].split(sizes: [1, 2], axis: 1)
      return try parts[0] * parts[1].split(sizes: [1, 1], axis: 1)[1]
    }
    let y = randomTensor([2, 2, 4, 5], seed: 9)
    try assertGradientsMatchFiniteDifferences([x, y]) { try Tensor.concatenate([$0[0], $0[1]], axis: 1) }
    try assertGradientsMatchFiniteDifferences([x, y]) { try Tensor.concatenate([$0[1], $0[0], $0[1]], axis: 1) }
  }

  func testMatmulAllTranspositions() throws {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
      let a = randomTensor(ta ? [4, 3] : [3, 4], seed: 10)
      let b = randomTensor(tb ? [5, 4] : [4, 5], seed: 11)
      try assertGradientsMatchFiniteDifferences([a, b]) {
        try $0[0].matmul($0[1], transposeSelf: ta, transposeRight: tb)
      }
    }
  }

  func testConv2dStridePaddingNonSquareBatch() throws {
    let cases: [(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int))] = [
      ([3, 2, 7, 6], [4, 3, 3, 3], (1, 1), (1, 1)),
      ([2, 2, 8, 8], [3, 2, 4, 4], (2, 2), (1, 1)),
      ([2, 1, 6, 19], [2, 2, 4, 3], (2, 2), (1, 1)),
      ([2, 1, 6, 7], [2, 2, 2, 3], (1, 2), (0, 1)),
      ([4, 3, 5, 5], [2, 4, 1, 1], (1, 1), (0, 0)),
      // No more output channels than input ones at stride 1: dx by correlation with the turned kernel.
      ([4, 2, 7, 6], [3, 4, 3, 3], (1, 1), (1, 1)),
      ([3, 2, 6, 7], [3, 3, 2, 3], (1, 1), (0, 1)),
    ]
    for (n, c) in cases.enumerated() {
      let x = randomTensor(c.input, seed: 20 + UInt64(n))
      let w = randomTensor(c.weight, seed: 30 + UInt64(n))
      let b = randomTensor([c.weight[0]], seed: 40 + UInt64(n))
      try assertGradientsMatchFiniteDifferences([x, w, b]) {
        try $0[0].conv2d(weight: $0[1], bias: $0[2], stride: c.stride, padding: c.padding)
      }
    }
  }

  /// Large im2col matrices are built a few images at a time: the same values and gradients, chunk by chunk (the
  /// chunk size is lowered so that small shapes take that path), with and without gradients recorded.
  func testChunkedConvolutionsMatchWholeBatchOnes() throws {
    let x = randomTensor([3, 5, 6, 6], seed: 90)
    let w = randomTensor([4, 3, 3, 3], seed: 91)
    let b = randomTensor([4], seed: 92)
    let wT = randomTensor([3, 2, 4, 4], seed: 93)
    let whole = try withoutGrad {
      (
        try x.conv2d(weight: w, bias: b, padding: (1, 1)).data,
        try x.convTranspose2d(weight: wT, stride: (2, 2), padding: (1, 1)).data
      )
    }
    let saved = ConvGeometry.chunkValues
    ConvGeometry.chunkValues = 2 * 27 * 36  // two images per chunk: chunks of 2, 2, 1
    defer { ConvGeometry.chunkValues = saved }
    try withoutGrad {
      XCTAssertTrue(try x.conv2d(weight: w, bias: b, padding: (1, 1)).data == whole.0, "conv2d in chunks")
      XCTAssertTrue(
        try x.convTranspose2d(weight: wT, stride: (2, 2), padding: (1, 1)).data == whole.1, "convTranspose2d in chunks")
    }
    // With nothing kept, training builds the chunks in both passes.
    let keptLimit = maxKeptColumns
    maxKeptColumns = 0
    defer { maxKeptColumns = keptLimit }
    try assertGradientsMatchFiniteDifferences([x, w, b]) {
      try $0[0].conv2d(weight: $0[1], bias: $0[2], padding: (1, 1))
    }
    try assertGradientsMatchFiniteDifferences([x, w]) {
      try $0[0].conv2d(weight: $0[1], stride: (2, 2), padding: (1, 1))
    }
    let frozen = randomTensor([4, 3, 3, 3], seed: 94, requiresGrad: false)
    try assertGradientsMatchFiniteDifferences([x]) { try $0[0].conv2d(weight: frozen, padding: (1, 1)) }
    try assertGradientsMatchFiniteDifferences([x, wT]) {
      try $0[0].convTranspose2d(weight: $0[1], stride: (2, 2), padding: (1, 1))
    }
  }

  func testConv2dWithPaddingPerSide() throws {
    // 2 -> 3 channels folds dx back with col2im; 3 -> 2 computes it by correlation.
    for (inputShape, weightShape) in [([2, 2, 5, 6], [3, 2, 3, 4]), ([3, 2, 5, 6], [2, 3, 3, 4])] {
      let x = randomTensor(inputShape, seed: 24)
      let w = randomTensor(weightShape, seed: 34)
      let b = randomTensor([weightShape[0]], seed: 44)
      for padding in [
        ConvPadding(top: 2, bottom: -1, left: 3, right: 0), ConvPadding(top: 0, bottom: 1, left: -1, right: 2),
        ConvPadding(top: 4, bottom: 0, left: 1, right: 1),
      ] {
        try assertGradientsMatchFiniteDifferences([x, w, b]) {
          try $0[0].conv2d(weight: $0[1], bias: $0[2], padding: padding)
        }
      }
    }
  }

  func testGatedActivationWithAndWithoutCondition() throws {
    let x = randomTensor([6, 2, 3, 2], seed: 45, in: -2..<2)
    let condition = randomTensor([2, 6], seed: 46)
    try assertGradientsMatchFiniteDifferences([x], epsilon: 1e-3) { try $0[0].gatedActivation() }
    try assertGradientsMatchFiniteDifferences([x, condition], epsilon: 1e-3) {
      try $0[0].gatedActivation(condition: $0[1])
    }
    // The definition, through the separate ops: tanh(a + c_a) · σ(b + c_b).
    let gated = try x.gatedActivation(condition: condition)
    // Channel-major: image n's bias for channel c sits at plane (c, n).
    let conditionMap = try condition.permuted([1, 0]).reshaped([6, 2, 1, 1])
    let parts = try (x + conditionMap).split(sizes: [3, 3], axis: 0)
    assertClose(gated.data, try (parts[0].tanh() * parts[1].sigmoid()).data, absolute: 1e-6, relative: 1e-5)
    XCTAssertEqual(gated.shape, [3, 2, 3, 2])
    assertThrowsTensorError("gatedActivation: input must be [2C, N, H, W]") {
      _ = try randomTensor([3, 1, 2, 2], seed: 1).gatedActivation()
    }
    assertThrowsTensorError("gatedActivation: condition [2, 4] should be [2, 6]") {
      _ = try x.gatedActivation(condition: randomTensor([2, 4], seed: 1))
    }
  }

  /// The vectorisable tanh and sigmoid stay within a few ulp of libm's over the whole useful range.
  func testFastTanhAndSigmoidMatchLibm() {
    var worstTanh: Float = 0
    var worstSigmoid: Float = 0
    for step in -200_000...200_000 {
      let x = Float(step) * 1e-4
      worstTanh = max(worstTanh, abs(fastTanh(x) - Foundation.tanh(x)))
      worstSigmoid = max(worstSigmoid, abs(fastSigmoid(x) - 1 / (1 + Foundation.exp(-x))))
    }
    XCTAssertLessThan(worstTanh, 5e-7)
    XCTAssertLessThan(worstSigmoid, 5e-7)
    for x: Float in [1e-6, 1e-3, 0.3] {
      XCTAssertEqual(fastTanh(x), Foundation.tanh(x), accuracy: 4 * x.ulp, "relative accuracy near 0")
    }
    XCTAssertEqual(fastTanh(50), 1)
    XCTAssertEqual(fastTanh(-50), -1)
    XCTAssertEqual(fastSigmoid(0), 0.5)
  }

  func testConvTranspose2dStridePaddingNonSquareBatch() throws {
    let cases: [(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int))] = [
      ([3, 2, 4, 5], [3, 2, 3, 3], (1, 1), (1, 1)),
      ([3, 2, 4, 4], [3, 2, 4, 4], (2, 2), (1, 1)),
      ([2, 1, 3, 4], [2, 3, 2, 3], (2, 1), (0, 1)),
      // The gradient's stride-2 im2col has 9 outputs per row: a run of 8 and a tail.
      ([2, 1, 3, 9], [2, 2, 4, 4], (2, 2), (1, 1)),
      // No more input channels than output ones at stride 1: the output by correlation with the turned kernel.
      ([2, 2, 4, 5], [2, 3, 3, 3], (1, 1), (1, 1)),
      ([2, 3, 3, 4], [2, 2, 2, 3], (1, 1), (0, 1)),
    ]
    for (n, c) in cases.enumerated() {
      let x = randomTensor(c.input, seed: 50 + UInt64(n))
      let w = randomTensor(c.weight, seed: 60 + UInt64(n))
      let b = randomTensor([c.weight[1]], seed: 70 + UInt64(n))
      try assertGradientsMatchFiniteDifferences([x, w, b]) {
        try $0[0].convTranspose2d(weight: $0[1], bias: $0[2], stride: c.stride, padding: c.padding)
      }
    }
  }

  func testGatherRowsScatterAddsRepeatedRows() throws {
    let table = randomTensor([5, 3], seed: 80)
    try assertGradientsMatchFiniteDifferences([table]) { try $0[0].gatherRows([4, 0, 4, 2, 4]) }
  }

  func testMeanSquaredErrorBothSides() throws {
    let a = randomTensor([2, 3, 4], seed: 81)
    let b = randomTensor([2, 3, 4], seed: 82)
    try assertGradientsMatchFiniteDifferences([a, b], epsilon: 1e-3) { try meanSquaredError($0[0], $0[1]) }
  }

  func testSoftmaxCrossEntropy2DAndSpatial() throws {
    let logits = randomTensor([4, 6], seed: 83, in: -3..<3)
    try assertGradientsMatchFiniteDifferences([logits], epsilon: 1e-3) {
      try softmaxCrossEntropy(logits: $0[0], targets: [0, 5, 2, 2])
    }
    let spatial = randomTensor([2, 5, 3, 2], seed: 84, in: -3..<3)
    let targets = [0, 1, 2, 3, 4, 0, 4, 4, 1, 2, 3, 0]
    try assertGradientsMatchFiniteDifferences([spatial], epsilon: 1e-3) {
      try softmaxCrossEntropy(logits: $0[0], targets: targets)
    }
  }

  func testGradientAccumulatesIntoTensorUsedTwice() throws {
    let x = randomTensor([3, 4], seed: 85)
    let w = randomTensor([4, 4], seed: 86)
    // x feeds a product, a sum and a matmul: three paths whose gradients must add up.
    try assertGradientsMatchFiniteDifferences([x, w]) {
      try ($0[0] * $0[0] + $0[0]).matmul($0[1]) + $0[0].matmul($0[1])
    }
  }

  func testStopGradientBlocksTheFlow() throws {
    let x = randomTensor([3], seed: 87)
    let loss = try (x * x.detached()).sum()
    try loss.backward()
    // d/dx of x · sg[x] is sg[x] only, not 2x.
    assertClose(x.grad!, x.data, "grad")
  }

  func testStraightThroughEstimatorPassesGradientUnchanged() throws {
    let ze = randomTensor([2, 3], seed: 88)
    let zq = randomTensor([2, 3], seed: 89, requiresGrad: false)
    // z_e + sg[z_q - z_e] has the value of z_q and the gradient of the identity in z_e.
    let st = try ze.straightThrough(zq)
    XCTAssertEqual(st.data, zq.data)
    try st.backward(seed: [1, 2, 3, 4, 5, 6])
    XCTAssertEqual(ze.grad!, [1, 2, 3, 4, 5, 6])
    assertThrowsTensorError("straightThrough: value [3] and input [2, 3] differ") {
      _ = try ze.straightThrough(randomTensor([3], seed: 1))
    }
  }

  /// codeConvolution is conv2d of the embedded codes (cropping and zero padding included), its gradients reach the
  /// products and the bias, and through the products the table and weight get conv2d's gradients.
  func testCodeConvolutionIsTheConvolutionOfTheEmbeddedCodes() throws {
    let (count, d, o, batch, height, width) = (5, 3, 4, 2, 3, 4)
    var rng = RandomGenerator(seed: 47)
    let codes = (0..<(batch * height * width)).map { _ in rng.integer(below: count) }
    let (table, weight, bias) = (
      randomTensor([count, d], seed: 48), randomTensor([o, d, 2, 3], seed: 49), randomTensor([o], seed: 50)
    )
    let padding = ConvPadding(top: 1, bottom: -1, left: 1, right: 2)
    func direct() throws -> Tensor {
      let embedded = try table.gatherRows(codes).permuted([1, 0]).reshaped([d, batch, height, width])
      return try embedded.conv2d(weight: weight, bias: bias, padding: padding)
    }
    func lookedUp() throws -> Tensor {
      let taps = try weight.reshaped([o, d, 6]).permuted([1, 2, 0]).reshaped([d, 6 * o])
      return try table.matmul(taps).codeConvolution(
        codes: codes, batch: batch, height: height, width: width, kernel: (2, 3), padding: padding, bias: bias)
    }
    var seedRng = RandomGenerator(seed: 51)
    var gradients: [[Float]] = []
    for build in [direct, lookedUp] {
      for t in [table, weight, bias] { t.grad = nil }
      let out = try build()
      XCTAssertEqual(out.shape, [o, batch, 2, 5])
      try out.backward(seed: seedRng.uniformArray(out.count, in: -1..<1))
      seedRng = RandomGenerator(seed: 51)
      gradients.append(try withoutGrad { try build() }.data + table.grad! + weight.grad! + bias.grad!)
    }
    assertClose(gradients[1], gradients[0], absolute: 1e-5, relative: 1e-5)

    let products = randomTensor([count, 6 * o], seed: 52)
    try assertGradientsMatchFiniteDifferences([products, bias]) {
      try $0[0].codeConvolution(
        codes: codes, batch: batch, height: height, width: width, kernel: (2, 3), padding: padding, bias: $0[1])
    }
    assertThrowsTensorError("codeConvolution: code 5 outside 0..<5") {
      _ = try products.codeConvolution(codes: [5], batch: 1, height: 1, width: 1, kernel: (1, 1), padding: .zero)
    }
  }
}
