import TensorEngine

/// The decoder, the encoder's mirror: a 3x3 transposed convolution (D -> h), a residual stack, then `downsamples`
/// stride-2 4x4 transposed convolutions (h -> h/2 ... h/2 -> image channels) with a ReLU between each two. Names
/// follow PyTorch's `inverse_conv_stack` Sequential.
public final class Decoder: Module {
  public let conv: ConvTranspose2D
  public let residualStack: ResidualStack
  /// The stride-2 stages, innermost first.
  public let upsampling: [ConvTranspose2D]

  public init(_ config: VQVAEConfiguration, rng: inout RandomGenerator) {
    let (h, stages) = (config.hiddens, config.downsamples)
    conv = ConvTranspose2D(config.embeddingDim, h, kernelSize: 3, padding: 1, rng: &rng)
    residualStack = ResidualStack(
      channels: h, hiddens: config.residualHiddens, count: config.residualLayers, rng: &rng)
    upsampling = (0..<stages).map { stage in
      ConvTranspose2D(
        stage == 0 ? h : h / 2, stage == stages - 1 ? config.inChannels : h / 2, kernelSize: 4, stride: 2,
        padding: 1, rng: &rng)
    }
  }

  /// `inverse_conv_stack.<i>`: the stride-2 stages start at 2, each but the last followed by a ReLU.
  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("inverse_conv_stack.0", conv.namedParameters)
      + prefixed("inverse_conv_stack.1", residualStack.namedParameters)
      + upsampling.enumerated().flatMap {
        prefixed("inverse_conv_stack.\(2 + 2 * $0.offset)", $0.element.namedParameters)
      }
  }

  public func callAsFunction(_ z: Tensor) throws -> Tensor {
    var h = try residualStack(try conv(z))
    for (stage, layer) in upsampling.enumerated() {
      h = try layer(h)
      if stage < upsampling.count - 1 { h = h.reluInPlace() }
    }
    return h
  }
}
