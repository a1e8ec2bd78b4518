/// The elementwise binary operations, with broadcasting of one operand (see `Broadcast`).
enum BinaryOperation: String {
  case add = "add"
  case subtract = "subtract"
  case multiply = "multiply"

  @inline(__always) func apply(_ a: Float, _ b: Float) -> Float {
    switch self {
    case .add: return a + b
    case .subtract: return a - b
    case .multiply: return a * b
    }
  }
}

extension Tensor {
  /// `lhs op rhs`, where one of the two may be smaller and broadcast over the other.
  static func binary(_ lhs: Tensor, _ rhs: Tensor, _ operation: BinaryOperation) throws -> Tensor {
    if lhs.shape == rhs.shape { return sameShape(lhs, rhs, operation) }
    let lhsIsFull = elementCount(lhs.shape) >= elementCount(rhs.shape) && lhs.rank >= rhs.rank
    let (full, small) = lhsIsFull ? (lhs, rhs) : (rhs, lhs)
    let plan = try Broadcast(small.shape, over: full.shape, op: operation.rawValue)
    let out = uninitializedFloats(full.count) { o in
      full.data.withUnsafeBufferPointer { f in
        small.data.withUnsafeBufferPointer { s in
          if plan.inner == 1 {
            // A row vector over rows (a bias over [N, D]): one loop along each row, with the operation chosen
            // outside it, so that it vectorises.
            for outer in 0..<plan.outer {
              let row = outer * plan.middle
              switch (operation, lhsIsFull) {
              case (.add, _): for m in 0..<plan.middle { o[row + m] = f[row + m] + s[m] }
              case (.multiply, _): for m in 0..<plan.middle { o[row + m] = f[row + m] * s[m] }
              case (.subtract, true): for m in 0..<plan.middle { o[row + m] = f[row + m] - s[m] }
              case (.subtract, false): for m in 0..<plan.middle { o[row + m] = s[m] - f[row + m] }
              }
            }
            return
          }
          for outer in 0..<plan.outer {
            for m in 0..<plan.middle {
              let base = (outer * plan.middle + m) * plan.inner
              let value = s[m]
              for i in 0..<plan.inner {
                o[base + i] = lhsIsFull ? operation.apply(f[base + i], value) : operation.apply(value, f[base + i])
              }
            }
          }
        }
      }
    }
    return record(out, shape: full.shape, inputs: [lhs, rhs]) { result in
      let g = result.grad!
      let fullSign: Float = (operation == .subtract && !lhsIsFull) ? -1 : 1
      let smallSign: Float = (operation == .subtract && lhsIsFull) ? -1 : 1
      g.withUnsafeBufferPointer { gp in
        if full.requiresGrad {
          switch operation {
          case .add, .subtract:
            full.accumulateGrad(fullSign == 1 ? g : g.map { -$0 })
          case .multiply:
            full.accumulateGrad { fg in
              small.data.withUnsafeBufferPointer { s in
                for outer in 0..<plan.outer {
                  for m in 0..<plan.middle {
                    let base = (outer * plan.middle + m) * plan.inner
                    for i in 0..<plan.inner { fg[base + i] += gp[base + i] * s[m] }
                  }
                }
              }
            }
          }
        }
        if small.requiresGrad {
          var reduced: [Float]
          if operation == .multiply {
            reduced = full.data.withUnsafeBufferPointer { plan.reduce(gp, weightedBy: $0) }
          } else {
            reduced = plan.reduce(gp, weightedBy: nil)
          }
          if smallSign != 1 { reduced = reduced.map { -$0 } }
          small.accumulateGrad(reduced)
        }
      }
    }
  }

  /// The common case of equal shapes, kept as plain loops the compiler vectorises.
  private static func sameShape(_ lhs: Tensor, _ rhs: Tensor, _ operation: BinaryOperation) -> Tensor {
    let out = uninitializedFloats(lhs.count) { o in
      lhs.data.withUnsafeBufferPointer { a in
        rhs.data.withUnsafeBufferPointer { b in
          parallelChunks(o.count, grain: parallelGrain) { range in
            switch operation {
            case .add: for i in range { o[i] = a[i] + b[i] }
            case .subtract: for i in range { o[i] = a[i] - b[i] }
            case .multiply: for i in range { o[i] = a[i] * b[i] }
            }
          }
        }
      }
    }
    return record(out, shape: lhs.shape, inputs: [lhs, rhs]) { result in
      let g = result.grad!
      /// Adds `g · factor` (or `-g` without one) into `target`'s gradient.
      func accumulate(_ target: Tensor, times factor: Tensor?) {
        target.accumulateGrad { d in
          g.withUnsafeBufferPointer { gp in
            withOptionalPointer(factor?.data) { f in
              parallelChunks(d.count, grain: parallelGrain) { range in
                if let f {
                  for i in range { d[i] += gp[i] * f[i] }
                } else {
                  for i in range { d[i] -= gp[i] }
                }
              }
            }
          }
        }
      }
      switch operation {
      case .add:
        lhs.accumulateGrad(g)
        rhs.accumulateGrad(g)
      case .subtract:
        lhs.accumulateGrad(g)
        if rhs.requiresGrad { accumulate(rhs, times: nil) }
      case .multiply:
        if lhs.requiresGrad { accumulate(lhs, times: rhs) }
        if rhs.requiresGrad { accumulate(rhs, times: lhs) }
      }
    }
  }

  /// `self * scale + shift` elementwise, for the scalar operators.
  func affine(scale: Float, shift: Float) -> Tensor {
    let out = uninitializedFloats(count) { o in
      data.withUnsafeBufferPointer { x in
        parallelChunks(o.count, grain: parallelGrain) { range in
          for i in range { o[i] = x[i] * scale + shift }
        }
      }
    }
    return Tensor.record(out, shape: shape, inputs: [self]) { [self] result in
      accumulateGrad(scale == 1 ? result.grad! : result.grad!.map { $0 * scale })
    }
  }
}

/// Elementwise sum; one operand may broadcast over the other. - Throws: `TensorError` on incompatible shapes.
public func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Tensor.binary(lhs, rhs, .add) }
/// Elementwise difference; one operand may broadcast over the other. - Throws: `TensorError` on incompatible shapes.
public func - (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Tensor.binary(lhs, rhs, .subtract) }
/// Elementwise product; one operand may broadcast over the other. - Throws: `TensorError` on incompatible shapes.
public func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try Tensor.binary(lhs, rhs, .multiply) }

/// Adds a constant to every element.
public func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1, shift: rhs) }
/// Subtracts a constant from every element.
public func - (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1, shift: -rhs) }
/// Multiplies every element by a constant.
public func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: rhs, shift: 0) }
/// Multiplies every element by a constant.
public func * (lhs: Float, rhs: Tensor) -> Tensor { rhs.affine(scale: lhs, shift: 0) }
/// Divides every element by a constant.
public func / (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1 / rhs, shift: 0) }
/// Negates every element.
public prefix func - (operand: Tensor) -> Tensor { operand.affine(scale: -1, shift: 0) }
