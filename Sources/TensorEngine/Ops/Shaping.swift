extension Tensor {
  /// The same values under another shape with the same element count; one dimension may be -1 (inferred).
  /// - Throws: `TensorError` if the counts differ.
  public func reshaped(_ newShape: [Int]) throws -> Tensor {
    var resolved = newShape
    if let inferred = newShape.firstIndex(of: -1) {
      let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
      guard newShape.filter({ $0 == -1 }).count == 1, known > 0, count % known == 0 else {
        throw TensorError("reshape: cannot infer -1 in \(newShape) for \(shape) (\(count) elements)")
      }
      resolved[inferred] = count / known
    }
    guard resolved.allSatisfy({ $0 >= 0 }), elementCount(resolved) == count else {
      throw TensorError("reshape: cannot view \(shape) (\(count) elements) as \(newShape)")
    }
    return Tensor.record(data, shape: resolved, inputs: [self]) { [self] result in accumulateGrad(result.grad!) }
  }

  /// The dimensions reordered: dimension `i` of the result is dimension `axes[i]` of this tensor.
  /// `permuted([0, 2, 3, 1])` turns NCHW into NHWC and `permuted([0, 3, 1, 2])` turns it back.
  /// - Throws: `TensorError` if `axes` is not a permutation of this tensor's dimensions.
  public func permuted(_ axes: [Int]) throws -> Tensor {
    guard axes.sorted() == Array(0..<rank) else {
      throw TensorError("permute: \(axes) is not a permutation of the \(rank) dimensions of \(shape)")
    }
    let outShape = axes.map { shape[$0] }
    var inverse = [Int](repeating: 0, count: rank)
    for (i, axis) in axes.enumerated() { inverse[axis] = i }
    let out = Tensor.permute(data, shape: shape, axes: axes)
    return Tensor.record(out, shape: outShape, inputs: [self]) { [self] result in
      accumulateGrad(Tensor.permute(result.grad!, shape: outShape, axes: inverse))
    }
  }

  /// The first two dimensions exchanged: `[N, C, H, W]` images (PyTorch's layout) to the engine's channel-major
  /// `[C, N, H, W]`, and back. Only a reshape when either dimension is 1 (gray images, a single image).
  /// - Throws: `TensorError` for tensors of rank below 2.
  public func swappingFirstTwoAxes() throws -> Tensor {
    guard rank >= 2 else { throw TensorError("swappingFirstTwoAxes: need rank >= 2, got \(shape)") }
    var swapped = shape
    swapped.swapAt(0, 1)
    if shape[0] == 1 || shape[1] == 1 { return try reshaped(swapped) }
    return try permuted([1, 0] + Array(2..<rank))
  }

  /// Copies `values` of `shape` into the order given by `axes`, walking the output with an odometer of indices.
  private static func permute(_ values: [Float], shape: [Int], axes: [Int]) -> [Float] {
    let rank = shape.count
    guard rank > 1 else { return values }
    var strides = [Int](repeating: 1, count: rank)
    for axis in stride(from: rank - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
    let outShape = axes.map { shape[$0] }
    let sourceStrides = axes.map { strides[$0] }
    let innerCount = outShape[rank - 1]
    let innerStride = sourceStrides[rank - 1]
    return uninitializedFloats(values.count) { o in
      guard o.count > 0 else { return }
      values.withUnsafeBufferPointer { x in
        var index = [Int](repeating: 0, count: rank - 1)
        var source = 0
        var target = 0
        while target < o.count {
          for j in 0..<innerCount { o[target + j] = x[source + j * innerStride] }
          target += innerCount
          // Advance the odometer over the outer dimensions.
          var axis = rank - 2
          while axis >= 0 {
            index[axis] += 1
            source += sourceStrides[axis]
            if index[axis] < outShape[axis] { break }
            source -= sourceStrides[axis] * outShape[axis]
            index[axis] = 0
            axis -= 1
          }
        }
      }
    }
  }

  /// Splits along `axis` into consecutive pieces of the given sizes (the gates' `a, b = x.chunk(2, dim=1)`).
  /// - Throws: `TensorError` if the sizes do not add up to the dimension.
  public func split(sizes: [Int], axis: Int = 1) throws -> [Tensor] {
    guard axis >= 0, axis < rank else { throw TensorError("split: axis \(axis) out of range for \(shape)") }
    guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[axis] else {
      throw TensorError("split: sizes \(sizes) do not add up to dimension \(axis) of \(shape)")
    }
    let outer = elementCount(Array(shape[..<axis]))
    let inner = elementCount(Array(shape[(axis + 1)...]))
    var offset = 0
    return sizes.map { size in
      let start = offset
      offset += size
      var pieceShape = shape
      pieceShape[axis] = size
      let chunk = size * inner
      let stride = shape[axis] * inner
      let out = uninitializedFloats(outer * chunk) { o in
        data.withUnsafeBufferPointer { x in
          for b in 0..<outer {
            for j in 0..<chunk { o[b * chunk + j] = x[b * stride + start * inner + j] }
          }
        }
      }
      return Tensor.record(out, shape: pieceShape, inputs: [self]) { [self] result in
        let g = result.grad!
        accumulateGrad { d in
          for b in 0..<outer {
            for j in 0..<chunk { d[b * stride + start * inner + j] += g[b * chunk + j] }
          }
        }
      }
    }
  }

  /// Joins tensors along `axis` (channels by default); all other dimensions must agree.
  /// - Throws: `TensorError` on an empty list or mismatched shapes.
  public static func concatenate(_ tensors: [Tensor], axis: Int = 1) throws -> Tensor {
    guard let first = tensors.first else { throw TensorError("concatenate: no tensors") }
    guard axis >= 0, axis < first.rank else { throw TensorError("concatenate: axis \(axis) out of range") }
    for t in tensors {
      var a = t.shape
      var b = first.shape
      guard a.count == b.count else { throw TensorError("concatenate: ranks differ: \(t.shape) and \(first.shape)") }
      a[axis] = 0
      b[axis] = 0
      guard a == b else {
        throw TensorError("concatenate: shapes \(t.shape) and \(first.shape) differ off axis \(axis)")
      }
    }
    let outer = elementCount(Array(first.shape[..<axis]))
    let inner = elementCount(Array(first.shape[(axis + 1)...]))
    var outShape = first.shape
    outShape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
    let stride = outShape[axis] * inner
    var offsets: [Int] = []
    var offset = 0
    for t in tensors {
      offsets.append(offset)
      offset += t.shape[axis] * inner
    }
    let out = uninitializedFloats(outer * stride) { o in
      for (t, start) in zip(tensors, offsets) {
        let chunk = t.shape[axis] * inner
        t.data.withUnsafeBufferPointer { x in
          for b in 0..<outer {
            for j in 0..<chunk { o[b * stride + start + j] = x[b * chunk + j] }
          }
        }
      }
    }
    return record(out, shape: outShape, inputs: tensors) { result in
      let g = result.grad!
      for (t, start) in zip(tensors, offsets) where t.requiresGrad {
        let chunk = t.shape[axis] * inner
        t.accumulateGrad { d in
          for b in 0..<outer {
            for j in 0..<chunk { d[b * chunk + j] += g[b * stride + start + j] }
          }
        }
      }
    }
  }
}
