import XCTest

@testable import TensorEngine

/// Wrong shapes and geometry give errors that name the op and the shapes, never a trap.
final class BadInputTests: XCTestCase {
  func testShapeMismatches() {
    let a = randomTensor([2, 3], seed: 1)
    let b = randomTensor([3, 2], seed: 2)
    assertThrowsTensorError("add: cannot broadcast shape [3, 2] to [2, 3]") { _ = try a + b }
    assertThrowsTensorError("multiply: cannot broadcast") { _ = try a * randomTensor([4], seed: 3) }
    assertThrowsTensorError("matmul: inner dimensions differ") { _ = try a.matmul(a) }
    assertThrowsTensorError("matmul: need 2-D operands") { _ = try a.matmul(randomTensor([3], seed: 4)) }
    assertThrowsTensorError("meanSquaredError: prediction [2, 3] and target [3, 2] differ") {
      _ = try meanSquaredError(a, b)
    }
    assertThrowsTensorError("reshape: cannot view [2, 3]") { _ = try a.reshaped([4, 2]) }
    assertThrowsTensorError("permute: [0, 0] is not a permutation") { _ = try a.permuted([0, 0]) }
    assertThrowsTensorError("split: sizes [1, 1] do not add up") { _ = try a.split(sizes: [1, 1]) }
    assertThrowsTensorError("concatenate: shapes") { _ = try Tensor.concatenate([a, b]) }
    assertThrowsTensorError("Tensor: 5 values do not fill shape [2, 3]") {
      _ = try Tensor([1, 2, 3, 4, 5], shape: [2, 3])
    }
  }

  func testConvolutionGeometry() {
    let x = randomTensor([2, 1, 4, 4], seed: 5)
    assertThrowsTensorError("conv2d: input must be CNHW") {
      _ = try randomTensor([2, 4, 4], seed: 6).conv2d(weight: x)
    }
    assertThrowsTensorError("conv2d: input [2, 1, 4, 4] has 2 channels but weight [3, 5, 3, 3] expects 5") {
      _ = try x.conv2d(weight: randomTensor([3, 5, 3, 3], seed: 7))
    }
    assertThrowsTensorError("conv2d: kernel 5x5 with padding (top 0, bottom 0, left 0, right 0) does not fit input 4x4")
    {
      _ = try x.conv2d(weight: randomTensor([3, 2, 5, 5], seed: 8))
    }
    assertThrowsTensorError("conv2d: kernel 3x3 with padding (top 1, bottom -3, left 0, right 0) does not fit") {
      _ = try x.conv2d(
        weight: randomTensor([3, 2, 3, 3], seed: 8), padding: ConvPadding(top: 1, bottom: -3, left: 0, right: 0))
    }
    assertThrowsTensorError("conv2d: stride (1, 1) must be positive and padding (-1, 0) non-negative") {
      _ = try x.conv2d(weight: randomTensor([3, 2, 3, 3], seed: 9), padding: (-1, 0))
    }
    assertThrowsTensorError("conv2d: stride (0, 1) must be positive") {
      _ = try x.conv2d(weight: randomTensor([3, 2, 3, 3], seed: 9), stride: (0, 1))
    }
    assertThrowsTensorError("conv2d: bias shape [2] should be [3]") {
      _ = try x.conv2d(weight: randomTensor([3, 2, 3, 3], seed: 9), bias: randomTensor([2], seed: 10))
    }
    assertThrowsTensorError("convTranspose2d: input [2, 1, 4, 4] has 2 channels") {
      _ = try x.convTranspose2d(weight: randomTensor([3, 2, 3, 3], seed: 11))
    }
    assertThrowsTensorError("convTranspose2d: input 1x1 with kernel 1x1, stride (1, 1), padding (1, 1)") {
      _ = try randomTensor([2, 1, 1, 1], seed: 12).convTranspose2d(
        weight: randomTensor([2, 2, 1, 1], seed: 13), padding: (1, 1))
    }
  }

  func testIndicesAndTargetsOutOfRange() {
    let table = randomTensor([4, 2], seed: 14)
    assertThrowsTensorError("gatherRows: index 4 outside 0..<4") { _ = try table.gatherRows([0, 4]) }
    assertThrowsTensorError("gatherRows: index -1 outside") { _ = try table.gatherRows([-1]) }
    assertThrowsTensorError("softmaxCrossEntropy: target 2 outside 0..<2") {
      _ = try softmaxCrossEntropy(logits: table, targets: [0, 1, 2, 0])
    }
    assertThrowsTensorError("softmaxCrossEntropy: 3 targets for 4 positions") {
      _ = try softmaxCrossEntropy(logits: table, targets: [0, 1, 1])
    }
    assertThrowsTensorError("nearestRows: need a [K, D] table and [D, N] points, got [4, 2] and [3, 5]") {
      _ = try table.nearestRows(toColumnsOf: randomTensor([3, 5], seed: 15))
    }
  }

  func testBackwardMisuse() throws {
    let x = randomTensor([3], seed: 16)
    assertThrowsTensorError("backward: a seed is needed for a non-scalar tensor [3]") { try (x * 2).backward() }
    let loss = (x * 2).sum()
    try loss.backward()
    assertThrowsTensorError("already released") { try loss.backward() }
    assertThrowsTensorError("does not require grad") { try randomTensor([1], seed: 17, requiresGrad: false).backward() }
  }

  func testNoGradModeRecordsNothing() throws {
    let x = randomTensor([2, 2], seed: 18)
    let y = try withoutGrad { try (x * x).relu().matmul(x) }
    XCTAssertFalse(y.requiresGrad)
    XCTAssertTrue(y.inputs.isEmpty)
    XCTAssertTrue(GradMode.isEnabled, "grad mode is restored afterwards")
  }
}
