import Foundation
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
  /// the same generator state gives the same grids. With `given`, only its `fill` positions are drawn; the others
  /// keep its codes, which the draws after them see as context (completion and inpainting).
  func sample(
    count: Int, height: Int, width: Int, labels: [Int]?, given: GivenCodes?, options: SamplingOptions,
    rng: inout RandomGenerator
  ) throws -> [Int]
}

extension Prior {
  /// `count` new grids: `sample` with every position drawn.
  public func sample(
    count: Int, height: Int, width: Int, labels: [Int]?, options: SamplingOptions, rng: inout RandomGenerator
  ) throws -> [Int] {
    try sample(count: count, height: height, width: width, labels: labels, given: nil, options: options, rng: &rng)
  }

  /// The negative log-likelihood of each of `batch` row-major grids, in nats: the sum over its positions of
  /// -log p(z_i | z_<i, class), from the logits of `loss` (gradients off).
  /// - Throws: `TensorError` if the grids or labels do not fit the prior.
  public func negativeLogLikelihoods(
    _ indices: [Int], batch: Int, height: Int, width: Int, labels: [Int]?
  ) throws -> [Double] {
    let logits = try withoutGrad {
      try loss(indices, batch: batch, height: height, width: width, labels: labels).logits
    }
    let (k, positions) = (codes, batch * height * width)
    var nll = [Double](repeating: 0, count: batch)
    logits.data.withUnsafeBufferPointer { x in
      for p in 0..<positions {
        var maximum = -Float.infinity
        for c in 0..<k { maximum = max(maximum, x[c * positions + p]) }
        var sum = 0.0
        for c in 0..<k { sum += Foundation.exp(Double(x[c * positions + p] - maximum)) }
        nll[p / (height * width)] += Double(maximum) + Foundation.log(sum) - Double(x[indices[p] * positions + p])
      }
    }
    return nll
  }
}

/// Codes fixed before sampling: the grids' codes and, position by position, whether to draw it anew (`fill`) or
/// keep the code given. Kept codes are context for the draws that follow them in raster order; a raster-order prior
/// cannot see kept codes below or to the right of a position it draws.
public struct GivenCodes: Sendable, Equatable {
  /// `count · height · width` codes, grid after grid, row-major; those at fill positions are ignored.
  public var codes: [Int]
  /// One flag per code: true where the sampler draws.
  public var fill: [Bool]

  /// - Precondition: `codes` and `fill` have the same length.
  public init(codes: [Int], fill: [Bool]) {
    precondition(codes.count == fill.count, "GivenCodes: \(codes.count) codes but \(fill.count) fill flags")
    (self.codes, self.fill) = (codes, fill)
  }

  /// The codes the sampler starts from: the kept ones, and code 0 at the positions it draws.
  var start: [Int] { zip(codes, fill).map { $1 ? 0 : $0 } }

  /// Checks them against `count` grids of `height x width` and a codebook of `codes` entries.
  /// - Throws: `TensorError` naming the wrong length or the first kept code outside the codebook.
  func check(count: Int, height: Int, width: Int, codes k: Int) throws {
    guard codes.count == count * height * width else {
      throw TensorError("given codes: \(codes.count) for \(count) grids of \(height)x\(width)")
    }
    for (i, code) in codes.enumerated() where !fill[i] && !(0..<k).contains(code) {
      throw TensorError("given codes: code \(code) at position \(i) is outside the codebook (K \(k))")
    }
  }
}

/// The kinds of prior a checkpoint can hold.
public enum Priors {
  /// Each kind of prior.
  public static let kinds: [any Prior.Type] = [GatedPixelCNN.self, TransformerPrior.self]

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
