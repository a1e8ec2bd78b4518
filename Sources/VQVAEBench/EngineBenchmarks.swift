import CBLAS
import Foundation
import TensorEngine

/// A convolution of the default VQ-VAE (h = 128, residual hidden 32, D = 64) at batch 32, 3-channel 32x32 input.
struct ConvLayerShape {
  let name: String
  let transposed: Bool
  let inChannels: Int
  let outChannels: Int
  let kernel: Int
  let stride: Int
  let padding: Int
  /// Input height and width.
  let size: Int
  let bias: Bool
  /// False for the first layer: in training nothing needs the gradient of the images.
  let inputNeedsGradient: Bool

  static let vqvae: [ConvLayerShape] = [
    .init(
      name: "encoder.0", transposed: false, inChannels: 3, outChannels: 64, kernel: 4, stride: 2, padding: 1,
      size: 32, bias: true, inputNeedsGradient: false),
    .init(
      name: "encoder.2", transposed: false, inChannels: 64, outChannels: 128, kernel: 4, stride: 2, padding: 1,
      size: 16, bias: true, inputNeedsGradient: true),
    .init(
      name: "encoder.4", transposed: false, inChannels: 128, outChannels: 128, kernel: 3, stride: 1, padding: 1,
      size: 8, bias: true, inputNeedsGradient: true),
    .init(
      name: "residual.3x3", transposed: false, inChannels: 128, outChannels: 32, kernel: 3, stride: 1,
      padding: 1, size: 8, bias: false, inputNeedsGradient: true),
    .init(
      name: "residual.1x1", transposed: false, inChannels: 32, outChannels: 128, kernel: 1, stride: 1,
      padding: 0, size: 8, bias: false, inputNeedsGradient: true),
    .init(
      name: "pre_quantization", transposed: false, inChannels: 128, outChannels: 64, kernel: 1, stride: 1,
      padding: 0, size: 8, bias: true, inputNeedsGradient: true),
    .init(
      name: "decoder.0", transposed: true, inChannels: 64, outChannels: 128, kernel: 3, stride: 1, padding: 1,
      size: 8, bias: true, inputNeedsGradient: true),
    .init(
      name: "decoder.2", transposed: true, inChannels: 128, outChannels: 64, kernel: 4, stride: 2, padding: 1,
      size: 8, bias: true, inputNeedsGradient: true),
    .init(
      name: "decoder.4", transposed: true, inChannels: 64, outChannels: 3, kernel: 4, stride: 2, padding: 1,
      size: 16, bias: true, inputNeedsGradient: true),
  ]

  var outputSize: Int {
    transposed ? (size - 1) * stride - 2 * padding + kernel : (size + 2 * padding - kernel) / stride + 1
  }

  /// The (m, n, k) of the three GEMMs of forward + backward: output, weight gradient, input gradient.
  func gemmShapes(batch: Int) -> [(m: Int, n: Int, k: Int)] {
    if transposed {
      // cols = Wᵀ · x; dW = x · colsᵀ; dx = W · cols(dOut).
      let patch = outChannels * kernel * kernel
      let columns = batch * size * size
      return [(patch, columns, inChannels), (inChannels, patch, columns)]
        + (inputNeedsGradient ? [(inChannels, columns, patch)] : [])
    }
    let patch = inChannels * kernel * kernel
    let columns = batch * outputSize * outputSize
    return [(outChannels, columns, patch), (outChannels, patch, columns)]
      + (inputNeedsGradient ? [(patch, columns, outChannels)] : [])
  }
}

/// Forward + backward of each VQ-VAE convolution, next to the raw sgemm rate of the same GEMM shapes.
func convolutionRows(batch: Int, repetitions: Int) throws -> [BenchmarkRow] {
  var rng = RandomGenerator(seed: 0)
  return try ConvLayerShape.vqvae.map { layer in
    let input = try Tensor(
      rng.uniformArray(batch * layer.inChannels * layer.size * layer.size, in: -1..<1),
      shape: [layer.inChannels, batch, layer.size, layer.size], requiresGrad: layer.inputNeedsGradient)
    let forward: (Tensor) throws -> Tensor
    if layer.transposed {
      let conv = ConvTranspose2D(
        layer.inChannels, layer.outChannels, kernelSize: layer.kernel, stride: layer.stride, padding: layer.padding,
        bias: layer.bias, rng: &rng)
      forward = { try conv($0) }
    } else {
      let conv = Conv2D(
        layer.inChannels, layer.outChannels, kernelSize: layer.kernel, stride: layer.stride, padding: layer.padding,
        bias: layer.bias, rng: &rng)
      forward = { try conv($0) }
    }
    let outputCount = batch * layer.outChannels * layer.outputSize * layer.outputSize
    let seed = rng.uniformArray(outputCount, in: -1..<1)
    let shapes = layer.gemmShapes(batch: batch)
    let flops = shapes.reduce(0.0) { $0 + 2 * Double($1.m * $1.n * $1.k) }
    // The host's speed drifts within seconds: the two sides alternate in blocks, so that both medians cover the same
    // stretch of time.
    var (times, gemmTimes) = ([Double](), [Double]())
    for block in 0..<comparisonBlocks {
      let count = repetitions * (block + 1) / comparisonBlocks - repetitions * block / comparisonBlocks
      // Warmed up for 30 ms: after the pause below, the second core takes a few milliseconds to run at full speed
      // again (the first 5 repetitions of a 1x1 row ran at one core's speed).
      times += try measure(repetitions: count, warmupMilliseconds: 30) { try forward(input).backward(seed: seed) }
      gemmTimes += rawGemmMilliseconds(shapes, repetitions: count)
    }
    let kind = layer.transposed ? "convT" : "conv"
    return BenchmarkRow(
      name: "conv.\(layer.name)",
      detail: "\(kind) \(layer.inChannels)->\(layer.outChannels) \(layer.kernel)x\(layer.kernel) s\(layer.stride) "
        + "@\(layer.size)x\(layer.size) b\(batch)",
      medianMilliseconds: times.median, minimumMilliseconds: times.min()!, repetitions: repetitions,
      gflops: flops / times.median / 1e6, gemmGflops: flops / gemmTimes.median / 1e6)
  }
}

/// Blocks of repetitions in which a conv row alternates between the convolution and the raw GEMMs.
private let comparisonBlocks = 4

/// Times of running the given GEMMs back to back with cblas_sgemm on preallocated buffers, with OpenBLAS's own
/// threading on as many threads as the engine uses: the rate a plain BLAS call reaches on these shapes.
private func rawGemmMilliseconds(_ shapes: [(m: Int, n: Int, k: Int)], repetitions: Int) -> [Double] {
  openblas_set_num_threads(Int32(EngineThreads.count))
  defer {
    openblas_set_num_threads(1)
    // OpenBLAS's threads keep polling for about 0.1 s after their last GEMM; measured then, the engine's threads
    // would share the cores with them.
    Thread.sleep(forTimeInterval: 0.25)
  }
  let buffers = shapes.map { shape in
    (
      a: [Float](repeating: 0.5, count: shape.m * shape.k), b: [Float](repeating: 0.25, count: shape.k * shape.n),
      c: [Float](repeating: 0, count: shape.m * shape.n)
    )
  }
  var outputs = buffers.map(\.c)
  return measure(repetitions: repetitions) {
    for (index, shape) in shapes.enumerated() {
      outputs[index].withUnsafeMutableBufferPointer { c in
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(shape.m), blasint(shape.n), blasint(shape.k), 1,
          buffers[index].a, blasint(shape.k), buffers[index].b, blasint(shape.n), 0, c.baseAddress!, blasint(shape.n))
      }
    }
  }
}
