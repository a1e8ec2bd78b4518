import Pipeline
import TensorEngine

/// The architecture of `gated-pixelcnn`'s default prior (K 512, dim 64, 15 layers, 10 classes), as `ref_pixelcnn.py`
/// builds it.
private let pixelCNNConfiguration = PriorConfiguration(codes: 512, dim: 64, layers: 15, classes: 10)

/// A fresh default prior, the same weights every time.
private func defaultPrior() -> GatedPixelCNN {
  var rng = RandomGenerator(seed: 2)
  return GatedPixelCNN(pixelCNNConfiguration, rng: &rng)
}

/// Multiply-adds x 2 of one forward pass of the prior over `grids` 8x8 grids (convolutions only, as the reference
/// counts them): per layer the vertical (k/2+1) x k and horizontal k/2+1 taps of mask B (mask A's unused taps are
/// not computed), vert_to_horiz and horiz_resid, then the head.
func priorForwardFlops(_ configuration: PriorConfiguration, grids: Int) -> Double {
  let (d, positions) = (configuration.dim, 64 * grids)
  var macs = 0
  for layer in 0..<configuration.layers {
    let (k, p) = layer == 0 ? (7, 3) : (3, 1)
    let (rows, columns) = layer == 0 ? (p, p) : (p + 1, p + 1)
    macs += d * 2 * d * (rows * k + columns) + 2 * d * 2 * d + d * d
  }
  macs += d * configuration.codes
  return 2 * Double(macs * positions)
}

/// One Adam step of the default prior on random latents, as `ref_pixelcnn.py`'s `train_step`.
func pixelCNNTrainStepRow(batch: Int, repetitions: Int) throws -> BenchmarkRow {
  try priorTrainStepRow(
    name: "pixelcnn.train_step.b\(batch)", detail: "Adam step, batch \(batch), 8x8 latents, K 512", batch: batch,
    repetitions: repetitions, forwardFlops: priorForwardFlops(pixelCNNConfiguration, grids: batch)
  ) {
    let model = defaultPrior()
    return (model, Adam(parameters: model.namedParameters, learningRate: 3e-4))
  }
}

/// Sampling 100 grids of 8x8 codes from the default prior, one class per ten grids.
func pixelCNNSampleRow(repetitions: Int) throws -> BenchmarkRow {
  try priorSampleRow(
    name: "pixelcnn.sample.100", detail: "100 grids of 8x8, incremental", model: defaultPrior(),
    forwardFlops: priorForwardFlops(pixelCNNConfiguration, grids: 100), repetitions: repetitions)
}

/// One optimiser step of a prior on `batch` random 8x8 grids (one random class each), as the reference scripts'
/// train steps: zero the gradients, loss, backward, update. `build` makes the model and its optimiser after the
/// peak-memory mark is reset, so that the row's memory counts them; the GFLOP/s count 3 x `forwardFlops`.
func priorTrainStepRow<Model: Prior>(
  name: String, detail: String, batch: Int, repetitions: Int, forwardFlops: Double,
  build: () -> (model: Model, optimizer: Adam)
) throws -> BenchmarkRow {
  MemoryBudget.resetPeakResident()
  let (model, optimizer) = build()
  var rng = RandomGenerator(seed: 3)
  let indices = (0..<(batch * 64)).map { _ in rng.integer(below: model.codes) }
  let labels = (0..<batch).map { _ in rng.integer(below: model.classes) }
  let times = try measure(repetitions: repetitions) {
    optimizer.zeroGrad()
    let (loss, _) = try model.loss(indices, batch: batch, height: 8, width: 8, labels: labels)
    try loss.backward()
    optimizer.update()
  }
  return BenchmarkRow(
    name: name, detail: detail, medianMilliseconds: times.median, minimumMilliseconds: times.min()!,
    repetitions: repetitions, gflops: 3 * forwardFlops / times.median / 1e6, gemmGflops: nil,
    peakResidentMiB: MemoryBudget.peakResidentMiB())
}

/// Sampling 100 grids of 8x8 codes from a prior with its own sampler (`Prior.sample`), one class per ten grids,
/// after one untimed run; `forwardFlops` is the work of one forward pass over the 100 grids.
func priorSampleRow(
  name: String, detail: String, model: some Prior, forwardFlops: Double, repetitions: Int
) throws -> BenchmarkRow {
  let labels = (0..<100).map { $0 / 10 }
  var rng = RandomGenerator(seed: 4)
  let times = try measure(repetitions: repetitions, warmup: 1) {
    _ = try model.sample(count: 100, height: 8, width: 8, labels: labels, options: SamplingOptions(), rng: &rng)
  }
  return BenchmarkRow(
    name: name, detail: detail, medianMilliseconds: times.median, minimumMilliseconds: times.min()!,
    repetitions: repetitions, gflops: forwardFlops / times.median / 1e6, gemmGflops: nil)
}

/// Decoding 100 grids of 8x8 code indices into 1x32x32 images with the default VQ-VAE.
func decodeRow(repetitions: Int) throws -> BenchmarkRow {
  var rng = RandomGenerator(seed: 5)
  let model = VQVAE(VQVAEConfiguration(), rng: &rng)
  let indices = (0..<(100 * 64)).map { _ in rng.integer(below: 512) }
  let times = try measure(repetitions: repetitions) {
    _ = try model.decode(indices: indices, batch: 100, height: 8, width: 8)
  }
  return BenchmarkRow(
    name: "vqvae.decode.100", detail: "100 grids -> 1x32x32", medianMilliseconds: times.median,
    minimumMilliseconds: times.min()!, repetitions: repetitions, gflops: nil, gemmGflops: nil)
}

/// Encoding 10,000 1x32x32 images into code indices in batches of 256 with the default VQ-VAE, as extract-latents
/// does.
func encodeRow(repetitions: Int) throws -> BenchmarkRow {
  var rng = RandomGenerator(seed: 6)
  let model = VQVAE(VQVAEConfiguration(), rng: &rng)
  let batch = try Tensor(rng.uniformArray(256 * 1024, in: -1..<1), shape: [256, 1, 32, 32])
  let last = try Tensor(rng.uniformArray(16 * 1024, in: -1..<1), shape: [16, 1, 32, 32])
  let times = try measure(repetitions: repetitions, warmup: 1) {
    for _ in 0..<39 { _ = try model.encodeIndices(batch) }
    _ = try model.encodeIndices(last)
  }
  return BenchmarkRow(
    name: "vqvae.encode.10000", detail: "10,000 x 1x32x32 -> indices, batch 256", medianMilliseconds: times.median,
    minimumMilliseconds: times.min()!, repetitions: repetitions, gflops: nil, gemmGflops: nil)
}
