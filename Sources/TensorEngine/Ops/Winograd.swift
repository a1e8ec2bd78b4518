/// A value of 4 neighbouring tiles, one per lane (for the filter: of 4 columns).
private typealias Lanes = SIMD4<Float>

/// Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
/// 2016) for stride-1 3x3 convolutions. Each 2x2 block of outputs (a tile) comes from the 4x4 block of inputs
/// around it: the block is transformed to Bᵀ·d·B, multiplied position by position with the transformed filter
/// G·g·Gᵀ, summed over input channels, and brought back by Aᵀ·m·A. The sum over channels at each of the 16
/// positions is one GEMM, `[out, in] x [in, tiles]`: 16 multiply-adds per tile and channel pair where the im2col GEMM
/// needs 36. The transforms take 4 horizontally neighbouring tiles at a time, one per SIMD lane.
struct WinogradConvolution {
  let channels: Int
  let outChannels: Int
  let batch: Int
  let height: Int
  let width: Int
  let paddingTop: Int
  let paddingLeft: Int
  let outputHeight: Int
  let outputWidth: Int

  /// The transformed domain's 16 positions ξ = 4·row + column; each is one GEMM.
  private static let positions = 16

  /// Whether F(2x2, 3x3) pays off for this convolution: a 3x3 kernel at stride 1, padding that only adds zeros, and
  /// channels enough on both sides that its 16 small GEMMs keep OpenBLAS busy. (Tests lower the channel floor.)
  static func applies(kernel: (Int, Int), stride: (Int, Int), padding: ConvPadding, channels: Int, outChannels: Int)
    -> Bool
  {
    kernel == (3, 3) && stride == (1, 1) && min(padding.top, padding.bottom, padding.left, padding.right) >= 0
      && min(channels, outChannels) >= minimumChannels
  }
  nonisolated(unsafe) static var minimumChannels = 16

  private var tileRows: Int { (outputHeight + 1) / 2 }
  private var tileColumns: Int { (outputWidth + 1) / 2 }
  private var tilesPerImage: Int { tileRows * tileColumns }
  /// Runs of 4 neighbouring tiles along a tile row (the last may be short).
  private var tileGroups: Int { (tileColumns + 3) / 4 }
  /// The zero-padded plane of one image that the tiles read without bounds checks: every 4x4 input block, and the
  /// wide loads of a run of 4 tiles (8 from each of its 4 columns; 16 where its blocks are added back).
  private var planeHeight: Int { 2 * tileRows + 2 }
  private var planeWidth: Int { 8 * tileGroups + 8 }

  /// Images per chunk: a thread's transformed inputs and outputs stay within `ConvGeometry.chunkValues / 4` floats
  /// (4 MB), about what its share of the cache holds, so that its GEMMs read what its transforms wrote from there; and
  /// every thread gets a chunk.
  private var imagesPerChunk: Int {
    let perImage = Self.positions * (channels + outChannels) * tilesPerImage
    let share = (batch + EngineThreads.count - 1) / EngineThreads.count
    return max(1, min(share, ConvGeometry.chunkValues / 4 / perImage))
  }

  /// The convolution of `input` (`[channels, batch, height, width]`) with `weight` (`[outChannels, channels, 3, 3]`)
  /// and an optional bias, recorded for backward: the output is `[outChannels, batch, outputHeight, outputWidth]`.
  func convolve(_ input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let filter = transformedFilter(weight.data)
    let outputArea = outputHeight * outputWidth
    let out = uninitializedFloats(outChannels * batch * outputArea) { out in
      input.data.withUnsafeBufferPointer { x in
        filter.withUnsafeBufferPointer { u in
          forEachChunk(channels, outChannels) { _, images, v, m, space in
            let tiles = images.count * tilesPerImage
            let (filterStride, inStride, outStride) = (
              Self.positionStride(outChannels, channels), Self.positionStride(channels, tiles),
              Self.positionStride(outChannels, tiles)
            )
            transformInput(x.baseAddress!, images, into: v, space)
            for xi in 0..<Self.positions {
              gemm(
                m: outChannels, n: tiles, k: channels, u.baseAddress! + xi * filterStride, v + xi * inStride,
                m + xi * outStride, split: false)
            }
            transformOutput(m, images, bias: bias?.data, into: out.baseAddress!, space)
          }
        }
      }
    }
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(out, shape: [outChannels, batch, outputHeight, outputWidth], inputs: inputs) { result in
      result.grad!.withUnsafeBufferPointer { g in
        if let bias, bias.requiresGrad {
          bias.accumulateGrad(sumPerRow(g.baseAddress!, rows: outChannels, width: batch * outputArea))
        }
        if input.requiresGrad {
          input.accumulateGrad { dx in backward(g.baseAddress!, input, weight, filter, dx: dx.baseAddress!) }
        } else if weight.requiresGrad {
          backward(g.baseAddress!, input, weight, filter, dx: nil)
        }
      }
    }
  }

  /// Per chunk: dM = A·dY·Aᵀ; dU += dM·Vᵀ (each thread its own, summed in a fixed order at the end) when the weight
  /// needs a gradient; dV = Uᵀ·dM and dx += B·dV·Bᵀ when `dx` is given.
  private func backward(
    _ dy: UnsafePointer<Float>, _ input: Tensor, _ weight: Tensor, _ filter: [Float],
    dx: UnsafeMutablePointer<Float>?
  ) {
    let size = Self.positions * Self.positionStride(outChannels, channels)
    let workers = weight.requiresGrad ? min(EngineThreads.count, chunkCount) : 0
    var filterGradients = [Float](repeating: 0, count: workers * size)
    filterGradients.withUnsafeMutableBufferPointer { du in
      input.data.withUnsafeBufferPointer { x in
        filter.withUnsafeBufferPointer { u in
          forEachChunk(outChannels, channels) { worker, images, dm, scratch, space in
            let tiles = images.count * tilesPerImage
            let (filterStride, inStride, outStride) = (
              Self.positionStride(outChannels, channels), Self.positionStride(channels, tiles),
              Self.positionStride(outChannels, tiles)
            )
            transformOutputGradient(dy, images, into: dm, space)
            if weight.requiresGrad {
              transformInput(x.baseAddress!, images, into: scratch, space)
              for xi in 0..<Self.positions {
                gemm(
                  transposeB: true, m: outChannels, n: channels, k: tiles, dm + xi * outStride,
                  scratch + xi * inStride, beta: 1, du.baseAddress! + worker * size + xi * filterStride, split: false)
              }
            }
            guard let dx else { return }
            for xi in 0..<Self.positions {
              gemm(
                transposeA: true, m: channels, n: tiles, k: outChannels, u.baseAddress! + xi * filterStride,
                dm + xi * outStride, scratch + xi * inStride, split: false)
            }
            transformInputGradient(scratch, images, into: dx, space)
          }
        }
      }
      guard workers > 0 else { return }
      for worker in 1..<workers {
        for i in 0..<size { du[i] += du[worker * size + i] }
      }
      weight.accumulateGrad { d in addFilterGradient(UnsafePointer(du.baseAddress!), into: d.baseAddress!) }
    }
  }

  /// Floats from one position's `rows x columns` matrix to the next: 16 more than it holds, so that the 16
  /// matrices do not start a power of two apart (the transforms write and read all 16 at once, and such strides
  /// map them to the same cache sets).
  private static func positionStride(_ rows: Int, _ columns: Int) -> Int { rows * columns + 16 }

  private var chunkCount: Int { (batch + imagesPerChunk - 1) / imagesPerChunk }

  /// Shares the chunks of images out over the engine threads, each running `body(worker, images, first, second,
  /// workspace)` on its chunks in order with scratch of its own: two buffers for a chunk's transformed tiles, of
  /// `first` and `second` channels (16 positions each; 4 floats of slack for the loads of a short run of tiles).
  private func forEachChunk(
    _ first: Int, _ second: Int,
    _ body: (Int, Range<Int>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, TileWorkspace) -> Void
  ) {
    let (chunk, chunks) = (imagesPerChunk, chunkCount)
    let tiles = chunk * tilesPerImage
    let (firstCount, secondCount) = (
      Self.positions * Self.positionStride(first, tiles), Self.positions * Self.positionStride(second, tiles)
    )
    parallelWorkers(chunks) { worker, range in
      ScratchPool.withBuffer(firstCount + secondCount + 8) { scratch in
        let space = TileWorkspace(planeCount: planeHeight * planeWidth)
        defer { space.deallocate() }
        for index in range {
          let images = index * chunk..<min((index + 1) * chunk, batch)
          body(worker, images, scratch, scratch + firstCount + 4, space)
        }
      }
    }
  }

  // MARK: Filter

  /// U[ξ, o, c] = (G·g·Gᵀ)[ξ] for the 3x3 filter g = weight[o, c].
  private func transformedFilter(_ weight: [Float]) -> [Float] {
    let (pairs, step) = (outChannels * channels, Self.positionStride(outChannels, channels))
    return uninitializedFloats(Self.positions * step) { u in
      weight.withUnsafeBufferPointer { w in
        for pair in 0..<pairs {
          let g = w.baseAddress! + pair * 9
          // G·g, a row of 3 (in 4 lanes) per transformed row; then each row times Gᵀ.
          let rows = filterTransform1D(
            SIMD4(g[0], g[1], g[2], 0), SIMD4(g[3], g[4], g[5], 0), SIMD4(g[6], g[7], g[8], 0))
          func setRow(_ k: Int, _ row: Lanes) {
            let t = filterTransform1D(row[0], row[1], row[2])
            let target = u.baseAddress! + 4 * k * step + pair
            (target[0], target[step], target[2 * step], target[3 * step]) = t
          }
          setRow(0, rows.0)
          setRow(1, rows.1)
          setRow(2, rows.2)
          setRow(3, rows.3)
        }
      }
    }
  }

  /// dW[o, c] += Gᵀ·dU[o, c]·G, the adjoint of `transformedFilter`.
  private func addFilterGradient(_ du: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>) {
    let (pairs, step) = (outChannels * channels, Self.positionStride(outChannels, channels))
    for pair in 0..<pairs {
      func row(_ k: Int) -> Lanes {
        let source = du + 4 * k * step + pair
        return Lanes(source[0], source[step], source[2 * step], source[3 * step])
      }
      // Gᵀ·dU, 3 rows of 4; then each row times G.
      let rows = filterAdjoint1D(row(0), row(1), row(2), row(3))
      func addRow(_ r: Int, _ row: Lanes) {
        let t = filterAdjoint1D(row[0], row[1], row[2], row[3])
        let target = dw + pair * 9 + 3 * r
        (target[0], target[1], target[2]) = (target[0] + t.0, target[1] + t.1, target[2] + t.2)
      }
      addRow(0, rows.0)
      addRow(1, rows.1)
      addRow(2, rows.2)
    }
  }

  // MARK: Tiles

  /// V[ξ, c, tile] = (Bᵀ·d·B)[ξ] for the 4x4 input block d of every tile of the chunk `images`.
  private func transformInput(
    _ x: UnsafePointer<Float>, _ images: Range<Int>, into v: UnsafeMutablePointer<Float>, _ space: TileWorkspace
  ) {
    let tiles = images.count * tilesPerImage
    let step = Self.positionStride(channels, tiles)
    let (plane, work) = (space.inputPlane, space.work)
    do {
      for c in 0..<channels {
        for b in images {
          let image = x + (c * batch + b) * height * width
          for r in 0..<height {
            copyRow(image + r * width, to: plane + (r + paddingTop) * planeWidth + paddingLeft, count: width)
          }
          forEachTileRun(b - images.lowerBound) { tileRow, run, first, count in
            let block = UnsafePointer(plane + 2 * tileRow * planeWidth + 8 * run)
            for l in 0..<4 {
              (work[l], work[4 + l], work[8 + l], work[12 + l]) = inputTransform1D(
                evenLanes(block + l), evenLanes(block + planeWidth + l), evenLanes(block + 2 * planeWidth + l),
                evenLanes(block + 3 * planeWidth + l))
            }
            for k in 0..<4 {
              let t = inputTransform1D(work[4 * k], work[4 * k + 1], work[4 * k + 2], work[4 * k + 3])
              let target = v + 4 * k * step + c * tiles + first
              store(t, count: count, to: target, step: step)
            }
          }
        }
      }
    }
  }

  /// dx[c] += B·dV·Bᵀ for every tile, added into the 4x4 input block it came from (the adjoint of
  /// `transformInput`; what lands in the padding is dropped).
  private func transformInputGradient(
    _ dv: UnsafePointer<Float>, _ images: Range<Int>, into dx: UnsafeMutablePointer<Float>, _ space: TileWorkspace
  ) {
    let tiles = images.count * tilesPerImage
    let step = 4 * Self.positionStride(channels, tiles)
    let (plane, work) = (space.sumPlane, space.work)
    do {
      for c in 0..<channels {
        for b in images {
          plane.update(repeating: 0, count: planeHeight * planeWidth)
          forEachTileRun(b - images.lowerBound) { tileRow, run, first, count in
            for l in 0..<4 {
              let source = dv + l * step / 4 + c * tiles + first
              (work[l], work[4 + l], work[8 + l], work[12 + l]) = inputAdjoint1D(
                load(source, count: count), load(source + step, count: count),
                load(source + 2 * step, count: count), load(source + 3 * step, count: count))
            }
            for k in 0..<4 {
              let t = inputAdjoint1D(work[4 * k], work[4 * k + 1], work[4 * k + 2], work[4 * k + 3])
              addInterleaved(t, to: plane + (2 * tileRow + k) * planeWidth + 8 * run)
            }
          }
          let image = dx + (c * batch + b) * height * width
          for r in 0..<height {
            addRow(plane + (r + paddingTop) * planeWidth + paddingLeft, to: image + r * width, count: width)
          }
        }
      }
    }
  }

  /// out[o] = Aᵀ·M·A (+ bias) for every tile of the chunk: each tile's 2x2 outputs, cut at the output's edges.
  private func transformOutput(
    _ m: UnsafePointer<Float>, _ images: Range<Int>, bias: [Float]?, into out: UnsafeMutablePointer<Float>,
    _ space: TileWorkspace
  ) {
    let tiles = images.count * tilesPerImage
    let step = 4 * Self.positionStride(outChannels, tiles)
    let work = space.work
    do {
      for o in 0..<outChannels {
        let offset = bias?[o] ?? 0
        for b in images {
          let image = out + (o * batch + b) * outputHeight * outputWidth
          forEachTileRun(b - images.lowerBound) { tileRow, run, first, count in
            for l in 0..<4 {
              // Lanes past a short run read the next tiles' values (or the buffer's slack) and are not stored.
              let source = m + l * step / 4 + o * tiles + first
              (work[l], work[4 + l]) = outputTransform1D(
                load(source, count: 4), load(source + step, count: 4), load(source + 2 * step, count: 4),
                load(source + 3 * step, count: 4))
            }
            for a in 0..<2 where 2 * tileRow + a < outputHeight {
              let t = outputTransform1D(work[4 * a], work[4 * a + 1], work[4 * a + 2], work[4 * a + 3])
              var values = SIMD8<Float>()
              (values.evenHalf, values.oddHalf) = t
              values += offset
              let row = image + (2 * tileRow + a) * outputWidth + 8 * run
              let columns = min(8, outputWidth - 8 * run)
              if columns == 8 {
                UnsafeMutableRawPointer(row).storeBytes(of: values, as: SIMD8<Float>.self)
              } else {
                for j in 0..<columns { row[j] = values[j] }
              }
            }
          }
        }
      }
    }
  }

  /// dM[ξ, o, tile] = (A·dY·Aᵀ)[ξ] for the 2x2 output gradients of every tile (zero past the output's edges), the
  /// adjoint of `transformOutput`.
  private func transformOutputGradient(
    _ dy: UnsafePointer<Float>, _ images: Range<Int>, into dm: UnsafeMutablePointer<Float>, _ space: TileWorkspace
  ) {
    let tiles = images.count * tilesPerImage
    let step = Self.positionStride(outChannels, tiles)
    let (plane, work) = (space.gradientPlane, space.work)
    do {
      for o in 0..<outChannels {
        for b in images {
          let image = dy + (o * batch + b) * outputHeight * outputWidth
          for r in 0..<outputHeight {
            copyRow(image + r * outputWidth, to: plane + r * planeWidth, count: outputWidth)
          }
          forEachTileRun(b - images.lowerBound) { tileRow, run, first, count in
            // A·dY down the tile's two output rows, a column at a time; then each row times Aᵀ.
            let top = UnsafeRawPointer(plane + 2 * tileRow * planeWidth + 8 * run).loadUnaligned(as: SIMD8<Float>.self)
            let bottom = UnsafeRawPointer(plane + (2 * tileRow + 1) * planeWidth + 8 * run)
              .loadUnaligned(as: SIMD8<Float>.self)
            (work[0], work[2], work[4], work[6]) = outputAdjoint1D(top.evenHalf, bottom.evenHalf)
            (work[1], work[3], work[5], work[7]) = outputAdjoint1D(top.oddHalf, bottom.oddHalf)
            for k in 0..<4 {
              let t = outputAdjoint1D(work[2 * k], work[2 * k + 1])
              store(t, count: count, to: dm + 4 * k * step + o * tiles + first, step: step)
            }
          }
        }
      }
    }
  }

  /// Calls `body(tileRow, run, first, count)` for every run of up to 4 tiles of image `local` of a chunk: `first`
  /// is the run's first tile in the chunk's tile order (image, tile row, tile column), `count` its tiles.
  @inline(__always)
  private func forEachTileRun(_ local: Int, _ body: (Int, Int, Int, Int) -> Void) {
    for tileRow in 0..<tileRows {
      for run in 0..<tileGroups {
        body(tileRow, run, (local * tileRows + tileRow) * tileColumns + 4 * run, min(4, tileColumns - 4 * run))
      }
    }
  }

}

/// A thread's work space for the tile transforms: zero-padded image planes (one for the input, whose inside each
/// image overwrites; one for the output gradient, likewise; one that tiles' input gradients are summed into) and 16
/// vectors between a transform's column and row passes.
private struct TileWorkspace {
  let inputPlane: UnsafeMutablePointer<Float>
  let gradientPlane: UnsafeMutablePointer<Float>
  let sumPlane: UnsafeMutablePointer<Float>
  let work: UnsafeMutablePointer<Lanes>

  init(planeCount: Int) {
    let planes = UnsafeMutablePointer<Float>.allocate(capacity: 3 * planeCount)
    planes.initialize(repeating: 0, count: 3 * planeCount)
    (inputPlane, gradientPlane, sumPlane) = (planes, planes + planeCount, planes + 2 * planeCount)
    work = .allocate(capacity: 16)
  }

  func deallocate() {
    inputPlane.deallocate()
    work.deallocate()
  }
}

// The one-axis transforms: applied down the columns, then along the rows, they give the 2-D ones (Bᵀ·d·B and so
// on). Each lane is one tile of a run of 4 (or, for the filter, one column).

/// Bᵀ·d, Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
@inline(__always)
private func inputTransform1D(_ d0: Lanes, _ d1: Lanes, _ d2: Lanes, _ d3: Lanes) -> (Lanes, Lanes, Lanes, Lanes) {
  (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
}

/// B·v, the adjoint of `inputTransform1D`.
@inline(__always)
private func inputAdjoint1D(_ v0: Lanes, _ v1: Lanes, _ v2: Lanes, _ v3: Lanes) -> (Lanes, Lanes, Lanes, Lanes) {
  (v0, v1 - v2 + v3, v1 + v2 - v0, Lanes() - v3)
}

/// Aᵀ·m, Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]].
@inline(__always)
private func outputTransform1D(_ m0: Lanes, _ m1: Lanes, _ m2: Lanes, _ m3: Lanes) -> (Lanes, Lanes) {
  (m0 + m1 + m2, m1 - m2 - m3)
}

/// A·y, the adjoint of `outputTransform1D`.
@inline(__always)
private func outputAdjoint1D(_ y0: Lanes, _ y1: Lanes) -> (Lanes, Lanes, Lanes, Lanes) {
  (y0, y0 + y1, y0 - y1, Lanes() - y1)
}

/// G·g, G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]].
@inline(__always)
private func filterTransform1D<T: FloatingPoint>(_ g0: T, _ g1: T, _ g2: T) -> (T, T, T, T) {
  (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2)
}
@inline(__always)
private func filterTransform1D(_ g0: Lanes, _ g1: Lanes, _ g2: Lanes) -> (Lanes, Lanes, Lanes, Lanes) {
  (g0, (g0 + g1 + g2) * 0.5, (g0 - g1 + g2) * 0.5, g2)
}

/// Gᵀ·u, the adjoint of `filterTransform1D`.
@inline(__always)
private func filterAdjoint1D<T: FloatingPoint>(_ u0: T, _ u1: T, _ u2: T, _ u3: T) -> (T, T, T) {
  (u0 + (u1 + u2) / 2, (u1 - u2) / 2, (u1 + u2) / 2 + u3)
}
@inline(__always)
private func filterAdjoint1D(_ u0: Lanes, _ u1: Lanes, _ u2: Lanes, _ u3: Lanes) -> (Lanes, Lanes, Lanes) {
  (u0 + (u1 + u2) * 0.5, (u1 - u2) * 0.5, (u1 + u2) * 0.5 + u3)
}

/// The values at `p`, `p + 2`, `p + 4` and `p + 6`: one input column of 4 neighbouring tiles.
@inline(__always)
private func evenLanes(_ p: UnsafePointer<Float>) -> Lanes {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self).evenHalf
}

/// The first `count` lanes at `p`, zeros after them.
@inline(__always)
private func load(_ p: UnsafePointer<Float>, count: Int) -> Lanes {
  if count == 4 { return UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
  var values = Lanes()
  for j in 0..<count { values[j] = p[j] }
  return values
}

/// Stores the first `count` lanes of each of the 4 vectors at `p`, `p + step`, `p + 2·step` and `p + 3·step`.
@inline(__always)
private func store(
  _ values: (Lanes, Lanes, Lanes, Lanes), count: Int, to p: UnsafeMutablePointer<Float>, step: Int
) {
  store(values.0, count: count, to: p)
  store(values.1, count: count, to: p + step)
  store(values.2, count: count, to: p + 2 * step)
  store(values.3, count: count, to: p + 3 * step)
}

/// Stores the first `count` lanes of `values` at `p`.
@inline(__always)
private func store(_ values: Lanes, count: Int, to p: UnsafeMutablePointer<Float>) {
  if count == 4 { return UnsafeMutableRawPointer(p).storeBytes(of: values, as: Lanes.self) }
  for j in 0..<count { p[j] = values[j] }
}

/// Adds a tile row of 4 neighbouring tiles' 4x4 blocks to the 10 values at `p`: lane j of `values.l` goes to
/// `p[2j + l]` (the blocks overlap by 2). One 16-wide read and write: two overlapping 8-wide ones would stall on
/// store forwarding.
@inline(__always)
private func addInterleaved(_ values: (Lanes, Lanes, Lanes, Lanes), to p: UnsafeMutablePointer<Float>) {
  let (a, b, c, d) = values
  let first = SIMD8(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3])
  let second = SIMD16<Float>(0, 0, c[0], d[0], c[1], d[1], c[2], d[2], c[3], d[3], 0, 0, 0, 0, 0, 0)
  let raw = UnsafeMutableRawPointer(p)
  let sum = raw.loadUnaligned(as: SIMD16<Float>.self) + SIMD16(lowHalf: first, highHalf: .zero) + second
  raw.storeBytes(of: sum, as: SIMD16<Float>.self)
}

/// Copies `count` floats (a short image row) from `source` to `target`, 8 at a time where it can.
@inline(__always)
private func copyRow(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
  let vectorCount = count / 8 * 8
  for i in stride(from: 0, to: vectorCount, by: 8) {
    UnsafeMutableRawPointer(target + i).storeBytes(
      of: UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
  }
  for i in vectorCount..<count { target[i] = source[i] }
}

/// target[i] += source[i] for a short image row, 8 at a time where it can.
@inline(__always)
private func addRow(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
  let vectorCount = count / 8 * 8
  for i in stride(from: 0, to: vectorCount, by: 8) {
    let raw = UnsafeMutableRawPointer(target + i)
    raw.storeBytes(
      of: raw.loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self),
      as: SIMD8<Float>.self)
  }
  for i in vectorCount..<count { target[i] += source[i] }
}
