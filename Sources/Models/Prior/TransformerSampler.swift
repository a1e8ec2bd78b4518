import TensorEngine

/// Ancestral sampling from the transformer prior in raster order, with a key/value cache.
///
/// A full forward pass per position repeats the whole sequence for every code drawn: `height · width` passes of
/// up to `height · width` positions. This sampler keeps each block's keys and values (`KeyValueCache`), so each
/// position goes through the blocks once: the step at position p embeds the code just drawn, appends its keys and
/// values, and attends to the p + 1 cached positions. The whole grid costs about one forward pass.
public struct TransformerSampler {
  public let model: TransformerPrior

  public init(model: TransformerPrior) { self.model = model }

  /// `count` grids of `height x width` codes, drawn in raster order; one class per grid for a conditional prior.
  /// With `given`, only its fill positions are drawn and the rest keep its codes (see `GivenCodes`); positions that
  /// no grid draws at skip the head, and positions after the last one drawn are not computed. The same generator
  /// state gives the same grids.
  /// - Throws: `TensorError` if the labels or the given codes do not fit the model, or the grid is longer than
  ///   `max_positions`.
  public func sample(
    count: Int, height: Int, width: Int, labels: [Int]?, given: GivenCodes? = nil,
    options: SamplingOptions = SamplingOptions(), rng: inout RandomGenerator
  ) throws -> [Int] {
    let (length, k) = (height * width, model.configuration.codes)
    try check(count: count, height: height, width: width, given: given)
    var codes = given?.start ?? [Int](repeating: 0, count: count * length)
    func draws(_ n: Int, _ p: Int) -> Bool { given?.fill[n * length + p] ?? true }
    guard let last = (0..<length).last(where: { p in (0..<count).contains { draws($0, p) } }) else { return codes }
    let c = model.configuration
    return try withoutGrad {
      var caches = model.blocks.map { _ in
        KeyValueCache(batch: count, heads: c.heads, capacity: last + 1, headDim: c.dim / c.heads)
      }
      let startRows = try model.startRows(labels, batch: count)
      var scratch = [Float](repeating: 0, count: k)
      for p in 0...last {
        // Position p's input: the start token, or the code at p - 1 (drawn or kept), plus p's position embedding
        // and, when conditional, the class embedding (added in the order `TransformerPrior.embed` adds them).
        let token =
          p == 0
          ? try model.startEmbedding(startRows)
          : try model.tokenEmbedding((0..<count).map { codes[$0 * length + p - 1] })
        var x = try token + model.positionEmbedding([p])
        if let classEmbedding = model.classEmbedding { x = try x + classEmbedding(startRows) }
        for (l, block) in model.blocks.enumerated() { x = try block.step(x, cache: &caches[l]) }
        guard (0..<count).contains(where: { draws($0, p) }) else { continue }
        // [count, K]: grid n's logits are row n.
        let logits = try model.head(try model.finalNorm(x))
        logits.data.withUnsafeBufferPointer { all in
          scratch.withUnsafeMutableBufferPointer { buffer in
            for n in 0..<count where draws(n, p) {
              codes[n * length + p] = options.draw(
                UnsafeBufferPointer(rebasing: all[(n * k)..<((n + 1) * k)]), scratch: buffer, rng: &rng)
            }
          }
        }
      }
      return codes
    }
  }

  /// The reference sampler: one full forward pass of the whole batch per position, no cache. It draws from the
  /// generator in the same order as `sample`, so both give the same grids, given codes or not.
  public func sampleByFullRecompute(
    count: Int, height: Int, width: Int, labels: [Int]?, given: GivenCodes? = nil,
    options: SamplingOptions = SamplingOptions(), rng: inout RandomGenerator
  ) throws -> [Int] {
    let (length, k) = (height * width, model.configuration.codes)
    try check(count: count, height: height, width: width, given: given)
    return try withoutGrad {
      // Kept codes after the position drawn are in the input too; causality keeps them out of its logits.
      var codes = given?.start ?? [Int](repeating: 0, count: count * length)
      var scratch = [Float](repeating: 0, count: k)
      for p in 0..<length {
        let logits = try model.positionLogits(codes, batch: count, height: height, width: width, labels: labels)
        for n in 0..<count where given?.fill[n * length + p] ?? true {
          codes[n * length + p] = logits.data.withUnsafeBufferPointer { all in
            scratch.withUnsafeMutableBufferPointer { buffer in
              options.draw(
                UnsafeBufferPointer(rebasing: all[((n * length + p) * k)..<((n * length + p + 1) * k)]),
                scratch: buffer, rng: &rng)
            }
          }
        }
      }
      return codes
    }
  }

  /// Checks the request against the model.
  private func check(count: Int, height: Int, width: Int, given: GivenCodes?) throws {
    guard height * width <= model.configuration.maxPositions else {
      throw TensorError(
        "TransformerSampler: grids of \(height)x\(width) positions are longer than max_positions "
          + "\(model.configuration.maxPositions)")
    }
    try given?.check(count: count, height: height, width: width, codes: model.configuration.codes)
  }
}
