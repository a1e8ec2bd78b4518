import ArgumentParser
import CommandSupport
import Foundation
import Pipeline

/// `reconstruct`: the run's VQ-VAE over images, with each image's error.
struct Reconstruct: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Reconstruct images: a PNG of originals above reconstructions, per-image error to CSV.",
    discussion: """
      Writes <out>.png (the first --show images, each row of originals above its reconstructions) and <out>.csv \
      (image, name, label, normalized_mse, psnr_db per image). Normalised MSE divides by the training pixels' \
      variance, as training's evaluation does; PSNR is on the [0, 1] scale.
      """)

  @OptionGroup var model: VQVAEFlags
  @OptionGroup(title: "Images") var images: ImageFlags
  @Option(help: ArgumentHelp("Images shown in the PNG.", valueName: "n")) var show = 64
  @Option(help: ArgumentHelp("Images per row of the PNG.", valueName: "n")) var columns = 8
  @OptionGroup var output: OutFlag

  func validate() throws {
    guard (1...1024).contains(show) else { throw ValidationError("--show must be 1 to 1024, got \(show)") }
    guard (1...64).contains(columns) else { throw ValidationError("--columns must be 1 to 64, got \(columns)") }
  }

  func run() throws {
    let (run, checkpoint, vqvae) = try model.load("reconstruct")
    let out = try ToolOutput(output.out, run: run, tool: "reconstruct", extension: "png")
    let input = try images.load(for: checkpoint)
    guard let variance = checkpoint.configuration.recordedVariance else {
      throw ValidationError("\(checkpoint.path): its config does not record data_variance")
    }
    let result = try Reconstruction(
      model: vqvae, images: input.images, variance: variance, shown: show, columns: columns)
    try ToolOutput.write(result.csv(names: input.names, labels: input.images.labels), to: out.beside("csv"))
    try result.picture.write(to: out.path)
    print(
      String(
        format: "%d images: normalised MSE %.4f, PSNR %.2f dB (per image: normalised MSE %.4f to %.4f)",
        input.images.count, result.meanNormalizedMSE, result.meanPSNR, result.normalizedMSE.min()!,
        result.normalizedMSE.max()!))
    print("written to: \(out.path) and \(out.beside("csv"))")
  }
}

/// `encode`: images to code grids.
struct Encode: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Encode images to code grids: an int64 .npy of shape (N, H, W), H x W the latent grid.",
    discussion: """
      The layout of extract-latents' train_indices.npy; numpy.load reads it. Labels, when the images have them \
      (a dataset, or one folder of class subfolders), go to <out>-labels.npy.
      """)

  @OptionGroup var model: VQVAEFlags
  @OptionGroup(title: "Images") var images: ImageFlags
  @Option(help: ArgumentHelp("The .npy to write (default: <run>/tools/encode.npy).", valueName: "file.npy"))
  var out: String?

  func run() throws {
    let (run, checkpoint, vqvae) = try model.load("encode")
    let output = try ToolOutput(out, run: run, tool: "encode", extension: "npy")
    let input = try images.load(for: checkpoint)
    let grids = try CodeGrids(encoding: input.images, with: vqvae)
    try grids.write(to: output.path)
    var written = output.path
    if !input.images.labels.isEmpty {
      try NPY.write(input.images.labels, shape: [input.images.count], to: output.beside("npy", suffix: "-labels"))
      written += " and \(output.beside("npy", suffix: "-labels"))"
    }
    let used = Set(grids.indices).count
    print(
      "\(grids.count) grids of \(grids.height)x\(grids.width); codes used \(used)/\(vqvae.configuration.embeddings)")
    print("written to: \(written)")
  }
}

/// `decode`: code grids to images.
struct Decode: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Decode code grids (an int64 .npy of (N, H, W), from any tool) to a PNG grid, or to one PNG each.",
    discussion: """
      The grids must be the VQ-VAE's latent grid and every code must lie in its codebook. This is how a prior \
      trained elsewhere, or codes edited by hand, become images.
      """)

  @OptionGroup var model: VQVAEFlags
  @Argument(help: ArgumentHelp("The .npy of code grids.", valueName: "codes.npy")) var codes: String
  @Option(help: ArgumentHelp("Images per row of the PNG grid.", valueName: "n")) var columns = 10
  @Option(
    name: .dashedAndUnderscored("each_dir"),
    help: ArgumentHelp("Also write each image as <dir>/<n>.png (default: no).", valueName: "dir"))
  var eachDir: String?
  @Option(help: ArgumentHelp("The PNG grid to write (default: <run>/tools/decode.png).", valueName: "file.png"))
  var out: String?

  func validate() throws {
    guard (1...100).contains(columns) else { throw ValidationError("--columns must be 1 to 100, got \(columns)") }
  }

  func run() throws {
    let (run, checkpoint, vqvae) = try model.load("decode")
    let output = try ToolOutput(out, run: run, tool: "decode", extension: "png")
    guard let shape = checkpoint.configuration.recordedImageShape else {
      throw ValidationError("\(checkpoint.path): its config does not record image_shape")
    }
    let grids = try CodeGrids(contentsOf: codes, for: vqvae, imageShape: shape)
    var memory = MemoryEstimate()
    memory.add("the decoded images", bytes: 4 * Double(grids.count) * Double(shape.reduce(1, *)))
    try memory.check("decode")
    let decoded = try grids.decoded(by: vqvae)
    let picture = ImageGrid(
      images: decoded, count: grids.count, channels: shape[0], height: shape[1], width: shape[2], nrow: columns)
    try picture.write(to: output.path)
    if let eachDir {
      try ToolOutput.makeFolder(eachDir, flag: "--each-dir")
      let size = shape.reduce(1, *)
      for n in 0..<grids.count {
        let image = ImageGrid(
          images: Array(decoded[(n * size)..<((n + 1) * size)]), count: 1, channels: shape[0], height: shape[1],
          width: shape[2])
        try image.write(to: (eachDir as NSString).appendingPathComponent("\(n).png"))
      }
    }
    print("\(grids.count) grids of \(grids.height)x\(grids.width) decoded to \(shape[1])x\(shape[2]) images")
    print("written to: \(output.path)" + (eachDir.map { " and \($0)/0.png ..." } ?? ""))
  }
}

/// `atlas`: every code decoded, by usage.
struct Atlas: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "The codebook atlas: each code decoded as a grid of only that code, the most used first, its usage "
      + "under it.",
    discussion: """
      Usage is each code's share (in percent) of the latent positions of the images encoded (default: the run's \
      test split); dead codes show 0 and come last. Writes <out>.png and <out>.csv (rank, code, count, percent).
      """)

  @OptionGroup var model: VQVAEFlags
  @OptionGroup(title: "Images whose codes are counted") var images: ImageFlags
  @Option(help: ArgumentHelp("Tiles per row.", valueName: "n")) var columns = 32
  @OptionGroup var output: OutFlag

  func validate() throws {
    guard (1...256).contains(columns) else { throw ValidationError("--columns must be 1 to 256, got \(columns)") }
  }

  func run() throws {
    let (run, checkpoint, vqvae) = try model.load("atlas")
    let out = try ToolOutput(output.out, run: run, tool: "atlas", extension: "png")
    let input = try images.load(for: checkpoint)
    let grids = try CodeGrids(encoding: input.images, with: vqvae)
    var usage = [Int](repeating: 0, count: vqvae.configuration.embeddings)
    for code in grids.indices { usage[code] += 1 }
    let atlas = try CodebookAtlas(vqvae: vqvae, usage: usage, grid: (grids.height, grids.width), columns: columns)
    try ToolOutput.write(atlas.csv, to: out.beside("csv"))
    try atlas.picture.write(to: out.path)
    let dead = usage.filter { $0 == 0 }.count
    print(
      "\(usage.count) codes over \(grids.indices.count) positions: \(usage.count - dead) used, \(dead) dead; "
        + "tiles enlarged \(atlas.picture.scale)x")
    print("written to: \(out.path) and \(out.beside("csv"))")
  }
}

/// `interpolate`: a walk between two images.
struct Interpolate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Interpolate between two images: their encoder outputs blended in steps, quantised, decoded as a strip.",
    discussion: """
      Give two PNGs, or take two images of a dataset split with --pair. The strip shows the first image, the \
      --steps decoded blends (the first and the last are the two reconstructions) and the second image.
      """)

  @OptionGroup var model: VQVAEFlags
  @OptionGroup(title: "Images") var images: ImageFlags
  @Option(help: ArgumentHelp("The two images of the dataset split, by index.", valueName: "i,j")) var pair = "0,1"
  @Option(help: ArgumentHelp("Blends from the first image to the second.", valueName: "n")) var steps = 8
  @OptionGroup var output: OutFlag

  /// The indices of `--pair`.
  private var indices: (Int, Int)? {
    let parts = pair.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
    guard parts.count == 2, let i = parts[0], let j = parts[1], i >= 0, j >= 0 else { return nil }
    return (i, j)
  }

  func validate() throws {
    guard (2...64).contains(steps) else { throw ValidationError("--steps must be 2 to 64, got \(steps)") }
    guard indices != nil else { throw ValidationError("--pair must be two image indices such as 0,1; got '\(pair)'") }
    guard images.inputs.isEmpty || images.inputs.count == 2 else {
      throw ValidationError("give two PNG files, got \(images.inputs.count) paths")
    }
  }

  func run() throws {
    let (run, checkpoint, vqvae) = try model.load("interpolate")
    let out = try ToolOutput(output.out, run: run, tool: "interpolate", extension: "png")
    let (i, j) = images.inputs.isEmpty ? indices! : (0, 1)
    let input = try images.load(for: checkpoint, atMost: max(i, j) == Int.max ? Int.max : max(i, j) + 1)
    guard max(i, j) < input.images.count else {
      throw ValidationError("--pair \(pair): the images hold only \(input.images.count)")
    }
    let walk = try Interpolation(vqvae: vqvae, images: input.images.subset([i, j]), steps: steps)
    try walk.picture.write(to: out.path)
    print("\(input.names[i]) to \(input.names[j]) in \(steps) steps")
    print("written to: \(out.path)")
  }
}
