import Foundation
import TensorEngine

/// The architecture of the transformer prior: a GPT over the raster-ordered code grid.
public struct TransformerConfiguration: Equatable, Sendable {
  /// K, the number of codes: the input alphabet and the logits per position.
  public var codes = 512
  /// The width d of the residual stream.
  public var dim = 256
  /// Transformer blocks.
  public var layers = 8
  /// Attention heads per block; `dim` is a multiple of them.
  public var heads = 8
  /// Conditioning classes (the first input position is the class token, and every position's input adds the class's
  /// embedding); 0 for an unconditional prior (one learned start token, no class embedding).
  public var classes = 0
  /// The longest sequence, `height · width` of the largest grid: the rows of the position embedding.
  public var maxPositions = 64
  /// The dropout probability on the embeddings and on each block's branches while training.
  public var dropout: Float = 0
  /// The probability that a training grid's class is replaced by "no class" (an extra row of the class tables), so
  /// that one model learns both p(z | class) and p(z): what classifier-free guidance mixes when sampling. 0 for no
  /// such row (and no guidance).
  public var classDropout: Float = 0

  public init(
    codes: Int = 512, dim: Int = 256, layers: Int = 8, heads: Int = 8, classes: Int = 0, maxPositions: Int = 64,
    dropout: Float = 0, classDropout: Float = 0
  ) {
    (self.codes, self.dim, self.layers, self.heads, self.classes) = (codes, dim, layers, heads, classes)
    (self.maxPositions, self.dropout, self.classDropout) = (maxPositions, dropout, classDropout)
  }

  /// Whether the class tables have the "no class" row, `classes`: a conditional prior trained with class dropout.
  public var hasNoClass: Bool { classes > 0 && classDropout > 0 }

  /// The label that stands for "no class" where `hasNoClass`: one past the last class.
  public var noClassLabel: Int? { hasNoClass ? classes : nil }

  /// The rows of the class (or start) token table and of the class embedding: the classes, and "no class" after them.
  var classRows: Int { max(classes, 1) + (hasNoClass ? 1 : 0) }

  /// The keys of checkpoint metadata: `n_embeddings`, `dim`, `n_layers`, `heads`, `n_classes`, `max_positions`,
  /// `dropout`, `class_dropout`.
  public var architecture: [String: String] {
    [
      "n_embeddings": "\(codes)", "dim": "\(dim)", "n_layers": "\(layers)", "heads": "\(heads)",
      "n_classes": "\(classes)", "max_positions": "\(maxPositions)", "dropout": "\(dropout)",
      "class_dropout": "\(classDropout)",
    ]
  }

  /// The architecture that `architecture` records.
  /// - Throws: `TensorError` naming a key that is missing, not a number, or out of range.
  public init(architecture: [String: String]) throws {
    func value(_ key: String, atLeast bound: Int) throws -> Int {
      guard let text = architecture[key], let value = Int(text), value >= bound else {
        throw TensorError(
          "transformer: '\(key)' must be a whole number >= \(bound), got \(architecture[key] ?? "nothing")")
      }
      return value
    }
    self.init(
      codes: try value("n_embeddings", atLeast: 1), dim: try value("dim", atLeast: 1),
      layers: try value("n_layers", atLeast: 1), heads: try value("heads", atLeast: 1),
      classes: try value("n_classes", atLeast: 0), maxPositions: try value("max_positions", atLeast: 1))
    guard let text = architecture["dropout"], let dropout = Float(text), dropout >= 0, dropout < 1 else {
      throw TensorError(
        "transformer: 'dropout' must be a number in [0, 1), got \(architecture["dropout"] ?? "nothing")")
    }
    self.dropout = dropout
    // Absent from checkpoints made before class dropout existed: they have no "no class" row.
    let classDropoutText = architecture["class_dropout"] ?? "0"
    guard let classDropout = Float(classDropoutText), classDropout >= 0, classDropout < 1 else {
      throw TensorError("transformer: 'class_dropout' must be a number in [0, 1), got \(classDropoutText)")
    }
    self.classDropout = classDropout
    guard dim % heads == 0 else {
      throw TensorError("transformer: 'dim' (\(dim)) must be a multiple of 'heads' (\(heads))")
    }
  }
}

/// The transformer prior over grids of code indices: a decoder-only GPT (pre-LN blocks, `TransformerBlock`) over
/// the grid read in raster order. Input position 0 is the class token (or a learned start token), position i > 0
/// the embedding of the code at i - 1, each plus a learned position embedding and, when conditional, the class's
/// embedding: the class reaches every position directly, not only through attention to the class token (with the
/// token alone, samples were recognised as their class less often than the gated PixelCNN's, which adds the class
/// to every layer). The causal attention makes the logits at position i depend only on the codes before i and the
/// class.
///
/// Parameter names follow the PyTorch module tree of `scripts/pytorch/transformer_fixtures.py`
/// (`token_embedding.weight`, `start_embedding.weight`, `class_embedding.weight` when conditional,
/// `position_embedding.weight`, `blocks.<i>.…`, `ln_f.…`, `head.…`), so either side loads the other's checkpoints.
/// Initialised as GPTs: normal weights with standard deviation 0.02, zero biases, LayerNorm ones and zeros.
public final class TransformerPrior: Prior {
  public let configuration: TransformerConfiguration
  public let tokenEmbedding: Embedding
  /// The class tokens, `[classes, d]` (and the "no class" token after them when trained with class dropout), or the
  /// one start token `[1, d]` of an unconditional prior.
  public let startEmbedding: Embedding
  /// The class embeddings `[classes, d]` (and "no class" after them) added to the input at every position; nil for
  /// an unconditional prior.
  public let classEmbedding: Embedding?
  public let positionEmbedding: Embedding
  public let blocks: [TransformerBlock]
  public let finalNorm: LayerNorm
  public let head: Linear
  /// The generator that dropout draws its masks from: dropout applies while gradients are recorded (training), not
  /// under `withoutGrad` (evaluation, sampling). A trainer may save and restore its state to resume exactly.
  public var dropoutGenerator: RandomGenerator

  public init(_ configuration: TransformerConfiguration, rng: inout RandomGenerator) {
    let c = configuration
    precondition(
      c.codes >= 1 && c.dim >= 1 && c.layers >= 1 && c.heads >= 1 && c.dim % c.heads == 0 && c.maxPositions >= 1,
      "TransformerPrior: bad sizes \(c)")
    self.configuration = configuration
    func table(_ count: Int) -> Embedding {
      try! Embedding(
        initialValues: rng.normalArray(count * c.dim, standardDeviation: 0.02), count: count, dimension: c.dim)
    }
    tokenEmbedding = table(c.codes)
    startEmbedding = table(c.classRows)
    positionEmbedding = table(c.maxPositions)
    blocks = (0..<c.layers).map { _ in TransformerBlock(dim: c.dim, heads: c.heads, rng: &rng) }
    finalNorm = LayerNorm(c.dim)
    head = gptLinear(c.dim, c.codes, rng: &rng)
    dropoutGenerator = RandomGenerator(seed: rng.next())
    // Drawn last, so that the other parameters draw what they drew before the class embedding was added.
    classEmbedding = c.classes > 0 ? table(c.classRows) : nil
  }

  public static let kind = "transformer"
  public var codes: Int { configuration.codes }
  public var classes: Int { configuration.classes }

  /// `n_embeddings`, `dim`, `n_layers`, `heads`, `n_classes`, `max_positions`, `dropout`.
  public var architecture: [String: String] { configuration.architecture }

  /// A fresh prior from `architecture`'s keys (see `architecture`).
  /// - Throws: `TensorError` naming a key that is missing or out of range.
  public convenience init(architecture: [String: String], rng: inout RandomGenerator) throws {
    self.init(try TransformerConfiguration(architecture: architecture), rng: &rng)
  }

  /// The footprint, checked first: a grid longer than `max_positions` is refused before anything is built.
  public static func footprint(architecture: [String: String], height: Int, width: Int) throws -> Footprint {
    let configuration = try TransformerConfiguration(architecture: architecture)
    guard height * width <= configuration.maxPositions else {
      throw TensorError(
        "transformer: grids of \(height)x\(width) have more positions than 'max_positions' "
          + "(\(configuration.maxPositions))")
    }
    return configuration.footprint(height: height, width: width)
  }

  public func sample(
    count: Int, height: Int, width: Int, labels: [Int]?, given: GivenCodes?, options: SamplingOptions,
    rng: inout RandomGenerator
  ) throws -> [Int] {
    try TransformerSampler(model: self).sample(
      count: count, height: height, width: width, labels: labels, given: given, options: options, rng: &rng)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("token_embedding", tokenEmbedding.namedParameters)
      + prefixed("start_embedding", startEmbedding.namedParameters)
      + (classEmbedding.map { prefixed("class_embedding", $0.namedParameters) } ?? [])
      + prefixed("position_embedding", positionEmbedding.namedParameters)
      + blocks.enumerated().flatMap { prefixed("blocks.\($0.offset)", $0.element.namedParameters) }
      + prefixed("ln_f", finalNorm.namedParameters) + prefixed("head", head.namedParameters)
  }

  /// The parameters GPTs leave out of weight decay (`Adam.adamW(exemptFromWeightDecay:)`): the biases, the layer
  /// norms and the embeddings; only the weights of the linear maps are decayed.
  public var parametersExemptFromWeightDecay: Set<String> {
    let decayed = Set(
      blocks.indices.flatMap { i in
        ["attn.qkv", "attn.proj", "mlp.0", "mlp.2"].map { "blocks.\(i).\($0).weight" }
      } + ["head.weight"])
    return Set(namedParameters.map(\.name)).subtracting(decayed)
  }

  /// The logits `[batch, K, height, width]` of every position given the codes before it (raster order).
  /// - Parameters:
  ///   - indices: `batch` grids, each row-major.
  ///   - labels: one class per grid for a conditional prior; ignored (may be nil) otherwise.
  /// - Throws: `TensorError` if an index or label is out of range or the counts do not fit.
  public func callAsFunction(_ indices: [Int], batch: Int, height: Int, width: Int, labels: [Int]?) throws -> Tensor {
    let logits = try positionLogits(indices, batch: batch, height: height, width: width, labels: labels)
    return try logits.reshaped([batch, height * width, codes]).permuted([0, 2, 1]).reshaped([
      batch, codes, height, width,
    ])
  }

  /// Mean cross-entropy (nats) of the grids under the model, and the channel-major logits `[K, batch, height,
  /// width]` it came from.
  public func loss(_ indices: [Int], batch: Int, height: Int, width: Int, labels: [Int]?) throws -> (
    loss: Tensor, logits: Tensor
  ) {
    let logits = try positionLogits(indices, batch: batch, height: height, width: width, labels: labels)
    let loss = try softmaxCrossEntropy(logits: logits, targets: indices)
    // Detached: the channel-major copy is for reading (evaluation), the loss's graph goes through `logits`.
    let channelMajor = try withoutGrad { try logits.permuted([1, 0]) }
    return (loss, try channelMajor.reshaped([codes, batch, height, width]))
  }

  /// The logits `[batch · height · width, K]`, one row per position, grid after grid.
  func positionLogits(_ indices: [Int], batch: Int, height: Int, width: Int, labels: [Int]?) throws -> Tensor {
    guard indices.count == batch * height * width, batch > 0, height * width > 0 else {
      throw TensorError("TransformerPrior: \(indices.count) indices for \(batch) grids of \(height)x\(width)")
    }
    let input = try embed(indices, batch: batch, length: height * width, labels: labels)
    return try forward(input, batch: batch, length: height * width)
  }

  /// The input sequence `[batch · length, d]`: per grid the start token (its class's, when conditional), then the
  /// embeddings of its first `length - 1` codes, each plus its position's embedding and, when conditional, its
  /// class's embedding. While training with class dropout, each grid's class is "no class" with that probability.
  /// - Throws: `TensorError` if the grid has more positions than `max_positions`, or a label or code is out of range.
  func embed(_ indices: [Int], batch: Int, length: Int, labels: [Int]?) throws -> Tensor {
    guard length <= configuration.maxPositions else {
      throw TensorError(
        "TransformerPrior: grids of \(length) positions are longer than max_positions \(configuration.maxPositions)")
    }
    let d = configuration.dim
    var rows = try startRows(labels, batch: batch)
    if GradMode.isEnabled && configuration.hasNoClass {
      for n in rows.indices where dropoutGenerator.uniform() < configuration.classDropout {
        rows[n] = configuration.classes  // the "no class" row
      }
    }
    let start = try startEmbedding(rows).reshaped([batch, 1, d])
    var sequence = start
    if length > 1 {
      let shifted = (0..<batch).flatMap { n in indices[(n * length)..<((n + 1) * length - 1)] }
      let tokens = try tokenEmbedding(shifted).reshaped([batch, length - 1, d])
      sequence = try Tensor.concatenate([start, tokens], axis: 1)
    }
    let positions = try positionEmbedding(Array(0..<length))
    let input = try (sequence + positions).reshaped([batch * length, d])
    guard let classEmbedding else { return input }
    return try input + classEmbedding(rows.flatMap { [Int](repeating: $0, count: length) })
  }

  /// The rows of `startEmbedding` (and of `classEmbedding`) for a batch: each grid's class, or row 0 for all when
  /// unconditional. A prior trained with class dropout also takes the label `classes`: "no class" (the embedding
  /// lookup refuses labels outside the tables).
  /// - Throws: `TensorError` if a conditional prior gets no labels or the wrong number of them.
  func startRows(_ labels: [Int]?, batch: Int) throws -> [Int] {
    guard configuration.classes > 0 else { return [Int](repeating: 0, count: batch) }
    guard let labels else {
      throw TensorError("TransformerPrior: the prior is class-conditional but no labels were given")
    }
    guard labels.count == batch else {
      throw TensorError("TransformerPrior: \(labels.count) labels for \(batch) grids")
    }
    return labels
  }

  /// The logits `[batch · length, K]` of an embedded input sequence `[batch · length, d]` (the causality test
  /// differentiates through it).
  func forward(_ input: Tensor, batch: Int, length: Int) throws -> Tensor {
    var x = try dropout(input)
    for block in blocks { x = try block(x, batch: batch, length: length, dropout: dropout) }
    return try head(try finalNorm(x))
  }

  /// Dropout with the configured probability while gradients are recorded.
  private func dropout(_ x: Tensor) throws -> Tensor {
    try x.dropout(probability: configuration.dropout, training: GradMode.isEnabled, rng: &dropoutGenerator)
  }
}
