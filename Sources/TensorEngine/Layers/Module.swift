/// A trainable parameter: a leaf tensor that requires gradients.
public typealias Parameter = Tensor

/// Something with parameters that have stable, dotted names (`encoder.conv_stack.0.weight`), the names PyTorch's
/// `state_dict` would give them, so checkpoints load in either framework.
public protocol Module: AnyObject {
  /// The parameters, named relative to this module, in a fixed order.
  var namedParameters: [(name: String, tensor: Tensor)] { get }
}

extension Module {
  /// The parameters in `namedParameters` order.
  public var parameters: [Tensor] { namedParameters.map(\.tensor) }

  /// The number of trainable values.
  public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.tensor.count } }

  /// Clears every parameter's gradient.
  public func zeroGrad() {
    for p in parameters { p.grad = nil }
  }

  /// Overwrites the parameters with same-named, same-shaped values from `values`.
  /// - Throws: `TensorError` naming the first parameter that is missing or has another shape.
  public func load(_ values: [String: (shape: [Int], data: [Float])]) throws {
    for (name, tensor) in namedParameters {
      guard let value = values[name] else { throw TensorError("load: missing parameter '\(name)'") }
      guard value.shape == tensor.shape else {
        throw TensorError("load: parameter '\(name)' has shape \(value.shape), the model expects \(tensor.shape)")
      }
      tensor.data = value.data
    }
  }
}

extension Module {
  /// Overwrites the parameters with the same-named F32 tensors of a safetensors file.
  /// - Throws: `TensorError` naming the first parameter that is missing or has another shape.
  public func load(from file: SafeTensors) throws {
    var values: [String: (shape: [Int], data: [Float])] = [:]
    for (name, _) in namedParameters {
      guard let entry = file.entry(name) else { throw TensorError("load: missing parameter '\(name)'") }
      values[name] = (entry.shape, try file.floats(name))
    }
    try load(values)
  }
}

/// Prefixes names with a module path: `prefixed("encoder", conv.namedParameters)` gives `encoder.weight`, ...
public func prefixed(_ prefix: String, _ parameters: [(name: String, tensor: Tensor)]) -> [(
  name: String, tensor: Tensor
)] {
  parameters.map { (name: "\(prefix).\($0.name)", tensor: $0.tensor) }
}

/// PyTorch's default initialisation of conv and linear layers: kaiming-uniform with a = √5, which is
/// uniform(±1/√fanIn) for the weight, and uniform(±1/√fanIn) for the bias.
func kaimingUniformParameter(_ shape: [Int], fanIn: Int, using rng: inout RandomGenerator) -> Parameter {
  let bound = 1 / Float(fanIn).squareRoot()
  return Parameter(
    unchecked: rng.uniformArray(elementCount(shape), in: -bound..<bound), shape: shape, requiresGrad: true)
}
