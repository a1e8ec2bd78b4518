import Pipeline
import TensorEngine

/// The transformer prior the benchmark measures, at the size `ref_transformer.py` builds: K 512, dim 256, 8 layers,
/// 8 heads, 10 classes, 8x8 grids (64 positions), dropout 0.1 while training.
private let transformerConfiguration = TransformerConfiguration(
  codes: 512, dim: 256, layers: 8, heads: 8, classes: 10, maxPositions: 64, dropout: 0.1)

private func benchmarkTransformer() -> TransformerPrior {
  var rng = RandomGenerator(seed: 7)
  return TransformerPrior(transformerConfiguration, rng: &rng)
}

/// Multiply-adds x 2 of one forward pass of the transformer over `grids` 8x8 grids (the matrix products; layer norms,
/// GELU, softmax and the embeddings not counted): per position and block the qkv (3d²), output projection (d²) and
/// MLP (8d²) maps, and the causal attention's scores and weighted sum (d per position attended, the position itself
/// and those before it, each); then the head (dK). The cached sampler does the same work for the grids it draws.
func transformerForwardFlops(_ configuration: TransformerConfiguration, grids: Int) -> Double {
  let (d, length) = (configuration.dim, 64)
  let attended = length * (length + 1) / 2
  let perBlock = length * 12 * d * d + 2 * d * attended
  let macs = configuration.layers * perBlock + length * d * configuration.codes
  return 2 * Double(macs * grids)
}

/// One AdamW step (lr 3e-4, PyTorch's default weight decay 0.01) of the benchmark transformer, dropout on, on random
/// latents: `ref_transformer.py`'s train step. The biases, norms and embeddings are exempt from the decay, as the
/// toolkit trains (the reference decays every tensor: the same work to within an elementwise pass over those few).
func transformerTrainStepRow(batch: Int, repetitions: Int) throws -> BenchmarkRow {
  try priorTrainStepRow(
    name: "transformer.train_step.b\(batch)", detail: "AdamW step, dropout 0.1, batch \(batch), 8x8 latents, K 512",
    batch: batch, repetitions: repetitions,
    forwardFlops: transformerForwardFlops(transformerConfiguration, grids: batch)
  ) {
    let model = benchmarkTransformer()
    let optimizer = Adam.adamW(
      parameters: model.namedParameters, learningRate: 3e-4,
      exemptFromWeightDecay: model.parametersExemptFromWeightDecay)
    return (model, optimizer)
  }
}

/// Sampling 100 grids of 8x8 codes from the benchmark transformer with the key/value-cached sampler
/// (`TransformerSampler`), one class per ten grids.
func transformerSampleRow(repetitions: Int) throws -> BenchmarkRow {
  try priorSampleRow(
    name: "transformer.sample.100", detail: "100 grids of 8x8, key/value cache", model: benchmarkTransformer(),
    forwardFlops: transformerForwardFlops(transformerConfiguration, grids: 100), repetitions: repetitions)
}
