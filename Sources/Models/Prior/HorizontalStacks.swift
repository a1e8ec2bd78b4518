import TensorEngine

/// The gated PixelCNN's horizontal stacks along the row being sampled, for `PriorSampler`: the embedded codes and
/// every layer's output at each column so far, position-major (`[column][channel][grid]`), and the head. The taps
/// that a horizontal convolution reads at one position (the few columns to its left) are then one contiguous
/// `[taps · d, grids]` matrix, so a position costs a few small GEMMs over all grids, with no im2col, window copy or
/// tensor. The convolutions sum their taps in another order than `conv2d`'s im2col does (tap-major, not
/// channel-major), so their values may differ from the full forward pass in the last bits.
struct HorizontalStacks {
  /// One gated layer's horizontal weights, rearranged for position-major columns.
  private struct Layer {
    /// Columns to the left that the convolution reaches (its causal padding), and the columns it reads from there.
    let reach: Int
    let taps: Int
    /// `horiz_stack`'s allowed taps, `[2d][taps][d]` (the checkpoint's `[2d][d][1][reach + 1]`, tap-major).
    let weight: [Float]
    let bias: [Float]
    let residualWeight: [Float]
    let residualBias: [Float]
    /// The class embedding of each grid, `[2d][grids]` (zeros without conditioning).
    let condition: [Float]
    let residual: Bool
  }

  private let layers: [Layer]
  /// The head's 1x1 convolutions, `[out][in]` each.
  private let head: [(weight: [Float], bias: [Float], outputs: Int)]
  private let embedding: [Float]
  private let (grids, dim, width): (Int, Int, Int)
  /// Zero columns before column 0: the widest reach of a layer.
  private let padding: Int
  /// The embedded codes (the first layer's input), then each layer's output: `layers + 1` blocks of
  /// `[padding + width][d][grids]`.
  private var stacks: [Float]
  /// One position's pre-activation `[2d][grids]`, gated activation `[d][grids]` and head's hidden layer.
  private var (fed, gated, hidden): ([Float], [Float], [Float])

  /// - Parameter conditions: each layer's class embeddings as `[2d][grids]` (`GatedLayer.gateBias(for:grids:)`).
  init(model: GatedPixelCNN, grids: Int, width: Int, conditions: [[Float]]) {
    let d = model.configuration.dim
    (self.grids, dim, self.width) = (grids, d, width)
    layers = zip(model.layers, conditions).map { layer, condition in
      let reach = layer.kernel / 2
      let taps = layer.mask == .a ? reach : reach + 1
      let full = layer.horizontalStack.weight.data
      var weight = [Float](repeating: 0, count: 2 * d * taps * d)
      for o in 0..<(2 * d) {
        for t in 0..<taps {
          for c in 0..<d { weight[(o * taps + t) * d + c] = full[(o * d + c) * (reach + 1) + t] }
        }
      }
      return Layer(
        reach: reach, taps: taps, weight: weight, bias: biasValues(layer.horizontalStack),
        residualWeight: layer.horizontalResidual.weight.data, residualBias: biasValues(layer.horizontalResidual),
        condition: condition, residual: layer.residual)
    }
    head = model.head.map { ($0.weight.data, biasValues($0), $0.weight.shape[0]) }
    embedding = model.embedding.weight.data
    padding = layers.map(\.reach).max() ?? 0
    stacks = [Float](repeating: 0, count: (layers.count + 1) * (padding + width) * d * grids)
    fed = [Float](repeating: 0, count: 2 * d * grids)
    gated = [Float](repeating: 0, count: d * grids)
    hidden = [Float](repeating: 0, count: model.configuration.headHidden * grids)
  }

  /// Embeds grid n's code `code(n)` at column `column` of the row, and returns the embedded column `[d][grids]`.
  mutating func embed(column: Int, code: (Int) -> Int) -> ArraySlice<Float> {
    let (d, start) = (dim, (padding + column) * dim * grids)
    for n in 0..<grids {
      let row = code(n) * d
      for c in 0..<d { stacks[start + c * grids + n] = embedding[row + c] }
    }
    return stacks[start..<(start + d * grids)]
  }

  /// Runs every layer's horizontal stack at `column`, whose left columns (and the embedded codes there) are done;
  /// `shares` are the vertical stacks' shares of the row (`VerticalStacks.shares`, `[layers][2d][width][grids]`).
  mutating func advance(column j: Int, shares: [Float]) {
    let (d, n) = (dim, grids)
    let (columnSize, stackSize) = (d * n, (padding + width) * d * n)
    stacks.withUnsafeMutableBufferPointer { stacks in
      shares.withUnsafeBufferPointer { shares in
        fed.withUnsafeMutableBufferPointer { fed in
          gated.withUnsafeMutableBufferPointer { gated in
            for (l, layer) in layers.enumerated() {
              let source = stacks.baseAddress! + l * stackSize
              let target = stacks.baseAddress! + (l + 1) * stackSize + (padding + j) * columnSize
              BufferKernels.affine(
                m: 2 * d, n: n, k: layer.taps * d, layer.weight, source + (padding + j - layer.reach) * columnSize,
                ldb: n, bias: layer.bias, into: fed.baseAddress!)
              // Row o of the share at column j.
              let share = shares.baseAddress! + (l * 2 * d * width + j) * n
              for o in 0..<(2 * d) {
                for x in 0..<n { fed[o * n + x] += share[o * width * n + x] }
              }
              BufferKernels.gatedActivation(
                fed.baseAddress!, bias: layer.condition, channels: d, positions: 1, grids: n, into: gated.baseAddress!)
              BufferKernels.affine(
                m: d, n: n, k: d, layer.residualWeight, gated.baseAddress!, ldb: n, bias: layer.residualBias,
                into: target)
              if layer.residual {
                let own = source + (padding + j) * columnSize
                for p in 0..<columnSize { target[p] += own[p] }
              }
            }
          }
        }
      }
    }
  }

  /// The head at `column` (after `advance(column:)`): the logits `[K][grids]` into `logits`.
  mutating func logits(column: Int, into logits: UnsafeMutablePointer<Float>) {
    let (d, n) = (dim, grids)
    let last = layers.count * (padding + width) * d * n + (padding + column) * d * n
    stacks.withUnsafeBufferPointer { stacks in
      let h = stacks.baseAddress! + last
      guard head.count == 2 else { return Self.apply(head[0], to: h, inputs: d, grids: n, into: logits) }
      // The hidden layer's ReLU, as `Tensor.relu`.
      hidden.withUnsafeMutableBufferPointer { hidden in
        Self.apply(head[0], to: h, inputs: d, grids: n, into: hidden.baseAddress!)
        for p in hidden.indices { hidden[p] = hidden[p] > 0 ? hidden[p] : 0 }
        Self.apply(head[1], to: hidden.baseAddress!, inputs: head[0].outputs, grids: n, into: logits)
      }
    }
  }

  private static func apply(
    _ convolution: (weight: [Float], bias: [Float], outputs: Int), to x: UnsafePointer<Float>, inputs: Int,
    grids: Int, into out: UnsafeMutablePointer<Float>
  ) {
    BufferKernels.affine(
      m: convolution.outputs, n: grids, k: inputs, convolution.weight, x, ldb: grids, bias: convolution.bias, into: out)
  }
}

/// A convolution's bias, or zeros for one without: adding zeros gives what the convolution gives.
func biasValues(_ convolution: Conv2D) -> [Float] {
  convolution.bias?.data ?? [Float](repeating: 0, count: convolution.weight.shape[0])
}
