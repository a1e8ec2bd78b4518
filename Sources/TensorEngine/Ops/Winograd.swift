/// A value of 4 neighbouring tiles, one per lane.
private typealias Lanes = SIMD4<Float>

/// Winograd's minimal filtering F(2x2, r x s) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
/// 2016) for convolutions with kernel sides of 2 or 3 (at stride 2, of 4 or 6). Each 2x2 block of outputs (a tile)
/// comes from the (r + 1) x (s + 1) block of inputs around it: the block is transformed to Bᵀ·d·B, multiplied
/// position by position with the transformed filter G·g·Gᵀ, summed over input channels, and brought back by Aᵀ·m·A.
/// The sum over channels at each position is one GEMM, `[out, in] x [in, tiles]`: for a 3x3 kernel 16 multiply-adds
/// per tile and channel pair where the im2col GEMM needs 36, for 2x3 12 where it needs 24, for 2x2 9 where it needs 16.
enum Winograd {
  /// Fewer channels than this on either side and the small GEMMs cost more than they save. (Tests lower it.)
  nonisolated(unsafe) static var minimumChannels = 16

  /// Whether a stride-1 convolution takes F(2x2, kh x kw): kernel sides of 2 or 3, padding that only adds zeros,
  /// and at least `minimumChannels` on both sides.
  private static func applies(kernel: (Int, Int), channels: Int, outChannels: Int, padding: ConvPadding) -> Bool {
    (2...3).contains(kernel.0) && (2...3).contains(kernel.1)
      && min(padding.top, padding.bottom, padding.left, padding.right) >= 0
      && min(channels, outChannels) >= minimumChannels
  }

  /// `input.conv2d(weight:bias:stride:padding:)` by F(2x2, r x s), recorded for backward; nil where it does not
  /// apply. At stride 1 the kernel is r x s; at stride 2 an even kernel 2r x 2s becomes an r x s one over the input's
  /// four phases (see `PhaseGeometry`), which the input transform reads from `input` plane by plane.
  static func convolve(
    _ input: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: ConvPadding, outputSize: (Int, Int)
  ) -> Tensor? {
    let image = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    return run(
      input, weight: weight, bias: bias, image: image, stride: stride, padding: padding, outputSize: outputSize,
      transposed: false)
  }

  /// `input.convTranspose2d(weight:bias:stride:padding:)` at stride 2 with an even kernel, as the adjoint (in its
  /// input) of the stride-2 convolution through phases whose output has the shape of `input`: the transform,
  /// product and adjoint transform that `convolve` runs backwards for the input gradient, and its forward pass for
  /// this one's. Nil where it does not apply. (`weight` is `[inChannels, outChannels, kh, kw]`, the layout of that
  /// convolution's own weight.)
  static func transposedConvolve(
    _ input: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), outputSize: (Int, Int)
  ) -> Tensor? {
    guard stride == (2, 2) else { return nil }
    let image = (weight.shape[1], input.shape[1], outputSize.0, outputSize.1)
    return run(
      input, weight: weight, bias: bias, image: image, stride: stride, padding: ConvPadding(padding),
      outputSize: (input.shape[2], input.shape[3]), transposed: true)
  }

  /// The convolution of the image side `image` (channels, batch, height, width) to `outputSize` with `weight`
  /// (`[outChannels, channels, kh, kw]`), or its transpose (from the output side `input` to the image side), by
  /// F(2x2, r x s); nil where it does not apply.
  private static func run(
    _ input: Tensor, weight: Tensor, bias: Tensor?, image: (Int, Int, Int, Int), stride: (Int, Int),
    padding: ConvPadding, outputSize: (Int, Int), transposed: Bool
  ) -> Tensor? {
    let (c, n, h, w) = image
    let (outChannels, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
    var (planes, kernel, tilePadding, phases) = ([c, n, h, w], weight, padding, PhaseGeometry?.none)
    switch stride {
    case (1, 1):
      guard applies(kernel: (kh, kw), channels: c, outChannels: outChannels, padding: padding) else { return nil }
    case (2, 2):
      guard kh % 2 == 0, kw % 2 == 0, padding.top >= 0, padding.left >= 0,
        applies(kernel: (kh / 2, kw / 2), channels: 4 * c, outChannels: outChannels, padding: .zero)
      else { return nil }
      let geometry = PhaseGeometry(
        channels: c, batch: n, height: h, width: w, paddingTop: padding.top, paddingLeft: padding.left,
        phaseHeight: outputSize.0 + kh / 2 - 1, phaseWidth: outputSize.1 + kw / 2 - 1)
      planes = [4 * c, n, geometry.phaseHeight, geometry.phaseWidth]
      (kernel, tilePadding, phases) = (weight.phaseKernel(), .zero, geometry)
    default:
      return nil
    }
    /// F(2x2, Rows.taps x Columns.taps) over these sizes.
    func run<Rows: WinogradAxis, Columns: WinogradAxis>(_: Rows.Type, _: Columns.Type) -> Tensor {
      let convolution = WinogradConvolution<Rows, Columns>(
        channels: planes[0], outChannels: outChannels, batch: n, height: planes[2], width: planes[3],
        paddingTop: tilePadding.top, paddingLeft: tilePadding.left, outputHeight: outputSize.0,
        outputWidth: outputSize.1, phases: phases)
      return transposed
        ? convolution.transposedConvolve(input, weight: kernel, bias: bias)
        : convolution.convolve(input, weight: kernel, bias: bias)
    }
    switch (kernel.shape[2], kernel.shape[3]) {
    case (3, 3): return run(ThreeTaps.self, ThreeTaps.self)
    case (2, 3): return run(TwoTaps.self, ThreeTaps.self)
    case (3, 2): return run(ThreeTaps.self, TwoTaps.self)
    case (2, 2): return run(TwoTaps.self, TwoTaps.self)
    default: return nil
    }
  }
}

/// F(2x2, r x s) with the axes `Rows` (r taps) and `Columns` (s taps), for a stride-1 convolution of input
/// `[channels, batch, height, width]` to output `[outChannels, batch, outputHeight, outputWidth]` with the zeros
/// `paddingTop` and `paddingLeft` added above and left. The transforms take 4 horizontally neighbouring tiles at a
/// time, one per SIMD lane.
private struct WinogradConvolution<Rows: WinogradAxis, Columns: WinogradAxis> {
  let channels: Int
  let outChannels: Int
  let batch: Int
  let height: Int
  let width: Int
  let paddingTop: Int
  let paddingLeft: Int
  let outputHeight: Int
  let outputWidth: Int
  /// Set when the input planes are the phases of a larger image.
  let phases: PhaseGeometry?

  /// The transformed domain's positions ξ = row · (s + 1) + column; each is one GEMM.
  private static var positions: Int { Rows.size * Columns.size }

  private var tileRows: Int { (outputHeight + 1) / 2 }
  private var tileColumns: Int { (outputWidth + 1) / 2 }
  private var tilesPerImage: Int { tileRows * tileColumns }
  /// Runs of 4 neighbouring tiles along a tile row (the last may be short).
  private var tileGroups: Int { (tileColumns + 3) / 4 }
  /// The zero-padded plane of one image that the tiles read without bounds checks: every input block, and the wide
  /// loads of a run of 4 tiles (8 from each of its columns; 16 where its blocks are added back).
  private var planeHeight: Int { 2 * tileRows + Rows.size - 2 }
  private var planeWidth: Int { 8 * tileGroups + 8 }

  /// Images per chunk: a thread's transformed inputs and outputs stay within `ConvGeometry.chunkValues / 4` floats
  /// (1 MB), about what its share of the cache holds, so that its GEMMs read what its transforms wrote from there; and
  /// every thread gets a chunk.
  private var imagesPerChunk: Int {
    let perImage = Self.positions * (channels + outChannels) * tilesPerImage
    let share = (batch + EngineThreads.count - 1) / EngineThreads.count
    return max(1, min(share, ConvGeometry.chunkValues / 4 / perImage))
  }

  /// The convolution of `input` (`[channels, batch, height, width]`, or the image whose phases those planes are)
  /// with `weight` (`[outChannels, channels, r, s]`) and an optional bias, recorded for backward: the output is
  /// `[outChannels, batch, outputHeight, outputWidth]`.
  func convolve(_ input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let filter = transformedFilter(weight.data)
    let out = uninitializedFloats(outChannels * batch * outputHeight * outputWidth) { out in
      input.data.withUnsafeBufferPointer { x in
        filter.withUnsafeBufferPointer { u in
          product(x.baseAddress!, u.baseAddress!, bias: bias?.data, into: out.baseAddress!, adding: false)
        }
      }
    }
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(out, shape: [outChannels, batch, outputHeight, outputWidth], inputs: inputs) { result in
      result.grad!.withUnsafeBufferPointer { g in
        if let bias, bias.requiresGrad {
          bias.accumulateGrad(sumPerRow(g.baseAddress!, rows: outChannels, width: g.count / outChannels))
        }
        guard input.requiresGrad || weight.requiresGrad else { return }
        input.data.withUnsafeBufferPointer { x in
          filter.withUnsafeBufferPointer { u in
            if input.requiresGrad {
              input.accumulateGrad { dx in
                backward(g.baseAddress!, input: x.baseAddress!, u.baseAddress!, weight: weight, dx: dx.baseAddress!)
              }
            } else {
              backward(g.baseAddress!, input: x.baseAddress!, u.baseAddress!, weight: weight, dx: nil)
            }
          }
        }
      }
    }
  }

  /// The transposed convolution of `input` (`[outChannels, batch, outputHeight, outputWidth]`) with `weight`
  /// (`[outChannels, channels, r, s]`, as for `convolve`) and an optional bias per image channel, recorded for
  /// backward: the adjoint of `convolve` in its input, whose shape the result has. Its input gradient is `convolve`
  /// of the output gradient; its weight gradient, that of `convolve` with the two sides' roles swapped.
  func transposedConvolve(_ input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let filter = transformedFilter(weight.data)
    let imageShape = phases.map { [$0.channels, batch, $0.height, $0.width] } ?? [channels, batch, height, width]
    let out = uninitializedFloats(elementCount(imageShape)) { out in
      fillRows(out.baseAddress!, rows: imageShape[0], width: out.count / imageShape[0], with: bias?.data)
      input.data.withUnsafeBufferPointer { x in
        filter.withUnsafeBufferPointer { u in
          backward(x.baseAddress!, input: nil, u.baseAddress!, weight: nil, dx: out.baseAddress!)
        }
      }
    }
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(out, shape: imageShape, inputs: inputs) { result in
      result.grad!.withUnsafeBufferPointer { g in
        if let bias, bias.requiresGrad {
          bias.accumulateGrad(sumPerRow(g.baseAddress!, rows: imageShape[0], width: g.count / imageShape[0]))
        }
        input.data.withUnsafeBufferPointer { x in
          filter.withUnsafeBufferPointer { u in
            if weight.requiresGrad {
              backward(x.baseAddress!, input: g.baseAddress!, u.baseAddress!, weight: weight, dx: nil)
            }
            input.accumulateGrad { dx in
              product(g.baseAddress!, u.baseAddress!, bias: nil, into: dx.baseAddress!, adding: true)
            }
          }
        }
      }
    }
  }

  /// out = the convolution of `x` with the transformed filter `u` (+ bias), per chunk: V = Bᵀ·d·B, M = U·V, then
  /// Aᵀ·M·A written (or, `adding`, added) to `out`.
  private func product(
    _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, bias: [Float]?, into out: UnsafeMutablePointer<Float>,
    adding: Bool
  ) {
    forEachChunk(channels, outChannels) { _, images, v, m, space in
      let tiles = images.count * tilesPerImage
      let (filterStride, inStride, outStride) = positionStrides(tiles: tiles)
      transformInput(x, images, into: v, space)
      for xi in 0..<Self.positions {
        gemm(
          m: outChannels, n: tiles, k: channels, u + xi * filterStride, v + xi * inStride, m + xi * outStride,
          split: false)
      }
      transformOutput(m, images, bias: bias, into: out, adding: adding, space)
    }
  }

  /// Per chunk: dM = A·dY·Aᵀ; dU += dM·Vᵀ (each thread its own, summed in a fixed order at the end, then brought
  /// back to `weight`'s gradient) when `weight` is given, with V from `input`; dV = Uᵀ·dM and dx += B·dV·Bᵀ when
  /// `dx` is given.
  private func backward(
    _ dy: UnsafePointer<Float>, input x: UnsafePointer<Float>?, _ u: UnsafePointer<Float>, weight: Tensor?,
    dx: UnsafeMutablePointer<Float>?
  ) {
    let size = Self.positions * Self.positionStride(outChannels, channels)
    let workers = weight?.requiresGrad == true ? min(EngineThreads.count, chunkCount) : 0
    var filterGradients = [Float](repeating: 0, count: workers * size)
    filterGradients.withUnsafeMutableBufferPointer { du in
      forEachChunk(outChannels, channels) { worker, images, dm, scratch, space in
        let tiles = images.count * tilesPerImage
        let (filterStride, inStride, outStride) = positionStrides(tiles: tiles)
        transformOutputGradient(dy, images, into: dm, space)
        if workers > 0, let x {
          transformInput(x, images, into: scratch, space)
          for xi in 0..<Self.positions {
            gemm(
              transposeB: true, m: outChannels, n: channels, k: tiles, dm + xi * outStride, scratch + xi * inStride,
              beta: 1, du.baseAddress! + worker * size + xi * filterStride, split: false)
          }
        }
        guard let dx else { return }
        for xi in 0..<Self.positions {
          gemm(
            transposeA: true, m: channels, n: tiles, k: outChannels, u + xi * filterStride, dm + xi * outStride,
            scratch + xi * inStride, split: false)
        }
        transformInputGradient(scratch, images, into: dx, space)
      }
      guard workers > 0, let weight else { return }
      weight.accumulateGrad { d in
        addFilterGradient(UnsafePointer(du.baseAddress!), workers: workers, size: size, into: d.baseAddress!)
      }
    }
  }

  /// Floats from one position's `rows x columns` matrix to the next: 16 more than it holds, so that the 16
  /// matrices do not start a power of two apart (the transforms write and read all 16 at once, and such strides
  /// map them to the same cache sets).
  private static func positionStride(_ rows: Int, _ columns: Int) -> Int { rows * columns + 16 }

  /// The position strides of the transformed filter `[outChannels, channels]`, inputs `[channels, tiles]` and
  /// outputs `[outChannels, tiles]` of a chunk of `tiles` tiles.
  private func positionStrides(tiles: Int) -> (filter: Int, input: Int, output: Int) {
    (
      Self.positionStride(outChannels, channels), Self.positionStride(channels, tiles),
      Self.positionStride(outChannels, tiles)
    )
  }

  private var chunkCount: Int { (batch + imagesPerChunk - 1) / imagesPerChunk }

  /// Shares the chunks of images out over the engine threads, each running `body(worker, images, first, second,
  /// workspace)` on its chunks in order with scratch of its own: two buffers for a chunk's transformed tiles, of
  /// `first` and `second` channels (all positions each; 4 floats of slack for the loads of a short run of tiles).
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

  /// U[ξ, o, c] = (G·g·Gᵀ)[ξ] for the filter g = weight[o, c], the channel pairs shared out over the engine threads.
  private func transformedFilter(_ weight: [Float]) -> [Float] {
    let (pairs, step, taps) = (
      outChannels * channels, Self.positionStride(outChannels, channels), Rows.taps * Columns.taps
    )
    return uninitializedFloats(Self.positions * step) { u in
      weight.withUnsafeBufferPointer { w in
        parallelChunks(pairs, grain: Self.filterGrain) { range in
          // Eight pairs at a time, a lane each (the same arithmetic as one at a time), then the rest one by one.
          let whole = range.lowerBound + range.count / 8 * 8
          withFilterWork(SIMD8<Float>.self) { g, work in
            for first in stride(from: range.lowerBound, to: whole, by: 8) {
              for i in 0..<taps {
                let tap = w.baseAddress! + first * taps + i
                g[i] = SIMD8(
                  tap[0], tap[taps], tap[2 * taps], tap[3 * taps], tap[4 * taps], tap[5 * taps], tap[6 * taps],
                  tap[7 * taps])
              }
              Self.filterTransform(g, work)
              for xi in 0..<Self.positions { storeEight(work[16 + xi], u.baseAddress! + xi * step + first) }
            }
          }
          withFilterWork(Float.self) { _, work in
            for pair in whole..<range.upperBound {
              Self.filterTransform(w.baseAddress! + pair * taps, work)
              for xi in 0..<Self.positions { u[xi * step + pair] = work[16 + xi] }
            }
          }
        }
      }
    }
  }

  /// dW[o, c] += Gᵀ·dU[o, c]·G, the adjoint of `transformedFilter`, where dU is the sum of the `workers` threads'
  /// dU (`size` floats apart), added in their order.
  private func addFilterGradient(
    _ du: UnsafePointer<Float>, workers: Int, size: Int, into dw: UnsafeMutablePointer<Float>
  ) {
    let (pairs, step, taps) = (
      outChannels * channels, Self.positionStride(outChannels, channels), Rows.taps * Columns.taps
    )
    parallelChunks(pairs, grain: Self.filterGrain) { range in
      // Eight pairs at a time, as in `transformedFilter`.
      let whole = range.lowerBound + range.count / 8 * 8
      withFilterWork(SIMD8<Float>.self) { _, work in
        for first in stride(from: range.lowerBound, to: whole, by: 8) {
          for xi in 0..<Self.positions {
            var sum = loadEight(du + xi * step + first)
            for worker in 1..<workers { sum += loadEight(du + worker * size + xi * step + first) }
            work[xi] = sum
          }
          Self.filterAdjointTransform(work)
          for lane in 0..<8 {
            for i in 0..<taps { dw[(first + lane) * taps + i] += work[32 + i][lane] }
          }
        }
      }
      withFilterWork(Float.self) { _, work in
        for pair in whole..<range.upperBound {
          for xi in 0..<Self.positions {
            var sum = du[xi * step + pair]
            for worker in 1..<workers { sum += du[worker * size + xi * step + pair] }
            work[xi] = sum
          }
          Self.filterAdjointTransform(work)
          for i in 0..<taps { dw[pair * taps + i] += work[32 + i] }
        }
      }
    }
  }

  /// G·g·Gᵀ of one filter g (its taps row by row) into `work + 16`, position by position; `T` is one filter's
  /// values or eight filters' lanes.
  @inline(__always)
  private static func filterTransform<T: TileValue>(_ g: UnsafePointer<T>, _ work: UnsafeMutablePointer<T>) {
    // G·g down each column, then each row times Gᵀ.
    for s in 0..<Columns.taps { Rows.filter(g + s, Columns.taps, work + s, Columns.taps) }
    for k in 0..<Rows.size { Columns.filter(work + k * Columns.taps, 1, work + 16 + k * Columns.size, 1) }
  }

  /// Gᵀ·dU·G of the positions in `work` into `work + 32`, tap by tap (the adjoint of `filterTransform`).
  @inline(__always)
  private static func filterAdjointTransform<T: TileValue>(_ work: UnsafeMutablePointer<T>) {
    for l in 0..<Columns.size { Rows.filterAdjoint(work + l, Columns.size, work + 16 + l, Columns.size) }
    for r in 0..<Rows.taps { Columns.filterAdjoint(work + 16 + r * Columns.size, 1, work + 32 + r * Columns.taps, 1) }
  }

  /// Channel pairs per thread below which the filter transforms run on one thread.
  private static var filterGrain: Int { 256 }

  // MARK: Tiles

  /// V[ξ, c, tile] = (Bᵀ·d·B)[ξ] for the input block d of every tile of the chunk `images`.
  private func transformInput(
    _ x: UnsafePointer<Float>, _ images: Range<Int>, into v: UnsafeMutablePointer<Float>, _ space: TileWorkspace
  ) {
    let tiles = images.count * tilesPerImage
    let step = Self.positionStride(channels, tiles)
    let (plane, work, (rows, columns)) = (space.inputPlane, space.work, (Rows.size, Columns.size))
    for c in 0..<channels {
      for b in images {
        if let phases {
          phases.split(x, plane: c, image: b, into: plane, rowStride: planeWidth)
        } else {
          let image = x + (c * batch + b) * height * width
          for r in 0..<height {
            copyRow(image + r * width, to: plane + (r + paddingTop) * planeWidth + paddingLeft, count: width)
          }
        }
        forEachTileRun(b - images.lowerBound) { tileRow, run, first, count in
          let block = UnsafePointer(plane + 2 * tileRow * planeWidth + 8 * run)
          for k in 0..<rows {
            for l in 0..<columns { work[16 + k * columns + l] = evenLanes(block + k * planeWidth + l) }
          }
          // Bᵀ·d down each column, then each row times B.
          for l in 0..<columns { Rows.input(work + 16 + l, columns, work + l, columns) }
          for k in 0..<rows { Columns.input(work + k * columns, 1, work + 16 + k * columns, 1) }
          for xi in 0..<Self.positions { store(work[16 + xi], count: count, to: v + xi * step + c * tiles + first) }
        }
      }
    }
  }

  /// dx[c] += B·dV·Bᵀ for every tile, added into the input block it came from (the adjoint of `transformInput`;
  /// what lands in the padding is dropped).
  private func transformInputGradient(
    _ dv: UnsafePointer<Float>, _ images: Range<Int>, into dx: UnsafeMutablePointer<Float>, _ space: TileWorkspace
  ) {
    let tiles = images.count * tilesPerImage
    let step = Self.positionStride(channels, tiles)
    let (plane, work, (rows, columns)) = (space.sumPlane, space.work, (Rows.size, Columns.size))
    for c in 0..<channels {
      for b in images {
        plane.update(repeating: 0, count: planeHeight * planeWidth)
        forEachTileRun(b - images.lowerBound) { tileRow, run, first, count in
          for xi in 0..<Self.positions { work[xi] = load(dv + xi * step + c * tiles + first, count: count) }
          for l in 0..<columns { Rows.inputAdjoint(work + l, columns, work + 16 + l, columns) }
          for k in 0..<rows { Columns.inputAdjoint(work + 16 + k * columns, 1, work + k * columns, 1) }
          for k in 0..<rows {
            addInterleaved(work + k * columns, columns, to: plane + (2 * tileRow + k) * planeWidth + 8 * run)
          }
        }
        if let phases {
          phases.merge(plane, rowStride: planeWidth, plane: c, image: b, into: dx)
          continue
        }
        let image = dx + (c * batch + b) * height * width
        for r in 0..<height {
          addRow(plane + (r + paddingTop) * planeWidth + paddingLeft, to: image + r * width, count: width)
        }
      }
    }
  }

  /// out[o] = Aᵀ·M·A (+ bias) for every tile of the chunk, or out[o] += it when `adding`: each tile's 2x2 outputs,
  /// cut at the output's edges.
  private func transformOutput(
    _ m: UnsafePointer<Float>, _ images: Range<Int>, bias: [Float]?, into out: UnsafeMutablePointer<Float>,
    adding: Bool, _ space: TileWorkspace
  ) {
    let tiles = images.count * tilesPerImage
    let step = Self.positionStride(outChannels, tiles)
    let (work, columns) = (space.work, Columns.size)
    for o in 0..<outChannels {
      let offset = bias?[o] ?? 0
      for b in images {
        let image = out + (o * batch + b) * outputHeight * outputWidth
        forEachTileRun(b - images.lowerBound) { tileRow, run, first, count in
          // Lanes past a short run read the next tiles' values (or the buffer's slack) and are not stored.
          for xi in 0..<Self.positions { work[xi] = load(m + xi * step + o * tiles + first, count: 4) }
          for l in 0..<columns { Rows.output(work + l, columns, work + 16 + l, columns) }
          for a in 0..<2 { Columns.output(work + 16 + a * columns, 1, work + 24 + 2 * a, 1) }
          for a in 0..<2 where 2 * tileRow + a < outputHeight {
            var values = SIMD8<Float>()
            (values.evenHalf, values.oddHalf) = (work[24 + 2 * a], work[25 + 2 * a])
            values += offset
            let row = image + (2 * tileRow + a) * outputWidth + 8 * run
            let written = min(8, outputWidth - 8 * run)
            if written == 8 {
              let raw = UnsafeMutableRawPointer(row)
              if adding { values += raw.loadUnaligned(as: SIMD8<Float>.self) }
              raw.storeBytes(of: values, as: SIMD8<Float>.self)
            } else {
              for j in 0..<written { row[j] = adding ? row[j] + values[j] : values[j] }
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
    let (plane, work, (rows, columns)) = (space.gradientPlane, space.work, (Rows.size, Columns.size))
    for o in 0..<outChannels {
      for b in images {
        let image = dy + (o * batch + b) * outputHeight * outputWidth
        for r in 0..<outputHeight {
          copyRow(image + r * outputWidth, to: plane + r * planeWidth, count: outputWidth)
        }
        forEachTileRun(b - images.lowerBound) { tileRow, run, first, count in
          // The tile's 2x2 gradients (row a, column b at 24 + 2a + b); A·dY down both columns, then each row
          // times Aᵀ.
          for a in 0..<2 {
            let values = UnsafeRawPointer(plane + (2 * tileRow + a) * planeWidth + 8 * run)
              .loadUnaligned(as: SIMD8<Float>.self)
            (work[24 + 2 * a], work[25 + 2 * a]) = (values.evenHalf, values.oddHalf)
          }
          for column in 0..<2 { Rows.outputAdjoint(work + 24 + column, 2, work + 16 + column, 2) }
          for k in 0..<rows { Columns.outputAdjoint(work + 16 + 2 * k, 1, work + k * columns, 1) }
          for xi in 0..<Self.positions { store(work[xi], count: count, to: dm + xi * step + o * tiles + first) }
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
/// image overwrites; one for the output gradient, likewise; one that tiles' input gradients are summed into) and 32
/// vectors for a transform's column and row passes.
private struct TileWorkspace {
  let inputPlane: UnsafeMutablePointer<Float>
  let gradientPlane: UnsafeMutablePointer<Float>
  let sumPlane: UnsafeMutablePointer<Float>
  let work: UnsafeMutablePointer<Lanes>

  init(planeCount: Int) {
    let planes = UnsafeMutablePointer<Float>.allocate(capacity: 3 * planeCount)
    planes.initialize(repeating: 0, count: 3 * planeCount)
    (inputPlane, gradientPlane, sumPlane) = (planes, planes + planeCount, planes + 2 * planeCount)
    work = .allocate(capacity: 32)
  }

  func deallocate() {
    inputPlane.deallocate()
    work.deallocate()
  }
}

// MARK: One axis

/// What the one-axis transforms compute with: a filter's taps (Float) or 4 tiles' values (Lanes).
private protocol TileValue {
  static func + (a: Self, b: Self) -> Self
  static func - (a: Self, b: Self) -> Self
  static prefix func - (a: Self) -> Self
  /// self / 2, exact.
  var half: Self { get }
}

extension Float: TileValue {
  fileprivate var half: Float { self * 0.5 }
}

extension SIMD4: TileValue where Scalar == Float {
  fileprivate var half: SIMD4<Float> { self * 0.5 }
}

extension SIMD8: TileValue where Scalar == Float {
  fileprivate var half: SIMD8<Float> { self * 0.5 }
}

/// Runs `body(taps, work)` with room for one filter's taps (or eight filters' lanes) and the filter transforms'
/// 48 values of work.
@inline(__always)
private func withFilterWork<T>(_: T.Type, _ body: (UnsafeMutablePointer<T>, UnsafeMutablePointer<T>) -> Void) {
  withUnsafeTemporaryAllocation(of: T.self, capacity: 64) { buffer in
    body(buffer.baseAddress!, buffer.baseAddress! + 16)
  }
}

/// One axis of F(2, r): 2 outputs of an r-tap filter from r + 1 inputs, y = Aᵀ·((G·g) ⊙ (Bᵀ·d)). Each function maps
/// the values `from`, `fromStride` apart, to the values `to`, `toStride` apart; applied down the columns and then
/// along the rows of a block, they give the 2-D transforms.
private protocol WinogradAxis {
  static var taps: Int { get }
  /// Bᵀ·d.
  static func input<T: TileValue>(
    _ from: UnsafePointer<T>, _ fromStride: Int, _ to: UnsafeMutablePointer<T>, _ toStride: Int)
  /// B·v, the adjoint of `input`.
  static func inputAdjoint<T: TileValue>(
    _ from: UnsafePointer<T>, _ fromStride: Int, _ to: UnsafeMutablePointer<T>, _ toStride: Int)
  /// Aᵀ·m: r + 1 values to 2.
  static func output<T: TileValue>(
    _ from: UnsafePointer<T>, _ fromStride: Int, _ to: UnsafeMutablePointer<T>, _ toStride: Int)
  /// A·y, the adjoint of `output`: 2 values to r + 1.
  static func outputAdjoint<T: TileValue>(
    _ from: UnsafePointer<T>, _ fromStride: Int, _ to: UnsafeMutablePointer<T>, _ toStride: Int)
  /// G·g: r taps to r + 1 values.
  static func filter<T: TileValue>(
    _ from: UnsafePointer<T>, _ fromStride: Int, _ to: UnsafeMutablePointer<T>, _ toStride: Int)
  /// Gᵀ·u, the adjoint of `filter`: r + 1 values to r.
  static func filterAdjoint<T: TileValue>(
    _ from: UnsafePointer<T>, _ fromStride: Int, _ to: UnsafeMutablePointer<T>, _ toStride: Int)
}

extension WinogradAxis {
  /// Inputs per tile along this axis.
  static var size: Int { taps + 1 }
}

/// F(2, 3): Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], G = [[1, 0, 0], [1/2, 1/2, 1/2],
/// [1/2, -1/2, 1/2], [0, 0, 1]], Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]].
private enum ThreeTaps: WinogradAxis {
  static var taps: Int { 3 }

  @inline(__always)
  static func input<T: TileValue>(_ d: UnsafePointer<T>, _ ds: Int, _ v: UnsafeMutablePointer<T>, _ vs: Int) {
    let (d0, d1, d2, d3) = (d[0], d[ds], d[2 * ds], d[3 * ds])
    (v[0], v[vs], v[2 * vs], v[3 * vs]) = (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
  }

  @inline(__always)
  static func inputAdjoint<T: TileValue>(_ v: UnsafePointer<T>, _ vs: Int, _ d: UnsafeMutablePointer<T>, _ ds: Int) {
    let (v0, v1, v2, v3) = (v[0], v[vs], v[2 * vs], v[3 * vs])
    (d[0], d[ds], d[2 * ds], d[3 * ds]) = (v0, v1 - v2 + v3, v1 + v2 - v0, -v3)
  }

  @inline(__always)
  static func output<T: TileValue>(_ m: UnsafePointer<T>, _ ms: Int, _ y: UnsafeMutablePointer<T>, _ ys: Int) {
    let (m0, m1, m2, m3) = (m[0], m[ms], m[2 * ms], m[3 * ms])
    (y[0], y[ys]) = (m0 + m1 + m2, m1 - m2 - m3)
  }

  @inline(__always)
  static func outputAdjoint<T: TileValue>(_ y: UnsafePointer<T>, _ ys: Int, _ m: UnsafeMutablePointer<T>, _ ms: Int) {
    let (y0, y1) = (y[0], y[ys])
    (m[0], m[ms], m[2 * ms], m[3 * ms]) = (y0, y0 + y1, y0 - y1, -y1)
  }

  @inline(__always)
  static func filter<T: TileValue>(_ g: UnsafePointer<T>, _ gs: Int, _ u: UnsafeMutablePointer<T>, _ us: Int) {
    let (g0, g1, g2) = (g[0], g[gs], g[2 * gs])
    (u[0], u[us], u[2 * us], u[3 * us]) = (g0, (g0 + g1 + g2).half, (g0 - g1 + g2).half, g2)
  }

  @inline(__always)
  static func filterAdjoint<T: TileValue>(_ u: UnsafePointer<T>, _ us: Int, _ g: UnsafeMutablePointer<T>, _ gs: Int) {
    let (u0, u1, u2, u3) = (u[0], u[us], u[2 * us], u[3 * us])
    (g[0], g[gs], g[2 * gs]) = (u0 + (u1 + u2).half, (u1 - u2).half, (u1 + u2).half + u3)
  }
}

/// F(2, 2): Bᵀ = [[1, -1, 0], [0, 1, 0], [0, -1, 1]], G = [[1, 0], [1, 1], [0, 1]], Aᵀ = [[1, 1, 0], [0, 1, 1]].
private enum TwoTaps: WinogradAxis {
  static var taps: Int { 2 }

  @inline(__always)
  static func input<T: TileValue>(_ d: UnsafePointer<T>, _ ds: Int, _ v: UnsafeMutablePointer<T>, _ vs: Int) {
    let (d0, d1, d2) = (d[0], d[ds], d[2 * ds])
    (v[0], v[vs], v[2 * vs]) = (d0 - d1, d1, d2 - d1)
  }

  @inline(__always)
  static func inputAdjoint<T: TileValue>(_ v: UnsafePointer<T>, _ vs: Int, _ d: UnsafeMutablePointer<T>, _ ds: Int) {
    let (v0, v1, v2) = (v[0], v[vs], v[2 * vs])
    (d[0], d[ds], d[2 * ds]) = (v0, v1 - v0 - v2, v2)
  }

  @inline(__always)
  static func output<T: TileValue>(_ m: UnsafePointer<T>, _ ms: Int, _ y: UnsafeMutablePointer<T>, _ ys: Int) {
    let (m0, m1, m2) = (m[0], m[ms], m[2 * ms])
    (y[0], y[ys]) = (m0 + m1, m1 + m2)
  }

  @inline(__always)
  static func outputAdjoint<T: TileValue>(_ y: UnsafePointer<T>, _ ys: Int, _ m: UnsafeMutablePointer<T>, _ ms: Int) {
    let (y0, y1) = (y[0], y[ys])
    (m[0], m[ms], m[2 * ms]) = (y0, y0 + y1, y1)
  }

  @inline(__always)
  static func filter<T: TileValue>(_ g: UnsafePointer<T>, _ gs: Int, _ u: UnsafeMutablePointer<T>, _ us: Int) {
    let (g0, g1) = (g[0], g[gs])
    (u[0], u[us], u[2 * us]) = (g0, g0 + g1, g1)
  }

  @inline(__always)
  static func filterAdjoint<T: TileValue>(_ u: UnsafePointer<T>, _ us: Int, _ g: UnsafeMutablePointer<T>, _ gs: Int) {
    let (u0, u1, u2) = (u[0], u[us], u[2 * us])
    (g[0], g[gs]) = (u0 + u1, u1 + u2)
  }
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

/// Stores the first `count` lanes of `values` at `p`.
@inline(__always)
private func store(_ values: Lanes, count: Int, to p: UnsafeMutablePointer<Float>) {
  if count == 4 { return UnsafeMutableRawPointer(p).storeBytes(of: values, as: Lanes.self) }
  for j in 0..<count { p[j] = values[j] }
}

/// Adds one row of the input blocks of 4 neighbouring tiles, `columns` (3 or 4) vectors at `values`, to the plane row
/// at `p`: lane j of vector l goes to `p[2j + l]` (neighbouring blocks overlap). One 16-wide read and write: two
/// overlapping 8-wide ones would stall on store forwarding.
@inline(__always)
private func addInterleaved(_ values: UnsafePointer<Lanes>, _ columns: Int, to p: UnsafeMutablePointer<Float>) {
  let (a, b, c) = (values[0], values[1], values[2])
  let d = columns == 4 ? values[3] : Lanes()
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
func addRow(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
  let vectorCount = count / 8 * 8
  for i in stride(from: 0, to: vectorCount, by: 8) {
    let raw = UnsafeMutableRawPointer(target + i)
    raw.storeBytes(
      of: raw.loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self),
      as: SIMD8<Float>.self)
  }
  for i in vectorCount..<count { target[i] += source[i] }
}
