/// An error raised by a tensor operation or file: it names the operation (or file) and the shapes or fields involved.
public struct TensorError: Error, CustomStringConvertible, Equatable {
  /// What went wrong, starting with the operation's name.
  public let message: String

  /// Creates an error with the given message.
  public init(_ message: String) { self.message = message }

  public var description: String { message }
}

/// A dense, contiguous Float32 tensor (row-major, NCHW for images) that can take part in reverse-mode autodiff.
///
/// Every operation that has an input with `requiresGrad` set, while gradients are recorded (see `withoutGrad`),
/// returns a tensor that remembers its inputs and a closure that propagates its gradient to them. `backward()`
/// walks that graph in reverse topological order.
public final class Tensor {
  /// The size of each dimension; `[]` is a scalar.
  public let shape: [Int]
  /// The values, in row-major order; `data.count == shape.reduce(1, *)`.
  public var data: [Float]
  /// The gradient of the last `backward()` with respect to this tensor, accumulated; `nil` until one arrives.
  public var grad: [Float]?
  /// Whether gradients flow to (and through) this tensor.
  public let requiresGrad: Bool
  /// Keep `grad` on this intermediate tensor after `backward()` (leaves always keep theirs).
  public var retainsGrad = false

  /// The tensors this one was computed from, and how to pass its gradient on to them; empty for leaves.
  var inputs: [Tensor] = []
  var backwardFunction: ((Tensor) -> Void)?
  /// Set once `backward()` has run through this (non-leaf) tensor and dropped its inputs.
  var graphReleased = false

  /// Creates a tensor from values in row-major order.
  /// - Throws: `TensorError` if the count of `data` does not match `shape`.
  public init(_ data: [Float], shape: [Int], requiresGrad: Bool = false) throws {
    guard shape.allSatisfy({ $0 >= 0 }) else { throw TensorError("Tensor: negative dimension in shape \(shape)") }
    guard data.count == shape.reduce(1, *) else {
      throw TensorError("Tensor: \(data.count) values do not fill shape \(shape) (\(shape.reduce(1, *)) elements)")
    }
    self.shape = shape
    self.data = data
    self.requiresGrad = requiresGrad
  }

  /// Creates a tensor without checking the count; for operations that compute their own output shapes.
  init(unchecked data: [Float], shape: [Int], requiresGrad: Bool = false) {
    self.shape = shape
    self.data = data
    self.requiresGrad = requiresGrad
  }

  /// A tensor of zeros.
  public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
    self.init(unchecked: [Float](repeating: 0, count: shape.reduce(1, *)), shape: shape, requiresGrad: requiresGrad)
  }

  /// A scalar tensor (shape `[]`).
  public convenience init(scalar: Float, requiresGrad: Bool = false) {
    self.init(unchecked: [scalar], shape: [], requiresGrad: requiresGrad)
  }

  /// The number of elements.
  public var count: Int { data.count }
  /// The number of dimensions.
  public var rank: Int { shape.count }
  /// The value of a one-element tensor.
  public var scalarValue: Float { data[0] }

  /// The same values, cut off from the graph: no gradient flows through it (the paper's stop-gradient, sg[x]).
  public func detached() -> Tensor { Tensor(unchecked: data, shape: shape) }

  /// Records the result of an operation: when gradients are on and an input requires them, the result remembers
  /// its inputs and `backward`, which receives the result (whose `grad` is set) and accumulates into the inputs.
  static func record(
    _ data: [Float], shape: [Int], inputs: [Tensor], backward: @escaping (Tensor) -> Void
  ) -> Tensor {
    let needsGrad = GradMode.isEnabled && inputs.contains { $0.requiresGrad }
    let result = Tensor(unchecked: data, shape: shape, requiresGrad: needsGrad)
    if needsGrad {
      result.inputs = inputs
      result.backwardFunction = backward
    }
    return result
  }

  /// Adds `gradient` to `grad` (taking it over when there is none yet); ignored unless this tensor requires grad.
  func accumulateGrad(_ gradient: [Float]) {
    guard requiresGrad else { return }
    if grad == nil {
      grad = gradient
      return
    }
    grad!.withUnsafeMutableBufferPointer { g in
      gradient.withUnsafeBufferPointer { d in
        parallelChunks(g.count, grain: parallelGrain) { range in
          for i in range { g[i] += d[i] }
        }
      }
    }
  }

  /// Gives `body` the gradient buffer to accumulate into, zero-filled if this is the first gradient to arrive.
  func accumulateGrad(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
    guard requiresGrad else { return }
    if grad == nil { grad = [Float](repeating: 0, count: count) }
    grad!.withUnsafeMutableBufferPointer { body($0) }
  }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    let preview = data.prefix(8).map { String($0) }.joined(separator: ", ")
    return "Tensor(shape: \(shape), data: [\(preview)\(count > 8 ? ", ..." : "")])"
  }
}

/// The element count of a shape.
@inline(__always) func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// An array of `count` floats whose every element `body` writes (no zero-filling first).
@inline(__always)
func uninitializedFloats(_ count: Int, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
  [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
    body(buffer)
    initialized = count
  }
}
