import Pipeline
import TensorEngine

/// One Adam step of the default VQ-VAE (h 128, residual hidden 32, 2 residual layers, K 512, D 64) on random
/// images, as `ref_vqvae.py`'s `train_step`: forward, loss, backward, update.
func trainStepRow(batch: Int, channels: Int, repetitions: Int) throws -> BenchmarkRow {
  MemoryBudget.resetPeakResident()
  var rng = RandomGenerator(seed: 1)
  var config = VQVAEConfiguration()
  config.inChannels = channels
  let model = VQVAE(config, rng: &rng)
  let adam = Adam(parameters: model.namedParameters, learningRate: 3e-4, amsgrad: true)
  let images = try Tensor(
    rng.uniformArray(batch * channels * 32 * 32, in: -1..<1), shape: [batch, channels, 32, 32])
  let times = try measure(repetitions: repetitions) {
    adam.zeroGrad()
    let loss = try model.loss(images, dataVariance: 0.33).total
    try loss.backward()
    adam.update()
  }
  // 3 x the forward FLOPs, the convention of ../shared/notes/BASELINE.md.
  let flops = 3 * forwardFlops(config, batch: batch)
  return BenchmarkRow(
    name: "vqvae.train_step.b\(batch).\(channels)x32x32", detail: "Adam step, batch \(batch), \(channels)x32x32",
    medianMilliseconds: times.median, minimumMilliseconds: times.min()!, repetitions: repetitions,
    gflops: flops / times.median / 1e6, gemmGflops: nil, peakResidentMiB: MemoryBudget.peakResidentMiB())
}

/// Multiply-adds x 2 of one forward pass: every conv, transposed conv and the quantizer's distance GEMM.
func forwardFlops(_ config: VQVAEConfiguration, batch: Int) -> Double {
  let (c, h, r, d, k) = (
    config.inChannels, config.hiddens, config.residualHiddens, config.embeddingDim, config.embeddings
  )
  // (in, out, kernel area, output area) of each layer at 32x32 input.
  var layers: [(Int, Int, Int, Int)] = [(c, h / 2, 16, 256), (h / 2, h, 16, 64), (h, h, 9, 64), (h, d, 1, 64)]
  let residual = [(h, r, 9, 64), (r, h, 1, 64)]
  for _ in 0..<(2 * config.residualLayers) { layers += residual }
  // Transposed convs: one multiply-add per input position, output channel and kernel tap.
  layers += [(d, h, 9, 64), (h, h / 2, 16, 64), (h / 2, c, 16, 256)]
  let macs = layers.reduce(0) { $0 + $1.0 * $1.1 * $1.2 * $1.3 } + 64 * k * d
  return 2 * Double(macs * batch)
}
