import Foundation

/// Which positions of the latent grid a completion draws anew; the rest keep the image's own codes.
public enum FillRegion: Sendable, Equatable {
  /// Keep the grid's top `rows` rows (nil: half of them, rounded down) and draw the rest (completion from the top).
  case below(rows: Int?)
  /// Draw the grid cells that a PNG mask at image size marks (any pixel of the cell at 128 or above).
  case mask(path: String)
  /// Draw the grid cells that a box of image pixels (`top`, `left`, `height`, `width`) touches.
  case box(top: Int, left: Int, height: Int, width: Int)

  /// One flag per position of a `grid`, row-major: true where the prior draws. `imageSize` is the images' height
  /// and width, of which each cell covers `imageSize / grid` pixels.
  /// - Throws: `TrainingError` or `FileError` for rows, a mask or a box that do not fit, or that fill nothing.
  public func positions(grid: (height: Int, width: Int), imageSize: (height: Int, width: Int)) throws -> [Bool] {
    let (cellHeight, cellWidth) = (imageSize.height / grid.height, imageSize.width / grid.width)
    guard cellHeight >= 1, cellWidth >= 1, cellHeight * grid.height == imageSize.height,
      cellWidth * grid.width == imageSize.width
    else {
      throw TrainingError(
        "the prior's \(grid.height)x\(grid.width) grid does not divide the VQ-VAE's \(imageSize.height)x"
          + "\(imageSize.width) images; use the VQ-VAE whose latents the prior learnt from")
    }
    var fill = [Bool](repeating: false, count: grid.height * grid.width)
    switch self {
    case .below(let given):
      let rows = given ?? grid.height / 2
      guard (0..<grid.height).contains(rows) else {
        throw TrainingError(
          "--keep-rows must be 0 to \(grid.height - 1) (the latent grid has \(grid.height) rows), got \(rows)")
      }
      for p in (rows * grid.width)..<fill.count { fill[p] = true }
    case .mask(let path):
      let mask = try readPNG(path: path, channels: 1)
      guard mask.height == imageSize.height, mask.width == imageSize.width else {
        throw FileError(
          path,
          "is \(mask.width)x\(mask.height) but the images are \(imageSize.width)x\(imageSize.height); a "
            + "mask covers the image it fills, white (>= 128) where the prior draws")
      }
      for y in 0..<mask.height {
        for x in 0..<mask.width where mask.pixels[y * mask.width + x] >= 128 {
          fill[(y / cellHeight) * grid.width + x / cellWidth] = true
        }
      }
      guard fill.contains(true) else { throw FileError(path, "marks no pixel (white, >= 128) to fill") }
    case .box(let top, let left, let height, let width):
      guard top >= 0, left >= 0, height >= 1, width >= 1, top < imageSize.height, left < imageSize.width,
        height <= imageSize.height - top, width <= imageSize.width - left
      else {
        throw TrainingError(
          "--box \(top),\(left),\(height),\(width) (top, left, height, width) does not lie within the "
            + "\(imageSize.height)x\(imageSize.width) images")
      }
      for y in stride(from: top / cellHeight, through: (top + height - 1) / cellHeight, by: 1) {
        for x in stride(from: left / cellWidth, through: (left + width - 1) / cellWidth, by: 1) {
          fill[y * grid.width + x] = true
        }
      }
    }
    return fill
  }
}

/// Completions of images by the prior: each image's code grid keeps the positions outside the fill region, the
/// prior draws the rest in raster order (seeing the kept codes before each position as context), and the VQ-VAE
/// decodes them. The picture has a row per image: the original, what was kept (the filled cells grey), and the
/// completions.
public struct Completion: Sendable {
  /// The completed grids: `samples` per image, image after image.
  public let grids: CodeGrids
  /// The images' own code grids.
  public let original: CodeGrids
  /// The class each image was completed under (nil for an unconditional prior).
  public let classes: [Int]?
  /// How the classes were chosen, for messages.
  public let classChoice: String
  /// The picture.
  public let picture: ImageGrid

  /// Completes each of `images` `samples` times.
  /// - Parameters:
  ///   - fill: one flag per latent position (see `FillRegion.positions`), shared by every image.
  ///   - fixedClass: the class of every completion; nil takes the images' labels, or else the class under which the
  ///     prior finds each image's own grid likeliest.
  /// - Throws: `TrainingError` for a prior and a VQ-VAE with different codebooks or a class the prior lacks,
  ///   `TensorError` if the images do not fit.
  public init(
    prior: any Prior, vqvae: VQVAE, images: ImageDataset, fill: [Bool], samples: Int, fixedClass: Int?,
    options: SamplingOptions, seed: UInt64
  ) throws {
    try requireOneCodebook(prior: prior, vqvae: vqvae)
    try requireClass(fixedClass, of: prior)
    original = try CodeGrids(encoding: images, with: vqvae)
    let (height, width) = (original.height, original.width)
    guard fill.count == height * width else {
      throw TrainingError(
        "the VQ-VAE encodes these \(images.height)x\(images.width) images to \(height)x\(width) grids, but the fill "
          + "region has \(fill.count) positions (the prior's grid); use the VQ-VAE whose latents the prior learnt from")
    }
    if prior.classes == 0 {
      (classes, classChoice) = (nil, "unconditional prior")
    } else if let fixedClass {
      (classes, classChoice) = (Array(repeating: fixedClass, count: images.count), "class \(fixedClass)")
    } else if !images.labels.isEmpty, images.labels.allSatisfy({ (0..<prior.classes).contains($0) }) {
      (classes, classChoice) = (images.labels, "the images' labels")
    } else {
      classes = try Scores.likeliestClasses(prior: prior, grids: original)
      classChoice = "the class under which the prior finds each image likeliest"
    }
    let size = height * width
    let count = images.count * samples
    var codes: [Int] = []
    var fills: [Bool] = []
    for n in 0..<images.count {
      for _ in 0..<samples {
        codes += original.indices[(n * size)..<((n + 1) * size)]
        fills += fill
      }
    }
    var rng = RandomGenerator(seed: seed)
    let labels = classes.map { classes in (0..<count).map { classes[$0 / samples] } }
    let drawn = try prior.sample(
      count: count, height: height, width: width, labels: labels, given: GivenCodes(codes: codes, fill: fills),
      options: options, rng: &rng)
    grids = CodeGrids(indices: drawn, count: count, height: height, width: width)

    // Row per image: original, kept part, completions.
    let completions = try grids.decoded(by: vqvae)
    let originals = images.batch(indices: Array(0..<images.count))
    let plane = images.height * images.width
    let (cellHeight, cellWidth) = (images.height / height, images.width / width)
    var tiles: [Float] = []
    for n in 0..<images.count {
      let own = Array(originals[(n * images.imageSize)..<((n + 1) * images.imageSize)])
      var kept = own
      for c in 0..<images.channels {
        for p in 0..<plane where fill[(p / images.width / cellHeight) * width + (p % images.width) / cellWidth] {
          kept[c * plane + p] = 0
        }
      }
      tiles += own + kept
      tiles += completions[(n * samples * images.imageSize)..<((n + 1) * samples * images.imageSize)]
    }
    picture = ImageGrid(
      images: tiles, count: images.count * (samples + 2), channels: images.channels, height: images.height,
      width: images.width, nrow: samples + 2)
  }
}
