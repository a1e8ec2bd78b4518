import TensorEngine

/// The gated PixelCNN's vertical stacks over whole grids, for `PriorSampler`: the embedded codes and every layer's
/// output, position-major by row (`[row][channel][column][grid]`), computed a row at a time. A convolution tap
/// (row r, column t of the kernel) then reads a plain `[d, columns · grids]` block of its input rows, so a row of a
/// layer is one GEMM per tap, `K = d`, over every column and grid at once: no window copy, no im2col, and taps that
/// fall on the zero padding (above the grid, left or right of it) are not computed. The sums run tap by tap, not as
/// `conv2d`'s im2col or Winograd ones do, so the values may differ from the full forward pass in the last bits.
struct VerticalStacks {
  /// One gated layer's vertical weights, rearranged for the tap-by-tap GEMMs.
  private struct Layer {
    /// Rows above (and columns on either side) that the convolution reaches, and the rows it reads from there.
    let reach: Int
    let rows: Int
    let kernel: Int
    /// `vert_stack`'s allowed taps, `[rows][kernel][2d][d]` (the checkpoint's `[2d][d][reach + 1][kernel]`).
    let weight: [Float]
    let bias: [Float]
    /// `vert_to_horiz`, `[2d][2d]`.
    let shareWeight: [Float]
    let shareBias: [Float]
    /// The class embedding of each grid, `[2d][grids]` (zeros without conditioning).
    let condition: [Float]
  }

  private let layers: [Layer]
  private let (grids, dim, height, width): (Int, Int, Int, Int)
  /// The embedded codes (the first layer's input), then each layer's output but the last's (which no layer reads):
  /// `layers` blocks of `[height][d][width][grids]`.
  private var stacks: [Float]
  /// One layer's pre-activation at the current row, `[2d][width][grids]`.
  private var preactivation: [Float]
  /// Each layer's share of the horizontal stack's pre-activation (`vert_to_horiz`) at the current row:
  /// `[layers][2d][width][grids]`.
  private(set) var shares: [Float]

  /// - Parameter conditions: each layer's class embeddings as `[2d][grids]` (`GatedLayer.gateBias(for:grids:)`).
  init(model: GatedPixelCNN, grids: Int, height: Int, width: Int, conditions: [[Float]]) {
    let d = model.configuration.dim
    (self.grids, dim, self.height, self.width) = (grids, d, height, width)
    layers = zip(model.layers, conditions).map { layer, condition in
      let reach = layer.kernel / 2
      let rows = layer.mask == .a ? reach : reach + 1
      let full = layer.verticalStack.weight.data
      var weight = [Float](repeating: 0, count: rows * layer.kernel * 2 * d * d)
      for r in 0..<rows {
        for t in 0..<layer.kernel {
          for o in 0..<(2 * d) {
            for c in 0..<d {
              weight[((r * layer.kernel + t) * 2 * d + o) * d + c] =
                full[((o * d + c) * (reach + 1) + r) * layer.kernel + t]
            }
          }
        }
      }
      return Layer(
        reach: reach, rows: rows, kernel: layer.kernel, weight: weight, bias: biasValues(layer.verticalStack),
        shareWeight: layer.verticalToHorizontal.weight.data, shareBias: biasValues(layer.verticalToHorizontal),
        condition: condition)
    }
    stacks = [Float](repeating: 0, count: layers.count * height * d * width * grids)
    preactivation = [Float](repeating: 0, count: 2 * d * width * grids)
    shares = [Float](repeating: 0, count: layers.count * 2 * d * width * grids)
  }

  /// Writes the embedded codes `[d][grids]` at (`row`, `column`) into the first layer's input.
  mutating func setInput(row: Int, column: Int, _ embedded: ArraySlice<Float>) {
    let start = row * dim * width * grids + column * grids
    for c in 0..<dim {
      for n in 0..<grids { stacks[start + c * width * grids + n] = embedded[embedded.startIndex + c * grids + n] }
    }
  }

  /// Computes every layer's vertical stack at `row`, whose rows above are done (the input's too), and with
  /// `shares` their `vert_to_horiz` shares of the row.
  mutating func advance(row i: Int, shares computeShares: Bool) {
    let (d, rowSize) = (dim, width * grids)
    let stackSize = height * d * rowSize
    stacks.withUnsafeMutableBufferPointer { stacks in
      preactivation.withUnsafeMutableBufferPointer { pre in
        shares.withUnsafeMutableBufferPointer { shares in
          for (l, layer) in layers.enumerated() {
            let source = stacks.baseAddress! + l * stackSize
            for o in 0..<(2 * d) { (pre.baseAddress! + o * rowSize).update(repeating: layer.bias[o], count: rowSize) }
            layer.weight.withUnsafeBufferPointer { weight in
              for r in 0..<layer.rows where i - layer.reach + r >= 0 {
                let input = source + (i - layer.reach + r) * d * rowSize
                for t in 0..<layer.kernel {
                  // Output columns j read input column j + t - reach; those outside the grid are padding.
                  let shift = t - layer.reach
                  let (first, end) = (max(0, -shift), min(width, width - shift))
                  guard first < end else { continue }
                  BufferKernels.multiplyAdd(
                    m: 2 * d, n: (end - first) * grids, k: d, weight.baseAddress! + (r * layer.kernel + t) * 2 * d * d,
                    input + (first + shift) * grids, ldb: rowSize, into: pre.baseAddress! + first * grids, ldc: rowSize)
                }
              }
            }
            if computeShares {
              BufferKernels.affine(
                m: 2 * d, n: rowSize, k: 2 * d, layer.shareWeight, pre.baseAddress!, ldb: rowSize,
                bias: layer.shareBias,
                into: shares.baseAddress! + l * 2 * d * rowSize)
            }
            guard l + 1 < layers.count else { continue }
            BufferKernels.gatedActivation(
              pre.baseAddress!, bias: layer.condition, channels: d, positions: width, grids: grids,
              into: stacks.baseAddress! + (l + 1) * stackSize + i * d * rowSize)
          }
        }
      }
    }
  }
}
