import ArgumentParser
import CommandSupport
import Foundation
import Pipeline

/// What completion and inpainting share: the models, the images, the number of completions and how codes are drawn.
struct CompletionFlags: ParsableArguments {
  @OptionGroup var models: PriorModelFlags
  @OptionGroup(title: "Images") var images: ImageFlags
  @Option(help: ArgumentHelp("Completions per image.", valueName: "n")) var samples = 6
  @OptionGroup(title: "Sampling") var sampling: SamplingFlags
  @OptionGroup var output: OutFlag

  func validate() throws {
    guard (1...64).contains(samples) else { throw ValidationError("--samples must be 1 to 64, got \(samples)") }
  }

  /// Completes the images (at most 10 unless --limit says otherwise), filling `region`; writes the picture and the
  /// completed grids (`<out>.npy`).
  func run(tool: String, region: FillRegion) throws {
    let stage = try models.load(tool)
    let prior = try stage.prior.model()
    let out = try ToolOutput(output.out, run: stage.run, tool: tool, extension: "png")
    let input = try images.load(for: stage.vqvaeCheckpoint, atMost: 10)
    let (grid, images) = (stage.prior.grid, input.images)
    let fill = try region.positions(grid: grid, imageSize: (images.height, images.width))
    try stage.checkMemory(
      tool, grids: images.count * samples, batchName: "\(images.count) images x --samples \(samples)")
    let start = DispatchTime.now().uptimeNanoseconds
    let completion = try Completion(
      prior: prior, vqvae: stage.vqvae, images: images, fill: fill, samples: samples,
      fixedClass: sampling.fixedClass, options: sampling.options, seed: sampling.seed)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    try completion.grids.write(to: out.beside("npy"))
    try completion.picture.write(to: out.path)
    print(
      String(
        format: "%d images x %d completions, %d of %d latent positions drawn, in %.2f s; classes: %@",
        images.count, samples, fill.filter { $0 }.count, fill.count, seconds, completion.classChoice))
    print("each row: the original, what was kept (the filled cells grey), \(samples) completions")
    print("written to: \(out.path) and \(out.beside("npy"))")
  }
}

/// `complete`: keep the top of each image, draw the rest.
struct Complete: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Complete images from their top rows: the prior redraws the rest of each code grid.",
    discussion: """
      The top --keep-rows rows of each image's latent grid keep its own codes; the prior draws the rest in raster \
      order, seeing the kept codes as context. A class-conditional prior uses --class, else the images' labels, \
      else the class it finds each image likeliest under. Writes <out>.png and the completed grids as <out>.npy.
      """)

  @OptionGroup var flags: CompletionFlags
  @Option(
    name: .dashedAndUnderscored("keep_rows"),
    help: ArgumentHelp("Latent rows kept from the top (default: half the grid).", valueName: "n"))
  var keepRows: Int?

  func run() throws {
    try flags.run(tool: "complete", region: .below(rows: keepRows))
  }
}

/// `inpaint`: redraw a masked region.
struct Inpaint: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Inpaint images: the prior redraws the latent cells under a mask or a box, keeping the rest.",
    discussion: """
      A cell of the latent grid is redrawn when any pixel of it is under the mask (a PNG at image size, white \
      where to fill) or the box. A raster-order prior sees only the kept codes above and to the left of a cell; \
      those below and to the right are kept, not used as context.
      """)

  @OptionGroup var flags: CompletionFlags
  @Option(help: ArgumentHelp("A PNG at image size, white (>= 128) where to fill.", valueName: "mask.png"))
  var mask: String?
  @Option(
    help: ArgumentHelp("The pixel box to fill: top, left, height, width.", valueName: "top,left,height,width"))
  var box: String?

  /// The four numbers of `--box`.
  private var boxValues: [Int]? {
    let parts = box?.split(separator: ",", omittingEmptySubsequences: false).compactMap { Int($0) }
    return parts?.count == 4 ? parts : nil
  }

  func validate() throws {
    guard (mask == nil) != (box == nil) else { throw ValidationError("give one of --mask and --box") }
    if box != nil && boxValues == nil {
      throw ValidationError("--box must be four whole numbers: top,left,height,width; got '\(box!)'")
    }
  }

  func run() throws {
    let region: FillRegion =
      if let mask { .mask(path: mask) } else {
        .box(top: boxValues![0], left: boxValues![1], height: boxValues![2], width: boxValues![3])
      }
    try flags.run(tool: "inpaint", region: region)
  }
}

/// `score`: bits per image under the prior.
struct Score: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Score images by the prior: bits per image to CSV and .npy, and their histogram.",
    discussion: """
      Each image is encoded and its code grid scored: -log2 p(z) summed over the grid. A class-conditional \
      prior uses --class, else the images' labels (not with --no-labels or --against), else p(z) = mean over \
      classes of p(z | c). With --against, a second set of images (another dataset or folder) is scored too, both histograms are drawn \
      on one plot, and the AUROC of telling the second set from the first by a higher score is printed: an \
      out-of-distribution detector.
      """)

  @OptionGroup var models: PriorModelFlags
  @OptionGroup(title: "Images") var images: ImageFlags
  @Option(
    help: ArgumentHelp(
      "A second dataset to score against the first (a name such as MNIST, or a folder of PNGs).",
      valueName: "name-or-dir"))
  var against: String?
  @Option(
    name: .dashedAndUnderscored("against_dir"),
    help: ArgumentHelp("The second dataset's folder (default: its default folder).", valueName: "dir"))
  var againstDir: String?
  @Option(
    name: [.customLong("class"), .customLong("label")],
    help: ArgumentHelp("Score every image under this class (default: see above).", valueName: "n"))
  var fixedClass: Int?
  @Flag(
    name: .customLong("no-labels"),
    help: "Do not use the images' labels: sum over the classes (what an unlabelled image gets).")
  var noLabels = false
  @Option(
    help: ArgumentHelp(
      "The CSV to write (default: <run>/tools/score.csv; the histogram beside it).",
      valueName: "file.csv"))
  var out: String?

  func run() throws {
    let stage = try models.load("score")
    let prior = try stage.prior.model()
    let output = try ToolOutput(out, run: stage.run, tool: "score", extension: "csv")
    let first = try images.load(for: stage.vqvaeCheckpoint)
    func score(_ input: ToolImages) throws -> Scores {
      let grids = try CodeGrids(encoding: input.images, with: stage.vqvae)
      // Told apart from other data, an image's label is what is unknown: both sets are scored unlabelled.
      let useLabels = !noLabels && against == nil
      return try Scores(
        prior: prior, grids: grids, labels: useLabels ? input.images.labels : [], fixedClass: fixedClass)
    }
    let scores = try score(first)
    let positions = stage.prior.grid.height * stage.prior.grid.width
    try ToolOutput.write(
      scores.csv(names: first.names, labels: first.images.labels, positions: positions), to: output.path)
    try FileIO.writeAtomically(
      NPY.encode(doubles: scores.bitsPerImage, shape: [scores.bitsPerImage.count]), to: output.beside("npy"))
    let mean = scores.bitsPerImage.reduce(0, +) / Double(scores.bitsPerImage.count)
    print(
      String(
        format: "%d images: %.1f bits per image on average (%.4f bits per latent); classes: %@",
        scores.bitsPerImage.count, mean, mean / Double(positions), scores.classChoice))
    var sets = [(name: first.name, bits: scores.bitsPerImage)]
    var title = "Bits per image under the prior"
    if let against {
      let isFolder = FileManager.default.fileExists(atPath: against)
      var second = images
      (second.inputs, second.data.dataset, second.data.dataDir) =
        isFolder ? ([against], nil, nil) : ([], against, againstDir)
      let other = try second.load(for: stage.vqvaeCheckpoint)
      let otherScores = try score(other)
      try ToolOutput.write(
        otherScores.csv(names: other.names, labels: other.images.labels, positions: positions),
        to: output.beside("csv", suffix: "-against"))
      let auroc = Scores.auroc(inside: scores.bitsPerImage, outside: otherScores.bitsPerImage)
      let otherMean = otherScores.bitsPerImage.reduce(0, +) / Double(otherScores.bitsPerImage.count)
      print(
        String(
          format: "against %d images of %@: %.1f bits per image on average; AUROC %.4f of telling them apart by "
            + "a higher score (0.5 is chance)", otherScores.bitsPerImage.count, other.description, otherMean, auroc))
      sets.append((other.name, otherScores.bitsPerImage))
      title += String(format: " - AUROC %.3f", auroc)
    }
    try Scores.histogram(sets, title: title).write(to: output.beside("png"))
    print(
      "written to: \(output.path) (bits per image also as \(output.beside("npy")))"
        + (against == nil ? "" : ", \(output.beside("csv", suffix: "-against"))") + " and \(output.beside("png"))")
  }
}
