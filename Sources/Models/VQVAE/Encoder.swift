import TensorEngine

/// The encoder: two stride-2 4x4 convolutions (in -> h/2 -> h, each followed by ReLU), a 3x3 convolution and a
/// residual stack; a 32x32 image becomes an 8x8 map of h channels. Names follow PyTorch's `conv_stack`.
public final class Encoder: Module {
  public let down1: Conv2D
  public let down2: Conv2D
  public let conv: Conv2D
  public let residualStack: ResidualStack

  public init(_ config: VQVAEConfiguration, rng: inout RandomGenerator) {
    let h = config.hiddens
    down1 = Conv2D(config.inChannels, h / 2, kernelSize: 4, stride: 2, padding: 1, rng: &rng)
    down2 = Conv2D(h / 2, h, kernelSize: 4, stride: 2, padding: 1, rng: &rng)
    conv = Conv2D(h, h, kernelSize: 3, padding: 1, rng: &rng)
    residualStack = ResidualStack(
      channels: h, hiddens: config.residualHiddens, count: config.residualLayers, rng: &rng)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("conv_stack.0", down1.namedParameters) + prefixed("conv_stack.2", down2.namedParameters)
      + prefixed("conv_stack.4", conv.namedParameters) + prefixed("conv_stack.5", residualStack.namedParameters)
  }

  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    let h = try down2(try down1(x).relu()).relu()
    return try residualStack(try conv(h))
  }
}
