import Foundation
import TensorEngine

/// How a code is drawn from the logits at one position: temperature, then top-k, then top-p (nucleus).
public struct SamplingOptions: Equatable, Sendable {
  /// Divides the logits: below 1 sharpens the distribution, above 1 flattens it; 0 always takes the most likely code.
  public var temperature: Float = 1
  /// Keep only the k most likely codes (nil: all); 1 takes the most likely code.
  public var topK: Int?
  /// Keep only the nucleus (Holtzman et al. 2020): the smallest set of the most likely codes whose probabilities,
  /// after temperature and top-k, add up to at least p (nil or 1: all). Among codes of equal probability the lower
  /// code comes first, so the set is always the same for the same logits.
  public var topP: Float?
  /// Classifier-free guidance (Ho and Salimans 2022), s: each position draws from the logits u + s (c - u), with c
  /// the class-conditional logits and u those without a class. 1 is plain conditional sampling, above 1 truer to the
  /// class (and less varied), 0 ignores the class. Other than 1, it needs a prior that learned "no class".
  public var guidance: Float = 1

  public init(temperature: Float = 1, topK: Int? = nil, topP: Float? = nil, guidance: Float = 1) {
    (self.temperature, self.topK, self.topP, self.guidance) = (temperature, topK, topP, guidance)
  }

  /// Whether sampling mixes conditional and unconditional logits.
  public var isGuided: Bool { guidance != 1 }

  /// Checks the values, naming the parameter.
  /// - Throws: `TensorError` for a negative or non-finite temperature, a top-k below 1 or a top-p outside (0, 1].
  public func validate() throws {
    guard temperature.isFinite, temperature >= 0 else {
      throw TensorError("temperature must be a number >= 0, got \(temperature)")
    }
    if let topK, topK < 1 { throw TensorError("top_k must be at least 1, got \(topK)") }
    if let topP, !(topP > 0 && topP <= 1) { throw TensorError("top_p must be in (0, 1], got \(topP)") }
    guard guidance.isFinite, guidance >= 0 else {
      throw TensorError("guidance must be a number >= 0, got \(guidance)")
    }
  }

  /// Draws a code from `logits` (one position's K values); `scratch` holds K floats, and keeps the unnormalised
  /// weights the code was drawn with.
  func draw(
    _ logits: UnsafeBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<Float>, rng: inout RandomGenerator
  ) -> Int {
    var best = 0
    for k in 1..<logits.count where logits[k] > logits[best] { best = k }
    if temperature == 0 || topK == 1 { return best }
    // Codes below the k-th largest logit are dropped (ties at the threshold are kept).
    var threshold = -Float.infinity
    if let topK, topK < logits.count {
      threshold = logits.sorted(by: >)[topK - 1]
    }
    let maximum = logits[best]
    for k in 0..<logits.count {
      scratch[k] = logits[k] >= threshold ? Foundation.exp((logits[k] - maximum) / temperature) : 0
    }
    if let topP, topP < 1 { Self.keepNucleus(scratch, probability: topP) }
    return rng.categorical(UnsafeBufferPointer(scratch))
  }

  /// Zeroes the weights outside the nucleus: the smallest set of codes, the most likely first (the lower code first
  /// among equal weights), whose share of the total weight reaches `probability`.
  private static func keepNucleus(_ weights: UnsafeMutableBufferPointer<Float>, probability: Float) {
    let order = weights.indices.filter { weights[$0] > 0 }.sorted {
      weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1
    }
    // The weights come from float exponentials: a sum within 1e-6 (relative) of p counts as reaching it, so that
    // probabilities that add up to p exactly on paper do so here too.
    let target = Double(probability) * (1 - 1e-6) * order.reduce(0.0) { $0 + Double(weights[$1]) }
    var cumulative = 0.0
    for (rank, k) in order.enumerated() {
      cumulative += Double(weights[k])
      if cumulative >= target {
        for dropped in order[(rank + 1)...] { weights[dropped] = 0 }
        return
      }
    }
  }
}

/// Ancestral sampling from the gated PixelCNN in raster order.
///
/// A full forward pass per position (what the PyTorch reference does) repeats the whole network 64 times for an 8x8
/// grid. This sampler computes each value once: the vertical stacks of row `i` depend only on rows above it, so all
/// layers' vertical stacks for a row are computed when the row starts; then each position runs the horizontal stacks
/// of that one position, over the few columns to its left. The whole grid costs about one forward pass. Both kinds
/// of stack keep their values position-major in raw buffers (`VerticalStacks`, `HorizontalStacks`), so that every
/// convolution is a few GEMMs over all grids at once, with no tensors in the loops.
public struct PriorSampler {
  public let model: GatedPixelCNN

  public init(model: GatedPixelCNN) { self.model = model }

  /// `count` grids of `height x width` codes, drawn in raster order; one class per grid for a conditional prior.
  /// With `given`, only its fill positions are drawn and the rest keep its codes (see `GivenCodes`); rows that no
  /// grid draws in are only embedded, and positions that no grid draws at skip the head. The same generator state
  /// gives the same grids.
  /// - Throws: `TensorError` if the labels or the given codes do not fit the model.
  public func sample(
    count: Int, height: Int, width: Int, labels: [Int]?, given: GivenCodes? = nil,
    options: SamplingOptions = SamplingOptions(), rng: inout RandomGenerator
  ) throws -> [Int] {
    try given?.check(count: count, height: height, width: width, codes: model.configuration.codes)
    return try withoutGrad {
      let conditions = try model.layers.map { try $0.gateBias(for: labels, grids: count) }
      var codes = given?.start ?? [Int](repeating: 0, count: count * height * width)
      // Whether grid n draws at row i, column j.
      func draws(_ n: Int, _ i: Int, _ j: Int) -> Bool { given?.fill[(n * height + i) * width + j] ?? true }
      var vertical = VerticalStacks(model: model, grids: count, height: height, width: width, conditions: conditions)
      var horizontal = HorizontalStacks(model: model, grids: count, width: width, conditions: conditions)
      // The logits [K][count] at the current position, one grid's logits, and the draw's scratch.
      let k = model.configuration.codes
      var logits = [Float](repeating: 0, count: k * count)
      var (positionLogits, scratch) = ([Float](repeating: 0, count: k), [Float](repeating: 0, count: k))
      // Embeds the codes at (i, j) into the first layer's horizontal and vertical inputs.
      func embed(_ i: Int, _ j: Int) {
        vertical.setInput(
          row: i, column: j, horizontal.embed(column: j) { codes[($0 * height + i) * width + j] })
      }

      for i in 0..<height {
        // A row that every grid keeps needs no horizontal stack: its codes enter only the rows below, through the
        // input (which the vertical stacks of row i do not read: the first layer's mask A).
        let drawsInRow = (0..<count).contains { n in (0..<width).contains { draws(n, i, $0) } }
        vertical.advance(row: i, shares: drawsInRow)
        guard drawsInRow else {
          for j in 0..<width { embed(i, j) }
          continue
        }
        for j in 0..<width {
          horizontal.advance(column: j, shares: vertical.shares)
          if (0..<count).contains(where: { draws($0, i, j) }) {
            logits.withUnsafeMutableBufferPointer { all in
              horizontal.logits(column: j, into: all.baseAddress!)
              positionLogits.withUnsafeMutableBufferPointer { values in
                scratch.withUnsafeMutableBufferPointer { buffer in
                  // Grid n's logits are every count-th value from n.
                  for n in 0..<count where draws(n, i, j) {
                    for c in 0..<k { values[c] = all[c * count + n] }
                    codes[(n * height + i) * width + j] = options.draw(
                      UnsafeBufferPointer(values), scratch: buffer, rng: &rng)
                  }
                }
              }
            }
          }
          embed(i, j)
        }
      }
      return codes
    }
  }

  /// The reference sampler: one full forward pass of the whole batch per position, as the PyTorch original does.
  /// It draws from the generator in the same order as `sample`, so both give the same grids, given codes or not.
  public func sampleByFullRecompute(
    count: Int, height: Int, width: Int, labels: [Int]?, given: GivenCodes? = nil,
    options: SamplingOptions = SamplingOptions(), rng: inout RandomGenerator
  ) throws -> [Int] {
    try given?.check(count: count, height: height, width: width, codes: model.configuration.codes)
    return try withoutGrad {
      // Kept codes below the position drawn are in the input too; causality keeps them out of its logits.
      var codes = given?.start ?? [Int](repeating: 0, count: count * height * width)
      let k = model.configuration.codes
      var scratch = [Float](repeating: 0, count: k)
      var position = [Float](repeating: 0, count: k)
      for i in 0..<height {
        for j in 0..<width {
          let logits = try model(codes, batch: count, height: height, width: width, labels: labels)
          for n in 0..<count where given?.fill[(n * height + i) * width + j] ?? true {
            for c in 0..<k { position[c] = logits.data[((n * k + c) * height + i) * width + j] }
            codes[(n * height + i) * width + j] = position.withUnsafeBufferPointer { values in
              scratch.withUnsafeMutableBufferPointer { options.draw(values, scratch: $0, rng: &rng) }
            }
          }
        }
      }
      return codes
    }
  }
}
