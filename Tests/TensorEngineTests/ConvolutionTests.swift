import Foundation
import TestSupport
import XCTest

@testable import TensorEngine

/// Convolutions against a naive loop, the transpose as the adjoint, and PyTorch's outputs and gradients.
final class ConvolutionTests: XCTestCase {
  /// Lets F(2x2, r x s) take convolutions of any channel count until the test ends.
  private func forceWinograd() {
    let floor = Winograd.minimumChannels
    Winograd.minimumChannels = 1
    addTeardownBlock { Winograd.minimumChannels = floor }
  }

  /// The definition of conv2d, one multiply-add at a time, on channel-major `[C, N, H, W]` images.
  private func naiveConv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: (Int, Int), padding: ConvPadding) -> [Float]
  {
    let (c, n, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
    let oh = (h + padding.top + padding.bottom - kh) / stride.0 + 1
    let ow = (wd + padding.left + padding.right - kw) / stride.1 + 1
    var out = [Float](repeating: 0, count: n * o * oh * ow)
    for b0 in 0..<n {
      for o0 in 0..<o {
        for i in 0..<oh {
          for j in 0..<ow {
            var acc = b?.data[o0] ?? 0
            for c0 in 0..<c {
              for ki in 0..<kh {
                for kj in 0..<kw {
                  let y = i * stride.0 - padding.top + ki
                  let z = j * stride.1 - padding.left + kj
                  guard y >= 0, y < h, z >= 0, z < wd else { continue }
                  acc += x.data[((c0 * n + b0) * h + y) * wd + z] * w.data[((o0 * c + c0) * kh + ki) * kw + kj]
                }
              }
            }
            out[((o0 * n + b0) * oh + i) * ow + j] = acc
          }
        }
      }
    }
    return out
  }

  func testConv2dMatchesNaiveLoop() throws {
    let cases: [([Int], [Int], (Int, Int), (Int, Int))] = [
      ([3, 2, 9, 7], [4, 3, 3, 3], (1, 1), (1, 1)),
      ([2, 3, 10, 8], [5, 2, 4, 4], (2, 2), (1, 1)),
      ([4, 1, 7, 9], [2, 4, 2, 5], (3, 2), (2, 0)),
      ([5, 2, 4, 4], [3, 5, 1, 1], (1, 1), (0, 0)),
      // Stride 2 with at least 8 outputs per row: runs of 8 from a padded plane, then a tail (8 + 3).
      ([2, 3, 12, 22], [3, 2, 4, 4], (2, 2), (1, 1)),
    ]
    for (k, (inputShape, weightShape, stride, padding)) in cases.enumerated() {
      let x = randomTensor(inputShape, seed: UInt64(k), requiresGrad: false)
      let w = randomTensor(weightShape, seed: UInt64(10 + k), requiresGrad: false)
      let b = randomTensor([weightShape[0]], seed: UInt64(20 + k), requiresGrad: false)
      let y = try x.conv2d(weight: w, bias: b, stride: stride, padding: padding)
      assertClose(y.data, naiveConv2d(x, w, b, stride: stride, padding: ConvPadding(padding)), "case \(k)")
    }
  }

  /// One padding per side, negative ones cropping: the causal convolutions of the gated PixelCNN.
  func testConv2dWithPaddingPerSideMatchesNaiveLoop() throws {
    let cases: [([Int], [Int], (Int, Int), ConvPadding)] = [
      // Mask A's vertical stack: rows i-3..i-1 of a 7-wide kernel.
      ([3, 2, 8, 8], [4, 3, 3, 7], (1, 1), ConvPadding(top: 3, bottom: -1, left: 3, right: 3)),
      // Mask B's: rows i-1..i.
      ([3, 2, 8, 6], [4, 3, 2, 3], (1, 1), ConvPadding(top: 1, bottom: 0, left: 1, right: 1)),
      // Horizontal stacks: columns j-3..j-1 and j-1..j.
      ([2, 1, 5, 8], [3, 2, 1, 3], (1, 1), ConvPadding(top: 0, bottom: 0, left: 3, right: -1)),
      ([2, 3, 4, 7], [2, 2, 1, 2], (1, 1), ConvPadding(top: 0, bottom: 0, left: 1, right: 0)),
      ([2, 1, 9, 9], [2, 2, 3, 3], (2, 2), ConvPadding(top: 2, bottom: 0, left: 0, right: 1)),
      ([2, 2, 12, 21], [3, 2, 4, 3], (2, 2), ConvPadding(top: 1, bottom: 1, left: 2, right: 0)),
      ([2, 2, 9, 20], [3, 2, 3, 3], (2, 2), ConvPadding(top: -1, bottom: 0, left: -1, right: 1)),
    ]
    for (k, (inputShape, weightShape, stride, padding)) in cases.enumerated() {
      let x = randomTensor(inputShape, seed: UInt64(60 + k), requiresGrad: false)
      let w = randomTensor(weightShape, seed: UInt64(70 + k), requiresGrad: false)
      let b = randomTensor([weightShape[0]], seed: UInt64(80 + k), requiresGrad: false)
      let y = try x.conv2d(weight: w, bias: b, stride: stride, padding: padding)
      let expected = naiveConv2d(x, w, b, stride: stride, padding: padding)
      XCTAssertEqual(y.count, expected.count, "case \(k)")
      assertClose(y.data, expected, "case \(k)")
    }
    XCTAssertEqual(
      try randomTensor([1, 1, 8, 8], seed: 1).conv2d(
        weight: randomTensor([1, 1, 3, 7], seed: 2), padding: ConvPadding(top: 3, bottom: -1, left: 3, right: 3)
      ).shape, [1, 1, 8, 8])
  }

  /// Stride-1 convolutions with kernel sides of 2 and 3 through F(2x2, r x s), forced on for every channel count: odd
  /// output sizes (a tile cut at the edge), rows of more than 4 tiles with a short last run, each padding from 0 to 2
  /// and uneven sides, one image and several.
  func testWinogradConvolutionMatchesNaiveLoop() throws {
    forceWinograd()
    let cases: [([Int], [Int], ConvPadding)] = [
      ([3, 2, 8, 8], [4, 3, 3, 3], ConvPadding((1, 1))),
      ([2, 3, 7, 5], [3, 2, 3, 3], ConvPadding((1, 1))),
      ([2, 1, 9, 19], [2, 2, 3, 3], ConvPadding((0, 0))),
      ([1, 2, 6, 21], [3, 1, 3, 3], ConvPadding((2, 2))),
      ([2, 2, 5, 11], [2, 2, 3, 3], ConvPadding(top: 2, bottom: 0, left: 0, right: 1)),
      // F(2x2, 2x3) as in the gated PixelCNN's vertical stack, F(2x2, 3x2) and F(2x2, 2x2).
      ([3, 2, 8, 8], [4, 3, 2, 3], ConvPadding(top: 1, bottom: 0, left: 1, right: 1)),
      ([2, 2, 7, 19], [3, 2, 2, 3], ConvPadding((0, 0))),
      ([2, 3, 9, 6], [2, 2, 3, 2], ConvPadding(top: 1, bottom: 1, left: 1, right: 0)),
      ([3, 2, 9, 9], [2, 3, 2, 2], ConvPadding((0, 0))),
      ([2, 1, 6, 13], [3, 2, 2, 2], ConvPadding(top: 1, bottom: 0, left: 0, right: 1)),
    ]
    for (k, (inputShape, weightShape, padding)) in cases.enumerated() {
      let x = randomTensor(inputShape, seed: UInt64(100 + k), requiresGrad: false)
      let w = randomTensor(weightShape, seed: UInt64(110 + k), requiresGrad: false)
      let b = randomTensor([weightShape[0]], seed: UInt64(120 + k), requiresGrad: false)
      let y = try x.conv2d(weight: w, bias: b, padding: padding)
      let expected = naiveConv2d(x, w, b, stride: (1, 1), padding: padding)
      XCTAssertEqual(y.count, expected.count, "case \(k)")
      assertClose(y.data, expected, "case \(k)")
    }
  }

  /// Gradients of the F(2x2, r x s) paths against finite differences, on one chunk of images and on chunks of 2, 2, 1
  /// (a chunk holds 4 x 16 x (2 + 3) x 12 floats per image of the first case); the fourth case's rows of 9 tiles
  /// take two runs of 4 and a short one.
  func testWinogradGradientsMatchFiniteDifferences() throws {
    forceWinograd()
    let chunkValues = ConvGeometry.chunkValues
    defer { ConvGeometry.chunkValues = chunkValues }
    let kernels: [([Int], [Int], ConvPadding)] = [
      ([2, 5, 7, 5], [3, 3], ConvPadding(top: 1, bottom: 1, left: 2, right: 0)),
      ([2, 5, 7, 5], [2, 3], ConvPadding(top: 1, bottom: 0, left: 1, right: 1)),
      ([2, 5, 7, 5], [2, 2], ConvPadding(top: 0, bottom: 1, left: 1, right: 0)),
      ([2, 3, 7, 18], [3, 3], ConvPadding((1, 1))),
      // The 8x8 (and 7x8) maps of the models: 4 x 4 tiles, one run per tile row.
      ([2, 2, 8, 8], [3, 3], ConvPadding((1, 1))),
      ([2, 2, 7, 8], [2, 3], ConvPadding(top: 1, bottom: 0, left: 1, right: 1)),
    ]
    for chunk in [chunkValues, 2 * 4 * 16 * 5 * 12] {
      ConvGeometry.chunkValues = chunk
      for (k, (inputShape, kernel, padding)) in kernels.enumerated() {
        let x = randomTensor(inputShape, seed: UInt64(130 + k))
        let w = randomTensor([3, 2] + kernel, seed: UInt64(140 + k))
        let b = randomTensor([3], seed: UInt64(150 + k))
        try assertGradientsMatchFiniteDifferences([x, w, b]) {
          try $0[0].conv2d(weight: $0[1], bias: $0[2], padding: padding)
        }
      }
    }
  }

  /// Layers wide enough (23 channels in, 24 out: 552 pairs) that the filter transforms, the phase split of the kernel
  /// and the sum of the threads' filter gradients are shared out over 2 threads, each taking 34 runs of eight pairs
  /// and 4 pairs one by one (3x3, 4x4 stride 2, and 4x4 stride 2 transposed): outputs and all gradients equal those
  /// of the im2col and col2im paths (themselves checked against finite differences above).
  func testWideWinogradLayersMatchIm2col() throws {
    let threads = EngineThreads.count
    EngineThreads.count = 2
    defer { EngineThreads.count = threads }
    for (k, (kernel, stride, transposed)) in [(3, 1, false), (4, 2, false), (4, 2, true)].enumerated() {
      var results: [[[Float]]] = []
      for minimum in [16, Int.max] {
        let floor = Winograd.minimumChannels
        Winograd.minimumChannels = minimum
        defer { Winograd.minimumChannels = floor }
        let side = transposed ? 8 : 8 * stride
        let x = randomTensor([23, 3, side, side], seed: UInt64(200 + k))
        let w = randomTensor(
          (transposed ? [23, 24] : [24, 23]) + [kernel, kernel], seed: UInt64(210 + k), in: -0.1..<0.1)
        let b = randomTensor([24], seed: UInt64(220 + k))
        let y =
          transposed
          ? try x.convTranspose2d(weight: w, bias: b, stride: (stride, stride), padding: (1, 1))
          : try x.conv2d(weight: w, bias: b, stride: (stride, stride), padding: (1, 1))
        try y.backward(seed: randomTensor(y.shape, seed: UInt64(230 + k), requiresGrad: false).data)
        results.append([y.data, x.grad!, w.grad!, b.grad!])
      }
      for (part, name) in ["y", "dx", "dw", "db"].enumerated() {
        assertClose(results[0][part], results[1][part], absolute: 1e-4, "case \(k) \(name)")
      }
    }
  }

  /// Stride-2 convolutions with even kernels through their phases (F(2x2, kh/2 x kw/2) forced on): against the naive
  /// loop, as the adjoint of the transposed convolution, and against finite differences, as are the transposed
  /// convolutions that run them backwards. Odd sizes leave input rows
  /// and columns that no output reads.
  func testPhaseConvolutionsMatchNaiveLoopAndGradients() throws {
    forceWinograd()
    let cases: [([Int], [Int], ConvPadding)] = [
      ([2, 3, 16, 16], [3, 2, 4, 4], ConvPadding((1, 1))),
      ([2, 2, 9, 13], [2, 2, 4, 4], ConvPadding((1, 1))),
      ([1, 2, 11, 10], [2, 1, 4, 6], ConvPadding(top: 2, bottom: 0, left: 0, right: 1)),
      ([2, 1, 8, 8], [3, 2, 2, 2], ConvPadding((0, 0))),
    ]
    for (k, (inputShape, weightShape, padding)) in cases.enumerated() {
      let x = randomTensor(inputShape, seed: UInt64(160 + k), requiresGrad: false)
      let w = randomTensor(weightShape, seed: UInt64(170 + k), requiresGrad: false)
      let b = randomTensor([weightShape[0]], seed: UInt64(180 + k), requiresGrad: false)
      let y = try x.conv2d(weight: w, bias: b, stride: (2, 2), padding: padding)
      let expected = naiveConv2d(x, w, b, stride: (2, 2), padding: padding)
      XCTAssertEqual(y.count, expected.count, "case \(k)")
      assertClose(y.data, expected, "case \(k)")
    }
    let x = randomTensor([2, 3, 10, 8], seed: 190, requiresGrad: false)
    let w = randomTensor([3, 2, 4, 4], seed: 191, requiresGrad: false)
    let convX = try x.conv2d(weight: w, stride: (2, 2), padding: (1, 1))
    let y = randomTensor(convX.shape, seed: 192, requiresGrad: false)
    let convTY = try y.convTranspose2d(weight: w, stride: (2, 2), padding: (1, 1))
    XCTAssertEqual(convTY.shape, x.shape)
    let lhs = zip(convX.data, y.data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
    let rhs = zip(x.data, convTY.data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
    XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)))
    let (input, weight, bias) = (
      randomTensor([2, 2, 7, 6], seed: 193), randomTensor([3, 2, 4, 4], seed: 194), randomTensor([3], seed: 195)
    )
    try assertGradientsMatchFiniteDifferences([input, weight, bias]) {
      try $0[0].conv2d(weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1))
    }
    // Transposed, as the adjoint of the phase convolution: a 4x4 kernel, and a 6x4 one (F(2x2, 3x2)) on a
    // non-square input.
    let transposedCases: [([Int], [Int], (Int, Int))] = [
      ([2, 2, 3, 4], [2, 3, 4, 4], (1, 1)), ([3, 1, 2, 3], [3, 2, 6, 4], (2, 1)),
    ]
    for (k, (inputShape, weightShape, padding)) in transposedCases.enumerated() {
      let (input, weight, bias) = (
        randomTensor(inputShape, seed: UInt64(196 + k)), randomTensor(weightShape, seed: UInt64(198 + k)),
        randomTensor([weightShape[1]], seed: UInt64(200 + k))
      )
      try assertGradientsMatchFiniteDifferences([input, weight, bias]) {
        try $0[0].convTranspose2d(weight: $0[1], bias: $0[2], stride: (2, 2), padding: padding)
      }
    }
  }

  /// <conv(x), y> == <x, convT(y)>: the transposed convolution is the adjoint of the convolution.
  func testConvTransposeIsTheAdjointOfConv() throws {
    let cases: [([Int], [Int], (Int, Int), (Int, Int))] = [
      ([3, 2, 8, 8], [4, 3, 4, 4], (2, 2), (1, 1)),
      // Stride 2 with 10 outputs per row: runs of 8 and a tail in both im2col and col2im.
      ([3, 2, 8, 20], [4, 3, 4, 4], (2, 2), (1, 1)),
      ([2, 1, 7, 5], [3, 2, 3, 3], (1, 1), (1, 1)),
      ([2, 2, 9, 6], [2, 2, 3, 2], (2, 1), (0, 1)),
      ([3, 2, 7, 5], [2, 3, 3, 3], (1, 1), (1, 1)),
      ([3, 2, 6, 5], [2, 3, 2, 3], (1, 1), (1, 3)),
    ]
    for (k, (inputShape, weightShape, stride, padding)) in cases.enumerated() {
      let x = randomTensor(inputShape, seed: UInt64(30 + k), requiresGrad: false)
      let w = randomTensor(weightShape, seed: UInt64(40 + k), requiresGrad: false)
      let convX = try x.conv2d(weight: w, stride: stride, padding: padding)
      let y = randomTensor(convX.shape, seed: UInt64(50 + k), requiresGrad: false)
      // The same weight tensor read as a transposed conv's [in, out, kh, kw] maps conv's output back to its input.
      let convTY = try y.convTranspose2d(weight: w, stride: stride, padding: padding)
      XCTAssertEqual(convTY.shape, x.shape)
      let lhs = zip(convX.data, y.data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
      let rhs = zip(x.data, convTY.data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
      XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)), "case \(k)")
    }
  }

  /// Outputs and gradients of `sum(y * dy)` computed by PyTorch (Tests/TensorEngineTests/Fixtures), with the 3x3
  /// stride-1 ones through im2col and through F(2x2, 3x3).
  func testMatchesPyTorchFixtures() throws {
    try assertMatchesPyTorchFixtures()
    forceWinograd()
    try assertMatchesPyTorchFixtures()
  }

  private func assertMatchesPyTorchFixtures() throws {
    let names = [
      "conv2d_k1_nobias", "conv2d_k2x3_s1_p0", "conv2d_k3_s1_p1_nonsquare", "conv2d_k4_s2_p1",
      "conv_transpose2d_k3_s1_p1", "conv_transpose2d_k4_s2_p1",
    ]
    for name in names {
      let url = try XCTUnwrap(
        Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"))
      let file = try SafeTensors.read(contentsOf: url.path)
      func tensor(_ key: String, grad: Bool = false) throws -> Tensor {
        try Tensor(file.floats(key), shape: file.entry(key)!.shape, requiresGrad: grad)
      }
      func pair(_ key: String) throws -> (Int, Int) {
        let values = try JSONDecoder().decode([Int].self, from: Data(file.metadata[key]!.utf8))
        return (values[0], values[1])
      }
      // PyTorch's NCHW images, in the engine's channel-major layout.
      func channelMajor(_ key: String, grad: Bool = false) throws -> Tensor {
        let nchw = try tensor(key)
        return try Tensor(
          try nchw.swappingFirstTwoAxes().data, shape: try nchw.swappingFirstTwoAxes().shape, requiresGrad: grad)
      }
      let x = try channelMajor("x", grad: true)
      let w = try tensor("weight", grad: true)
      let b = file.entry("bias") == nil ? nil : try tensor("bias", grad: true)
      let (stride, padding) = (try pair("stride"), try pair("padding"))
      let y =
        file.metadata["op"] == "conv2d"
        ? try x.conv2d(weight: w, bias: b, stride: stride, padding: padding)
        : try x.convTranspose2d(weight: w, bias: b, stride: stride, padding: padding)
      assertClose(try y.swappingFirstTwoAxes().data, try file.floats("y"), "\(name) y")
      try y.backward(seed: try channelMajor("dy").data)
      let gradX = try Tensor(x.grad!, shape: x.shape).swappingFirstTwoAxes()
      assertClose(gradX.data, try file.floats("grad.x"), "\(name) grad.x")
      assertClose(w.grad!, try file.floats("grad.weight"), "\(name) grad.weight")
      if let b { assertClose(b.grad!, try file.floats("grad.bias"), "\(name) grad.bias") }
    }
  }

  func testWeightGradientAccumulatesAcrossCalls() throws {
    // A weight used twice (two convs sharing it) gets the sum of both gradients.
    let x = randomTensor([2, 1, 5, 5], seed: 60)
    let w = randomTensor([2, 2, 3, 3], seed: 61)
    try assertGradientsMatchFiniteDifferences([x, w]) {
      try $0[0].conv2d(weight: $0[1], padding: (1, 1)).relu().conv2d(weight: $0[1], padding: (1, 1))
    }
  }
}
