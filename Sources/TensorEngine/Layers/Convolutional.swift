/// A 2-D convolution layer with PyTorch's `nn.Conv2d` parameters (`weight` `[out, in, kh, kw]`, `bias` `[out]`)
/// and default initialisation.
public final class Conv2D: Module {
  public let weight: Parameter
  public let bias: Parameter?
  public let stride: (Int, Int)
  public let padding: (Int, Int)

  /// - Parameters:
  ///   - inChannels: channels of the input.
  ///   - outChannels: channels of the output (number of filters).
  ///   - kernelSize: kernel height and width.
  ///   - stride: step between kernel positions.
  ///   - padding: zeros added on each side.
  ///   - bias: whether to add a learned per-channel bias.
  ///   - rng: the generator that draws the initial weights.
  public init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0), bias: Bool = true, rng: inout RandomGenerator
  ) {
    precondition(inChannels > 0 && outChannels > 0 && kernelSize.0 > 0 && kernelSize.1 > 0, "Conv2D: sizes must be > 0")
    let fanIn = inChannels * kernelSize.0 * kernelSize.1
    weight = kaimingUniformParameter([outChannels, inChannels, kernelSize.0, kernelSize.1], fanIn: fanIn, using: &rng)
    self.bias = bias ? kaimingUniformParameter([outChannels], fanIn: fanIn, using: &rng) : nil
    self.stride = stride
    self.padding = padding
  }

  /// A square kernel with the same stride and padding on both axes.
  public convenience init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
    rng: inout RandomGenerator
  ) {
    self.init(
      inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
      padding: (padding, padding), bias: bias, rng: &rng)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
  }

  /// Convolves `input` (`[N, in, H, W]`).
  public func callAsFunction(_ input: Tensor) throws -> Tensor {
    try input.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
  }
}

/// A 2-D transposed convolution layer with PyTorch's `nn.ConvTranspose2d` parameters (`weight`
/// `[in, out, kh, kw]`, `bias` `[out]`) and default initialisation (whose fan-in is `out · kh · kw`).
public final class ConvTranspose2D: Module {
  public let weight: Parameter
  public let bias: Parameter?
  public let stride: (Int, Int)
  public let padding: (Int, Int)

  /// - Parameters: as `Conv2D`'s; the output is `(H - 1) · stride - 2 · padding + kernel` high.
  public init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0), bias: Bool = true, rng: inout RandomGenerator
  ) {
    precondition(
      inChannels > 0 && outChannels > 0 && kernelSize.0 > 0 && kernelSize.1 > 0, "ConvTranspose2D: sizes must be > 0")
    // PyTorch computes the fan-in from dimension 1 of the weight, which for a transposed conv is `out`.
    let fanIn = outChannels * kernelSize.0 * kernelSize.1
    weight = kaimingUniformParameter([inChannels, outChannels, kernelSize.0, kernelSize.1], fanIn: fanIn, using: &rng)
    self.bias = bias ? kaimingUniformParameter([outChannels], fanIn: fanIn, using: &rng) : nil
    self.stride = stride
    self.padding = padding
  }

  /// A square kernel with the same stride and padding on both axes.
  public convenience init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
    rng: inout RandomGenerator
  ) {
    self.init(
      inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
      padding: (padding, padding), bias: bias, rng: &rng)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
  }

  /// Applies the transposed convolution to `input` (`[N, in, H, W]`).
  public func callAsFunction(_ input: Tensor) throws -> Tensor {
    try input.convTranspose2d(weight: weight, bias: bias, stride: stride, padding: padding)
  }
}
