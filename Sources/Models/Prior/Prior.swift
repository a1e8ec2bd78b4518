import TensorEngine

/// An autoregressive prior over grids of code indices in raster order, p(z) = Π p(z_i | z_<i, class): what the
/// training loop, the evaluation, the checkpoints and the sampler use. The gated PixelCNN is one; another kind of
/// prior implements this protocol and joins `Priors.kinds`.
public protocol Prior: Module {
  /// The kind, as checkpoints record it in `model` (`gated_pixelcnn`).
  static var kind: String { get }
  /// Builds a freshly initialised prior from its recorded architecture.
  /// - Throws: `TensorError` naming the key that is missing or out of range.
  init(architecture: [String: String], rng: inout RandomGenerator) throws
  /// The memory a prior of `architecture` takes on `height x width` grids, before it is built.
  /// - Throws: `TensorError` naming the key that is missing or out of range.
  static func footprint(architecture: [String: String], height: Int, width: Int) throws -> Footprint
  /// The architecture as checkpoint metadata, from which `init(architecture:rng:)` builds the same prior.
  var architecture: [String: String] { get }
  /// K: the codes it models.
  var codes: Int { get }
  /// The classes it is conditioned on; 0 for an unconditional prior.
  var classes: Int { get }
  /// Mean cross-entropy (nats) of `batch` row-major grids of `height x width`, and the channel-major logits
  /// `[K, batch, height, width]` it came from; `labels` holds one class per grid for a conditional prior.
  func loss(_ indices: [Int], batch: Int, height: Int, width: Int, labels: [Int]?) throws -> (
    loss: Tensor, logits: Tensor
  )
  /// `count` grids of `height x width` codes drawn in raster order (one class per grid for a conditional prior);
  /// the same generator state gives the same grids.
  func sample(
    count: Int, height: Int, width: Int, labels: [Int]?, options: SamplingOptions, rng: inout RandomGenerator
  ) throws -> [Int]
}

/// The kinds of prior a checkpoint can hold.
public enum Priors {
  /// Each kind of prior.
  public static let kinds: [any Prior.Type] = [GatedPixelCNN.self]

  /// The prior of the recorded `kind` (a checkpoint's `model`, `gated_pixelcnn` when absent), built from its
  /// architecture.
  /// - Throws: `TensorError` for an unknown kind or a bad architecture.
  public static func make(
    kind: String?, architecture: [String: String], rng: inout RandomGenerator
  ) throws -> any Prior {
    try type(kind).init(architecture: architecture, rng: &rng)
  }

  /// The memory the prior of `kind` and `architecture` takes on `height x width` grids (see `Prior.footprint`).
  /// - Throws: `TensorError` for an unknown kind or a bad architecture.
  public static func footprint(
    kind: String?, architecture: [String: String], height: Int, width: Int
  ) throws -> Footprint {
    try type(kind).footprint(architecture: architecture, height: height, width: width)
  }

  /// The prior type of `kind`.
  private static func type(_ kind: String?) throws -> any Prior.Type {
    let name = kind ?? GatedPixelCNN.kind
    guard let found = kinds.first(where: { $0.kind == name }) else {
      throw TensorError(
        "model '\(name)' is no prior this toolkit knows (\(kinds.map { $0.kind }.joined(separator: ", ")))")
    }
    return found
  }
}
