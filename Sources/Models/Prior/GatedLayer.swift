import TensorEngine

/// One layer of the gated PixelCNN (van den Oord et al. 2016) with separate vertical and horizontal stacks, so that
/// the receptive field has no blind spot.
///
/// With `p = kernel / 2`, the vertical stack at row `i` sees rows `i - p ... i` (mask B) or `i - p ... i - 1` (mask A)
/// across columns `j - p ... j + p`; the horizontal stack sees columns `j - p ... j` (B) or `j - p ... j - 1` (A) of
/// row `i`, plus the vertical stack's pre-activation through a 1x1 convolution. The first layer's mask A shifts the
/// vertical stack one row down, so every later layer's vertical stack at row `i` depends only on rows above `i`, and
/// feeding it into the horizontal stack at the same position keeps the model causal.
///
/// Masked taps are not computed: the weights keep PyTorch's full shapes (`vert_stack` `[2d, d, p + 1, k]`,
/// `horiz_stack` `[2d, d, 1, p + 1]`) for checkpoints, but mask A's convolutions use only their allowed rows or
/// columns (a slice of the weight), so the masked taps get exactly zero gradient and cost nothing.
public final class GatedLayer: Module {
  /// The mask of a layer's own position: A excludes it (the first layer), B includes it.
  public enum Mask: Sendable { case a, b }

  public let mask: Mask
  public let kernel: Int
  /// Whether the horizontal stack adds its input back (every layer but the first).
  public let residual: Bool
  public let verticalStack: Conv2D
  public let horizontalStack: Conv2D
  public let verticalToHorizontal: Conv2D
  public let horizontalResidual: Conv2D
  /// The class embedding added to the gates' pre-activations, `[classes, 2d]`; nil without conditioning.
  public let classCondition: Embedding?

  /// - Parameters:
  ///   - dim: channels d of both stacks.
  ///   - kernel: the odd kernel size k.
  ///   - mask: A for the first layer, B after.
  ///   - residual: add the horizontal input back to its output.
  ///   - classes: conditioning classes; 0 for none.
  public init(dim: Int, kernel: Int, mask: Mask, residual: Bool, classes: Int, rng: inout RandomGenerator) {
    precondition(kernel % 2 == 1 && kernel >= 3, "GatedLayer: the kernel must be odd and at least 3, got \(kernel)")
    let p = kernel / 2
    (self.mask, self.kernel, self.residual) = (mask, kernel, residual)
    verticalStack = Conv2D(dim, 2 * dim, kernelSize: (p + 1, kernel), rng: &rng)
    horizontalStack = Conv2D(dim, 2 * dim, kernelSize: (1, p + 1), rng: &rng)
    verticalToHorizontal = Conv2D(2 * dim, 2 * dim, kernelSize: 1, rng: &rng)
    horizontalResidual = Conv2D(dim, dim, kernelSize: 1, rng: &rng)
    classCondition = classes > 0 ? Embedding(count: classes, dimension: 2 * dim, rng: &rng) : nil
    if mask == .a {
      // PyTorch multiplies these taps by a zero mask; store them as zeros so the checkpoint shows it.
      Self.zeroMaskedTaps(verticalStack.weight, axis: 2)
      Self.zeroMaskedTaps(horizontalStack.weight, axis: 3)
    }
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("vert_stack", verticalStack.namedParameters) + prefixed("horiz_stack", horizontalStack.namedParameters)
      + prefixed("vert_to_horiz", verticalToHorizontal.namedParameters)
      + prefixed("horiz_resid", horizontalResidual.namedParameters)
      + (classCondition.map { prefixed("class_cond_embedding", $0.namedParameters) } ?? [])
  }

  /// The layer over whole grids: `v` and `h` are `[B, d, H, W]`, `condition` the class embeddings `[B, 2d]` of
  /// the batch (see `condition(for:)`). Returns the new vertical and horizontal stacks.
  public func callAsFunction(_ v: Tensor, _ h: Tensor, condition: Tensor?) throws -> (Tensor, Tensor) {
    let p = kernel / 2
    let vertical = try verticalPreactivation(
      v, padding: ConvPadding(top: p, bottom: mask == .a ? -1 : 0, left: p, right: p))
    let horizontal = try horizontalPreactivation(
      h, padding: ConvPadding(top: 0, bottom: 0, left: p, right: mask == .a ? -1 : 0))
    let vOut = try vertical.gatedActivation(condition: condition)
    let hOut = try horizontalOutput(try horizontal + verticalToHorizontal(vertical), condition: condition)
    return (vOut, residual ? try hOut + h : hOut)
  }

  /// The first layer (no residual) over `batch` grids of `height x width` codes embedded by `embedding` (`[K,
  /// d]`): the same as the layer over the embedded grids, but each stack's convolution is a lookup of its taps'
  /// products with every code (`codeConvolution`), which costs the K codes' share of the multiply-adds instead of
  /// the grids' positions' (mask A's 3x7 vertical stack was a sixth of a training step).
  public func callAsFunction(
    codes: [Int], batch: Int, height: Int, width: Int, embedding: Tensor, condition: Tensor?
  ) throws -> (Tensor, Tensor) {
    precondition(!residual, "GatedLayer: a layer over codes has no horizontal input to add back")
    let p = kernel / 2
    /// The convolution of the embedded grids with `stack`'s allowed taps.
    func convolution(_ stack: Conv2D, axis: Int, padding: ConvPadding) throws -> Tensor {
      let weight = try allowedTaps(stack.weight, axis: axis)
      let (outChannels, channels, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
      // [O, d, kh, kw] -> [d, taps · O]: each code's product with tap t lands at columns t · O ..< (t + 1) · O.
      let taps = try weight.reshaped([outChannels, channels, kh * kw]).permuted([1, 2, 0])
        .reshaped([channels, kh * kw * outChannels])
      return try embedding.matmul(taps).codeConvolution(
        codes: codes, batch: batch, height: height, width: width, kernel: (kh, kw), padding: padding,
        bias: stack.bias)
    }
    let vertical = try convolution(
      verticalStack, axis: 2, padding: ConvPadding(top: p, bottom: mask == .a ? -1 : 0, left: p, right: p))
    let horizontal = try convolution(
      horizontalStack, axis: 3, padding: ConvPadding(top: 0, bottom: 0, left: p, right: mask == .a ? -1 : 0))
    let vOut = try vertical.gatedActivation(condition: condition)
    return (vOut, try horizontalOutput(try horizontal + verticalToHorizontal(vertical), condition: condition))
  }

  /// The class embeddings of `labels` for the gates, or nil without conditioning.
  public func condition(for labels: [Int]?) throws -> Tensor? {
    guard let classCondition else { return nil }
    guard let labels else { throw TensorError("GatedLayer: the layer is class-conditional but no labels were given") }
    return try classCondition(labels)
  }

  /// The class embeddings of `labels` as the samplers' position-major stacks add them, `[2d][grids]`; zeros
  /// without conditioning.
  func gateBias(for labels: [Int]?, grids: Int) throws -> [Float] {
    guard let condition = try condition(for: labels) else {
      return [Float](repeating: 0, count: verticalStack.weight.shape[0] * grids)
    }
    let channels = condition.shape[1]
    return (0..<(channels * grids)).map { p in condition.data[(p % grids) * channels + p / grids] }
  }

  /// The vertical stack's pre-activation `[B, 2d, rows, W]` (with `padding` top p, left and right p: whole grids).
  func verticalPreactivation(_ v: Tensor, padding: ConvPadding) throws -> Tensor {
    try v.conv2d(weight: allowedTaps(verticalStack.weight, axis: 2), bias: verticalStack.bias, padding: padding)
  }

  /// The horizontal stack's own pre-activation `[B, 2d, rows, columns]` (before the vertical stack's share).
  func horizontalPreactivation(_ h: Tensor, padding: ConvPadding) throws -> Tensor {
    try h.conv2d(weight: allowedTaps(horizontalStack.weight, axis: 3), bias: horizontalStack.bias, padding: padding)
  }

  /// The horizontal stack's output before the residual: `horiz_resid(tanh · σ)` of its full pre-activation `fed`
  /// (its own plus `vert_to_horiz` of the vertical one at the same positions).
  func horizontalOutput(_ fed: Tensor, condition: Tensor?) throws -> Tensor {
    try horizontalResidual(try fed.gatedActivation(condition: condition))
  }

  /// The weight's taps that the mask allows: all of them for mask B; without the last row (`axis` 2) or column
  /// (`axis` 3) for mask A.
  private func allowedTaps(_ weight: Tensor, axis: Int) throws -> Tensor {
    guard mask == .a else { return weight }
    let size = weight.shape[axis]
    return try weight.split(sizes: [size - 1, 1], axis: axis)[0]
  }

  private static func zeroMaskedTaps(_ weight: Tensor, axis: Int) {
    let (rows, columns) = (weight.shape[2], weight.shape[3])
    for start in stride(from: 0, to: weight.count, by: rows * columns) {
      for i in 0..<rows {
        for j in 0..<columns where (axis == 2 && i == rows - 1) || (axis == 3 && j == columns - 1) {
          weight.data[start + i * columns + j] = 0
        }
      }
    }
  }
}
