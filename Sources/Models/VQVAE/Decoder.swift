import TensorEngine

/// The decoder, the encoder's mirror: a 3x3 transposed convolution (D -> h), a residual stack, then two stride-2
/// 4x4 transposed convolutions (h -> h/2 -> image channels) with a ReLU between. Names follow PyTorch's
/// `inverse_conv_stack`.
public final class Decoder: Module {
  public let conv: ConvTranspose2D
  public let residualStack: ResidualStack
  public let up1: ConvTranspose2D
  public let up2: ConvTranspose2D

  public init(_ config: VQVAEConfiguration, rng: inout RandomGenerator) {
    let h = config.hiddens
    conv = ConvTranspose2D(config.embeddingDim, h, kernelSize: 3, padding: 1, rng: &rng)
    residualStack = ResidualStack(
      channels: h, hiddens: config.residualHiddens, count: config.residualLayers, rng: &rng)
    up1 = ConvTranspose2D(h, h / 2, kernelSize: 4, stride: 2, padding: 1, rng: &rng)
    up2 = ConvTranspose2D(h / 2, config.inChannels, kernelSize: 4, stride: 2, padding: 1, rng: &rng)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("inverse_conv_stack.0", conv.namedParameters)
      + prefixed("inverse_conv_stack.1", residualStack.namedParameters)
      + prefixed("inverse_conv_stack.2", up1.namedParameters) + prefixed("inverse_conv_stack.4", up2.namedParameters)
  }

  public func callAsFunction(_ z: Tensor) throws -> Tensor {
    let h = try residualStack(try conv(z))
    return try up2(try up1(h).relu())
  }
}
