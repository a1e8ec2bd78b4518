import Foundation
import TensorEngine

/// The architecture of the prior: the classic repo's `GatedPixelCNN(input_dim, dim, n_layers, n_classes)` plus an
/// optional hidden layer in the head.
public struct PriorConfiguration: Equatable, Sendable {
  /// K, the number of codes: the input alphabet and the logits per position.
  public var codes = 512
  /// Channels d of the stacks.
  public var dim = 64
  /// Gated layers: the first with mask A and kernel 7, the rest mask B and kernel 3.
  public var layers = 15
  /// Conditioning classes (a label embedding per layer); 0 for an unconditional prior.
  public var classes = 0
  /// Channels of a hidden 1x1 + ReLU layer before the logits; 0 for a single 1x1 head.
  public var headHidden = 0

  public init(codes: Int = 512, dim: Int = 64, layers: Int = 15, classes: Int = 0, headHidden: Int = 0) {
    (self.codes, self.dim, self.layers, self.classes, self.headHidden) = (codes, dim, layers, classes, headHidden)
  }

  /// The keys of checkpoint metadata, the classic repo's names: `n_embeddings`, `dim`, `n_layers`, `n_classes`,
  /// `head_hidden`.
  public var architecture: [String: String] {
    [
      "n_embeddings": "\(codes)", "dim": "\(dim)", "n_layers": "\(layers)", "n_classes": "\(classes)",
      "head_hidden": "\(headHidden)",
    ]
  }

  /// The architecture that `architecture` records.
  /// - Throws: `TensorError` naming a key that is missing, not a whole number, or out of range.
  public init(architecture: [String: String]) throws {
    func value(_ key: String, atLeast bound: Int) throws -> Int {
      guard let text = architecture[key], let value = Int(text), value >= bound else {
        throw TensorError(
          "gated_pixelcnn: '\(key)' must be a whole number >= \(bound), got \(architecture[key] ?? "nothing")")
      }
      return value
    }
    self.init(
      codes: try value("n_embeddings", atLeast: 1), dim: try value("dim", atLeast: 1),
      layers: try value("n_layers", atLeast: 1), classes: try value("n_classes", atLeast: 0),
      headHidden: try value("head_hidden", atLeast: 0))
  }
}

/// The gated PixelCNN prior over grids of code indices: an embedding of the K codes, `layers` gated layers
/// (`GatedLayer`), and a 1x1 head to K logits per position. Parameter names follow the classic repo's
/// `GatedPixelCNN` (`embedding.weight`, `layers.<i>.vert_stack.weight`, ..., `output_conv.weight` or
/// `output_conv.0/.2` with a hidden head), so its users can load our checkpoints with `load_state_dict`.
public final class GatedPixelCNN: Prior {
  public let configuration: PriorConfiguration
  public let embedding: Embedding
  public let layers: [GatedLayer]
  /// The head: one 1x1 convolution to K logits, or 1x1 to `headHidden`, ReLU, 1x1 to K.
  public let head: [Conv2D]

  public init(_ configuration: PriorConfiguration, rng: inout RandomGenerator) {
    precondition(configuration.layers >= 1 && configuration.dim >= 1 && configuration.codes >= 1, "bad prior sizes")
    self.configuration = configuration
    embedding = Embedding(count: configuration.codes, dimension: configuration.dim, rng: &rng)
    layers = (0..<configuration.layers).map { i in
      GatedLayer(
        dim: configuration.dim, kernel: i == 0 ? 7 : 3, mask: i == 0 ? .a : .b, residual: i > 0,
        classes: configuration.classes, rng: &rng)
    }
    let (d, k, hidden) = (configuration.dim, configuration.codes, configuration.headHidden)
    head =
      hidden > 0
      ? [Conv2D(d, hidden, kernelSize: 1, rng: &rng), Conv2D(hidden, k, kernelSize: 1, rng: &rng)]
      : [Conv2D(d, k, kernelSize: 1, rng: &rng)]
  }

  public static let kind = "gated_pixelcnn"
  public var codes: Int { configuration.codes }
  public var classes: Int { configuration.classes }

  public var architecture: [String: String] { configuration.architecture }

  /// A fresh prior from `architecture`'s keys (see `architecture`).
  /// - Throws: `TensorError` naming a key that is missing, not a whole number, or out of range.
  public convenience init(architecture: [String: String], rng: inout RandomGenerator) throws {
    self.init(try PriorConfiguration(architecture: architecture), rng: &rng)
  }

  public static func footprint(architecture: [String: String], height: Int, width: Int) throws -> Footprint {
    try PriorConfiguration(architecture: architecture).footprint(height: height, width: width)
  }

  public func sample(
    count: Int, height: Int, width: Int, labels: [Int]?, given: GivenCodes?, options: SamplingOptions,
    rng: inout RandomGenerator
  ) throws -> [Int] {
    guard !options.isGuided else {
      throw TensorError(
        "guidance \(options.guidance): the gated PixelCNN learned no 'no class'; guidance needs a class-conditional "
          + "transformer prior trained with class_dropout > 0 (gated-pixelcnn --prior transformer)")
    }
    return try PriorSampler(model: self).sample(
      count: count, height: height, width: width, labels: labels, given: given, options: options, rng: &rng)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    let headNames =
      head.count == 1
      ? prefixed("output_conv", head[0].namedParameters)
      : prefixed("output_conv.0", head[0].namedParameters) + prefixed("output_conv.2", head[1].namedParameters)
    return prefixed("embedding", embedding.namedParameters)
      + layers.enumerated().flatMap { prefixed("layers.\($0.offset)", $0.element.namedParameters) } + headNames
  }

  /// The codes of `indices` (`batch` grids of `height x width`) as a channel-major `[d, batch, height, width]` map.
  func embed(_ indices: [Int], batch: Int, height: Int, width: Int) throws -> Tensor {
    try embedding(indices).permuted([1, 0]).reshaped([configuration.dim, batch, height, width])
  }

  /// The logits `[batch, K, height, width]` of every position given the codes before it (raster order).
  /// - Parameters:
  ///   - indices: `batch` grids, each row-major.
  ///   - labels: one class per grid for a conditional prior; ignored (may be nil) otherwise.
  /// - Throws: `TensorError` if an index or label is out of range or the counts do not fit.
  public func callAsFunction(_ indices: [Int], batch: Int, height: Int, width: Int, labels: [Int]?) throws -> Tensor {
    try channelMajorLogits(indices, batch: batch, height: height, width: width, labels: labels).swappingFirstTwoAxes()
  }

  /// The logits as the engine computes them, `[K, batch, height, width]`.
  func channelMajorLogits(_ indices: [Int], batch: Int, height: Int, width: Int, labels: [Int]?) throws -> Tensor {
    guard indices.count == batch * height * width else {
      throw TensorError("GatedPixelCNN: \(indices.count) indices for \(batch) grids of \(height)x\(width)")
    }
    if let labels, configuration.classes > 0, labels.count != batch {
      throw TensorError("GatedPixelCNN: \(labels.count) labels for \(batch) grids")
    }
    // The first layer (mask A, no residual) reads the codes themselves (see `GatedLayer.callAsFunction(codes:...)`):
    // no embedded grid.
    let first = layers[0]
    var (v, h) = try first(
      codes: indices, batch: batch, height: height, width: width, embedding: embedding.weight,
      condition: try first.condition(for: labels))
    for layer in layers.dropFirst() { (v, h) = try layer(v, h, condition: try layer.condition(for: labels)) }
    return try logits(h)
  }

  /// The channel-major logits of an already embedded batch `[d, batch, height, width]` (the causality test
  /// differentiates through it).
  func forward(_ x: Tensor, labels: [Int]?) throws -> Tensor {
    var (v, h) = (x, x)
    for layer in layers { (v, h) = try layer(v, h, condition: try layer.condition(for: labels)) }
    return try logits(h)
  }

  /// The head applied to the last horizontal stack.
  func logits(_ h: Tensor) throws -> Tensor {
    head.count == 1 ? try head[0](h) : try head[1](try head[0](h).reluInPlace())
  }

  /// Mean cross-entropy (nats) of the grids under the model, and the channel-major logits `[K, batch, height,
  /// width]` it came from.
  public func loss(_ indices: [Int], batch: Int, height: Int, width: Int, labels: [Int]?) throws -> (
    loss: Tensor, logits: Tensor
  ) {
    let logits = try channelMajorLogits(indices, batch: batch, height: height, width: width, labels: labels)
    // [K, B, H, W] read as one image of B · H · W positions: the targets' order.
    let positions = try logits.reshaped([1, configuration.codes, batch * height * width])
    return (try softmaxCrossEntropy(logits: positions, targets: indices), logits)
  }
}
