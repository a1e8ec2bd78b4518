import Foundation

/// Adam (Kingma & Ba) with PyTorch's `torch.optim.Adam` semantics, including `amsgrad` and L2 `weightDecay`, or,
/// with `decoupledWeightDecay`, `torch.optim.AdamW`'s (see `Adam.adamW`). Its moment estimates are exposed by name so
/// a checkpoint can carry them and a resumed run continue exactly.
public final class Adam {
  /// The parameters being optimised, by name.
  public let parameters: [(name: String, tensor: Tensor)]
  public var learningRate: Float
  public let beta1: Float
  public let beta2: Float
  public let epsilon: Float
  public let weightDecay: Float
  /// Whether the weight decay shrinks the parameters directly (AdamW, Loshchilov & Hutter) instead of adding an L2
  /// term to the gradient, where Adam's scaling would weaken it for parameters with large gradients.
  public let decoupledWeightDecay: Bool
  /// The parameters that are not decayed (PyTorch's second parameter group with `weight_decay` 0): for a
  /// transformer, its biases, norms and embeddings.
  public let exemptFromWeightDecay: Set<String>
  public let amsgrad: Bool
  /// Steps taken so far (PyTorch's `state['step']`).
  public private(set) var step = 0

  private var firstMoments: [[Float]]
  private var secondMoments: [[Float]]
  private var maxSecondMoments: [[Float]]

  /// - Parameters:
  ///   - parameters: named parameters, usually a module's `namedParameters`.
  ///   - learningRate: step size (PyTorch's `lr`).
  ///   - betas: decay of the first and second moment estimates.
  ///   - epsilon: added to the denominator for stability.
  ///   - weightDecay: L2 penalty added to the gradient, or with `decoupledWeightDecay` the fraction
  ///     `learningRate · weightDecay` taken off every parameter each step.
  ///   - decoupledWeightDecay: decay the parameters directly, as AdamW.
  ///   - exemptFromWeightDecay: names of parameters that are not decayed.
  ///   - amsgrad: use the maximum of past second moments (Reddi et al.).
  public init(
    parameters: [(name: String, tensor: Tensor)], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
    epsilon: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false,
    exemptFromWeightDecay: Set<String> = [], amsgrad: Bool = false
  ) {
    self.parameters = parameters
    self.learningRate = learningRate
    (beta1, beta2) = betas
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    self.decoupledWeightDecay = decoupledWeightDecay
    self.exemptFromWeightDecay = exemptFromWeightDecay
    self.amsgrad = amsgrad
    let zeros = parameters.map { [Float](repeating: 0, count: $0.tensor.count) }
    firstMoments = zeros
    secondMoments = zeros
    maxSecondMoments = amsgrad ? zeros : parameters.map { _ in [] }
  }

  /// Clears the gradients of all parameters.
  public func zeroGrad() {
    for p in parameters { p.tensor.grad = nil }
  }

  /// Applies one update from the current gradients; parameters without a gradient are left alone.
  public func update() {
    step += 1
    let t = Double(step)
    let stepSize = Float(Double(learningRate) / (1 - Foundation.pow(Double(beta1), t)))
    let correction2 = Float((1 - Foundation.pow(Double(beta2), t)).squareRoot())
    let (beta1, beta2, epsilon, amsgrad) = (beta1, beta2, epsilon, amsgrad)
    // One of the two decays is in effect: L2 in the gradient (Adam) or a shrinking of the parameter (AdamW).
    let decay = (
      l2: decoupledWeightDecay ? 0 : weightDecay, shrink: decoupledWeightDecay ? 1 - learningRate * weightDecay : 1
    )
    for (index, parameter) in parameters.enumerated() {
      guard let grad = parameter.tensor.grad else { continue }
      let (l2, shrink) = exemptFromWeightDecay.contains(parameter.name) ? (0, 1) : decay
      grad.withUnsafeBufferPointer { g in
        parameter.tensor.data.withUnsafeMutableBufferPointer { p in
          firstMoments[index].withUnsafeMutableBufferPointer { m in
            secondMoments[index].withUnsafeMutableBufferPointer { v in
              maxSecondMoments[index].withUnsafeMutableBufferPointer { vMax in
                parallelChunks(p.count, grain: parallelGrain) { range in
                  // Eight values at a time, then the rest one by one: the same operations on each value (the
                  // scalar loop was not vectorised, and its square root and two divisions dominated).
                  let whole = range.lowerBound + range.count / 8 * 8
                  for i in stride(from: range.lowerBound, to: whole, by: 8) {
                    let moments = Self.step(
                      parameter: loadEight(p.baseAddress! + i), gradient: loadEight(g.baseAddress! + i),
                      first: loadEight(m.baseAddress! + i), second: loadEight(v.baseAddress! + i),
                      maxSecond: amsgrad ? loadEight(vMax.baseAddress! + i) : nil, shrink: shrink, l2: l2, beta1: beta1,
                      beta2: beta2, stepSize: stepSize, correction2: correction2, epsilon: epsilon)
                    storeEight(moments.parameter, p.baseAddress! + i)
                    storeEight(moments.first, m.baseAddress! + i)
                    storeEight(moments.second, v.baseAddress! + i)
                    if let maxSecond = moments.maxSecond { storeEight(maxSecond, vMax.baseAddress! + i) }
                  }
                  for i in whole..<range.upperBound {
                    let moments = Self.step(
                      parameter: SIMD8(repeating: p[i]), gradient: SIMD8(repeating: g[i]),
                      first: SIMD8(repeating: m[i]), second: SIMD8(repeating: v[i]),
                      maxSecond: amsgrad ? SIMD8(repeating: vMax[i]) : nil, shrink: shrink, l2: l2, beta1: beta1,
                      beta2: beta2, stepSize: stepSize, correction2: correction2, epsilon: epsilon)
                    (p[i], m[i], v[i]) = (moments.parameter[0], moments.first[0], moments.second[0])
                    if let maxSecond = moments.maxSecond { vMax[i] = maxSecond[0] }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// One update of eight parameters and their moments (`maxSecond` with amsgrad): PyTorch's arithmetic, value by
  /// value.
  @inline(__always)
  private static func step(
    parameter: SIMD8<Float>, gradient: SIMD8<Float>, first: SIMD8<Float>, second: SIMD8<Float>,
    maxSecond: SIMD8<Float>?, shrink: Float, l2: Float, beta1: Float, beta2: Float, stepSize: Float,
    correction2: Float, epsilon: Float
  ) -> (parameter: SIMD8<Float>, first: SIMD8<Float>, second: SIMD8<Float>, maxSecond: SIMD8<Float>?) {
    let shrunk = parameter * shrink
    let gradient = gradient + l2 * shrunk
    let first = first + (1 - beta1) * (gradient - first)  // torch's lerp_ form
    let second = beta2 * second + (1 - beta2) * gradient * gradient
    let maxSecond = maxSecond.map { pointwiseMax($0, second) }
    let denominator = (maxSecond ?? second).squareRoot() / correction2 + epsilon
    return (shrunk - stepSize * first / denominator, first, second, maxSecond)
  }

  /// The optimiser's state as named arrays (`<param>.exp_avg`, `<param>.exp_avg_sq`, `<param>.max_exp_avg_sq`,
  /// PyTorch's names) plus the step, for checkpoints.
  public var state: (step: Int, moments: [(name: String, values: [Float])]) {
    var moments: [(name: String, values: [Float])] = []
    for (index, parameter) in parameters.enumerated() {
      moments.append(("\(parameter.name).exp_avg", firstMoments[index]))
      moments.append(("\(parameter.name).exp_avg_sq", secondMoments[index]))
      if amsgrad { moments.append(("\(parameter.name).max_exp_avg_sq", maxSecondMoments[index])) }
    }
    return (step, moments)
  }

  /// Restores a state saved from `state`.
  /// - Throws: `TensorError` naming the first moment that is missing or has the wrong size.
  public func restore(step: Int, moments: [String: [Float]]) throws {
    func moment(_ name: String, count: Int) throws -> [Float] {
      guard let values = moments[name] else { throw TensorError("Adam.restore: missing optimiser state '\(name)'") }
      guard values.count == count else {
        throw TensorError("Adam.restore: '\(name)' has \(values.count) values, the parameter has \(count)")
      }
      return values
    }
    for (index, parameter) in parameters.enumerated() {
      firstMoments[index] = try moment("\(parameter.name).exp_avg", count: parameter.tensor.count)
      secondMoments[index] = try moment("\(parameter.name).exp_avg_sq", count: parameter.tensor.count)
      if amsgrad {
        maxSecondMoments[index] = try moment("\(parameter.name).max_exp_avg_sq", count: parameter.tensor.count)
      }
    }
    self.step = step
  }
}

/// Scales all gradients down so that their joint L2 norm is at most `maxNorm` (PyTorch's `clip_grad_norm_`, with
/// its 1e-6 guard). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
  var squares = 0.0
  for p in parameters {
    guard let g = p.grad else { continue }
    for value in g { squares += Double(value) * Double(value) }
  }
  let norm = Float(squares.squareRoot())
  let coefficient = maxNorm / (norm + 1e-6)
  if coefficient < 1 {
    for p in parameters where p.grad != nil {
      p.grad = p.grad!.map { $0 * coefficient }
    }
  }
  return norm
}
