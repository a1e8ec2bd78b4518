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
    let rows = try check(count: count, height: height, width: width, labels: labels, given: given, options: options)
    var codes = given?.start ?? [Int](repeating: 0, count: count * length)
    func draws(_ n: Int, _ p: Int) -> Bool { given?.fill[n * length + p] ?? true }
    guard let last = (0..<length).last(where: { p in (0..<count).contains { draws($0, p) } }) else { return codes }
    let c = model.configuration
    return try withoutGrad {
      // Guided, the batch holds each grid twice: with its class, then (rows count...) with "no class".
      var caches = model.blocks.map { _ in
        KeyValueCache(batch: rows.count, heads: c.heads, capacity: last + 1, headDim: c.dim / c.heads)
      }
      var scratch = [Float](repeating: 0, count: 2 * k)
      for p in 0...last {
        // Position p's input: the start token, or the code at p - 1 (drawn or kept), plus p's position embedding
        // and, when conditional, the class embedding (added in the order `TransformerPrior.embed` adds them).
        let token =
          p == 0
          ? try model.startEmbedding(rows)
          : try model.tokenEmbedding(rows.indices.map { codes[$0 % count * length + p - 1] })
        var x = try token + model.positionEmbedding([p])
        if let classEmbedding = model.classEmbedding { x = try x + classEmbedding(rows) }
        for (l, block) in model.blocks.enumerated() { x = try block.step(x, cache: &caches[l]) }
        guard (0..<count).contains(where: { draws($0, p) }) else { continue }
        // [rows, K]: grid n's logits are row n (and row count + n without its class).
        let logits = try model.head(try model.finalNorm(x))
        logits.data.withUnsafeBufferPointer { all in
          for n in 0..<count where draws(n, p) {
            codes[n * length + p] = draw(
              all, rowStart: { $0 * k }, grid: n, of: count, options: options, scratch: &scratch, rng: &rng)
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
    let rows = try check(count: count, height: height, width: width, labels: labels, given: given, options: options)
    return try withoutGrad {
      // Kept codes after the position drawn are in the input too; causality keeps them out of its logits.
      var codes = given?.start ?? [Int](repeating: 0, count: count * length)
      var scratch = [Float](repeating: 0, count: 2 * k)
      for p in 0..<length {
        // Guided, the batch holds each grid twice, as in `sample`.
        let input = (0..<(rows.count / count)).flatMap { _ in codes }
        let all = try model.positionLogits(
          input, batch: rows.count, height: height, width: width, labels: model.classes > 0 ? rows : nil)
        all.data.withUnsafeBufferPointer { all in
          for n in 0..<count where given?.fill[n * length + p] ?? true {
            codes[n * length + p] = draw(
              all, rowStart: { ($0 * length + p) * k }, grid: n, of: count, options: options, scratch: &scratch,
              rng: &rng)
          }
        }
      }
      return codes
    }
  }

  /// Draws grid `n`'s code from the logits of batch row n (K values from `rowStart(n)`), or guided, from those
  /// mixed with the logits of row count + n, the grid without its class.
  private func draw(
    _ logits: UnsafeBufferPointer<Float>, rowStart: (Int) -> Int, grid n: Int, of count: Int,
    options: SamplingOptions, scratch: inout [Float], rng: inout RandomGenerator
  ) -> Int {
    let k = model.configuration.codes
    let conditional = UnsafeBufferPointer(rebasing: logits[rowStart(n)..<(rowStart(n) + k)])
    return scratch.withUnsafeMutableBufferPointer { buffer in
      let weights = UnsafeMutableBufferPointer(rebasing: buffer[k...])
      guard options.isGuided else { return options.draw(conditional, scratch: weights, rng: &rng) }
      let (unconditional, s) = (logits[rowStart(count + n)...], options.guidance)
      for (i, (c, u)) in zip(conditional, unconditional).enumerated() { buffer[i] = u + s * (c - u) }
      return options.draw(UnsafeBufferPointer(rebasing: buffer[..<k]), scratch: weights, rng: &rng)
    }
  }

  /// Checks the request against the model, and gives the rows of the class tables of the batch it runs: each grid's
  /// class (or the start token's row), and guided, "no class" for each grid after them.
  private func check(
    count: Int, height: Int, width: Int, labels: [Int]?, given: GivenCodes?, options: SamplingOptions
  ) throws -> [Int] {
    let c = model.configuration
    guard height * width <= c.maxPositions else {
      throw TensorError(
        "TransformerSampler: grids of \(height)x\(width) positions are longer than max_positions \(c.maxPositions)")
    }
    try given?.check(count: count, height: height, width: width, codes: c.codes)
    let rows = try model.startRows(labels, batch: count)
    guard options.isGuided else { return rows }
    guard let noClass = c.noClassLabel else {
      throw TensorError(
        "guidance \(options.guidance): the prior "
          + (c.classes == 0 ? "is unconditional" : "learned no 'no class' (it was trained with class_dropout 0)")
          + "; guidance needs a class-conditional transformer trained with class_dropout > 0")
    }
    return rows + [Int](repeating: noClass, count: count)
  }
}
