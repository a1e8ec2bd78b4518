import TensorEngine

/// The encoder: `downsamples` stride-2 4x4 convolutions (in -> h/2 ... h/2 -> h, each followed by ReLU), a 3x3
/// convolution and a residual stack; an image of H x W becomes an (H / 2^downsamples) x (W / 2^downsamples) map of h
/// channels (32x32 -> 8x8 with the classic two). Names follow PyTorch's `conv_stack` Sequential.
public final class Encoder: Module {
  /// The stride-2 stages, outermost first.
  public let downsampling: [Conv2D]
  public let conv: Conv2D
  public let residualStack: ResidualStack

  public init(_ config: VQVAEConfiguration, rng: inout RandomGenerator) {
    let (h, stages) = (config.hiddens, config.downsamples)
    downsampling = (0..<stages).map { stage in
      Conv2D(
        stage == 0 ? config.inChannels : h / 2, stage == stages - 1 ? h : h / 2, kernelSize: 4, stride: 2,
        padding: 1, rng: &rng)
    }
    conv = Conv2D(h, h, kernelSize: 3, padding: 1, rng: &rng)
    residualStack = ResidualStack(
      channels: h, hiddens: config.residualHiddens, count: config.residualLayers, rng: &rng)
  }

  /// `conv_stack.<i>`: each convolution is followed by a ReLU, which holds the next index.
  public var namedParameters: [(name: String, tensor: Tensor)] {
    let stages = downsampling.count
    return downsampling.enumerated().flatMap { prefixed("conv_stack.\(2 * $0.offset)", $0.element.namedParameters) }
      + prefixed("conv_stack.\(2 * stages)", conv.namedParameters)
      + prefixed("conv_stack.\(2 * stages + 1)", residualStack.namedParameters)
  }

  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    var h = x
    for stage in downsampling { h = try stage(h).reluInPlace() }
    return try residualStack(try conv(h))
  }
}
