import TensorEngine

/// One residual layer: `x + conv1x1(relu(conv3x3(relu(x))))`, both convolutions without bias
/// (PyTorch: `res_block = Sequential(ReLU, Conv2d 3x3, ReLU, Conv2d 1x1)`).
public final class ResidualLayer: Module {
  public let conv3x3: Conv2D
  public let conv1x1: Conv2D

  public init(channels: Int, hiddens: Int, rng: inout RandomGenerator) {
    conv3x3 = Conv2D(channels, hiddens, kernelSize: 3, padding: 1, bias: false, rng: &rng)
    conv1x1 = Conv2D(hiddens, channels, kernelSize: 1, bias: false, rng: &rng)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("res_block.1", conv3x3.namedParameters) + prefixed("res_block.3", conv1x1.namedParameters)
  }

  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    try x + conv1x1(try conv3x3(x.relu()).reluInPlace())
  }
}

/// A stack of residual layers, each with its own weights, ending with a ReLU.
public final class ResidualStack: Module {
  public let layers: [ResidualLayer]

  public init(channels: Int, hiddens: Int, count: Int, rng: inout RandomGenerator) {
    layers = (0..<count).map { _ in ResidualLayer(channels: channels, hiddens: hiddens, rng: &rng) }
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    layers.enumerated().flatMap { prefixed("stack.\($0.offset)", $0.element.namedParameters) }
  }

  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    // The last layer's output is a fresh sum that only the ReLU reads; with no layers it is the caller's input.
    let h = try layers.reduce(x) { try $1($0) }
    return layers.isEmpty ? h.relu() : h.reluInPlace()
  }
}
