import Foundation
import TensorEngine

/// What the quantizer gives back for a batch of encoder outputs.
public struct Quantization {
  /// The decoder's input `z_e + sg[z_q - z_e]`: the value of the nearest codes, the gradient of the identity.
  public let straightThrough: Tensor
  /// The nearest code of every latent position, `[batch, height, width]` in row-major order.
  public let indices: [Int]
  /// `||sg[z_e] - e||²` (mean): moves the codes towards the encoder outputs.
  public let codebookLoss: Tensor
  /// `||z_e - sg[e]||²` (mean): keeps the encoder close to its codes.
  public let commitmentLoss: Tensor
  /// `codebookLoss + beta · commitmentLoss`, or `beta · commitmentLoss` alone when the codebook learns by EMA.
  public let loss: Tensor
  /// The encoder outputs that were quantized, `[D, B, H, W]` (what the codebook's upkeep learns from).
  public let encoderOutputs: Tensor
  /// `exp(-Σ p log p)` of this batch's code usage.
  public let perplexity: Float
  /// Distinct codes used in this batch.
  public let codesUsed: Int
}

/// The vector quantizer: a codebook of K vectors of dimension D; each encoder output vector is replaced by its
/// nearest code (squared distance, one GEMM for the whole batch).
public final class VectorQuantizer: Module {
  /// The codebook `[K, D]` (PyTorch: `vector_quantization.embedding.weight`).
  public let codebook: Embedding
  public let beta: Float
  /// How the codebook learns and is kept in use (see `CodebookSettings`).
  public private(set) var settings = CodebookSettings()
  /// The moving averages of code usage, when `settings` keeps them.
  public internal(set) var statistics: CodebookStatistics?

  /// A codebook initialised uniform(-1/K, 1/K), as in the classic repo.
  public init(count: Int, dimension: Int, beta: Float, rng: inout RandomGenerator) {
    let bound = 1 / Float(count)
    codebook = try! Embedding(
      initialValues: rng.uniformArray(count * dimension, in: -bound..<bound), count: count, dimension: dimension)
    self.beta = beta
  }

  /// Chooses how the codebook learns and is kept in use; starts fresh moving averages when they are needed.
  public func configure(_ settings: CodebookSettings) {
    self.settings = settings
    statistics = settings.tracksUsage ? CodebookStatistics(codebook: codebook.weight.data, count: count) : nil
  }

  /// The moving averages as checkpoint tensors, `cluster_size` `[K]` and `embed_avg` `[K, D]` (the names of the
  /// common PyTorch EMA quantizers); empty when there are none.
  public var namedBuffers: [(name: String, values: [Float], shape: [Int])] {
    guard let statistics else { return [] }
    return [
      ("cluster_size", statistics.clusterSize, [count]), ("embed_avg", statistics.embedSum, [count, dimension]),
    ]
  }

  /// Restores the moving averages saved by `namedBuffers`, when the settings keep them and `values` has them (a
  /// run that turns restarts on when it resumes starts them afresh).
  /// - Throws: `TensorError` if they are mis-sized.
  public func restoreBuffers(_ values: [String: [Float]]) throws {
    guard settings.tracksUsage, let sizes = values["cluster_size"], let sums = values["embed_avg"] else { return }
    guard sizes.count == count, sums.count == count * dimension else {
      throw TensorError("the codebook's moving averages (cluster_size, embed_avg) do not fit \(count) x \(dimension)")
    }
    statistics = CodebookStatistics(clusterSize: sizes, embedSum: sums)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] { prefixed("embedding", codebook.namedParameters) }

  public var count: Int { codebook.weight.shape[0] }
  public var dimension: Int { codebook.weight.shape[1] }

  /// The index of the nearest code for each column of `vectors` (`[D, N]`, the channel-major encoder output):
  /// argmin over codes of |z|² + |e|² - 2 z·e, with the products as one GEMM.
  public func nearestCodes(_ vectors: Tensor) throws -> [Int] {
    try withoutGrad { try codebook.weight.nearestRows(toColumnsOf: vectors) }
  }

  /// Quantizes channel-major encoder outputs `z` (`[D, B, H, W]`).
  /// - Throws: `TensorError` if `z` does not have D channels.
  public func callAsFunction(_ z: Tensor) throws -> Quantization {
    guard z.rank == 4, z.shape[0] == dimension else {
      throw TensorError("VectorQuantizer: expected [\(dimension), B, H, W] encoder outputs, got \(z.shape)")
    }
    let (b, h, w) = (z.shape[1], z.shape[2], z.shape[3])
    let indices = try nearestCodes(try z.reshaped([dimension, b * h * w]))
    let quantized = try lookup(indices, batch: b, height: h, width: w)
    let codebookLoss = try meanSquaredError(quantized, z.detached())
    let commitmentLoss = try meanSquaredError(z, quantized.detached())
    let (perplexity, used) = VectorQuantizer.usage(indices, codeCount: count)
    let loss = settings.update == .ema ? commitmentLoss * beta : try codebookLoss + commitmentLoss * beta
    return Quantization(
      straightThrough: try z.straightThrough(quantized.detached()), indices: indices, codebookLoss: codebookLoss,
      commitmentLoss: commitmentLoss, loss: loss, encoderOutputs: z, perplexity: perplexity, codesUsed: used)
  }

  /// The codes of `indices` laid out as channel-major decoder input `[D, batch, height, width]`.
  public func lookup(_ indices: [Int], batch: Int, height: Int, width: Int) throws -> Tensor {
    try codebook(indices).permuted([1, 0]).reshaped([dimension, batch, height, width])
  }

  /// Perplexity `exp(-Σ p log p)` and the number of distinct codes among `indices`.
  public static func usage(_ indices: [Int], codeCount: Int) -> (perplexity: Float, codesUsed: Int) {
    var counts = [Float](repeating: 0, count: codeCount)
    for i in indices { counts[i] += 1 }
    return usage(counts: counts)
  }

  /// Perplexity `exp(-Σ p log p)` and the number of distinct codes of a batch whose codes were chosen `counts` times.
  public static func usage(counts: [Float]) -> (perplexity: Float, codesUsed: Int) {
    let total = Double(max(counts.reduce(0, +), 1))
    let entropy = counts.reduce(0.0) { sum, c in
      let p = Double(c) / total
      return sum - p * Foundation.log(p + 1e-10)
    }
    return (Float(Foundation.exp(entropy)), counts.filter { $0 > 0 }.count)
  }
}
