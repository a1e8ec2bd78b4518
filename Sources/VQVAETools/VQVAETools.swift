import ArgumentParser
import CommandSupport
import Foundation
import Pipeline

/// `vqvae-tools`: what researchers do with a trained run beyond one sample grid.
@main
struct VQVAETools: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vqvae-tools",
    abstract: "Use a trained run: reconstruct, encode and decode images, complete and inpaint them with the prior, "
      + "score them, see the codebook, interpolate; and download a dataset.",
    discussion: """
      Each tool takes the newest finished run under outputs/ unless --vqvae (and --prior) name another, and writes \
      into <run>/tools/ unless --out names a file. Images come from PNG files and folders given as arguments \
      (centre-cropped and resized to the model's image size, as FOLDER training does) or from a dataset split \
      (--dataset, --split; default: the run's own dataset, test split), shaped as the run's training images were.
      """,
    subcommands: [
      Reconstruct.self, Encode.self, Decode.self, Complete.self, Inpaint.self, Score.self, Atlas.self,
      Interpolate.self, Download.self,
    ])
}

/// The trained VQ-VAE a tool uses.
struct VQVAEFlags: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "A vqvae-train run folder or .safetensors checkpoint (default: the newest finished run under outputs/).",
      valueName: "run-dir-or-file"))
  var vqvae: String?

  /// The run folder, its checkpoint and model; prints which it is after `tool: `.
  func load(_ tool: String) throws -> (run: RunFolder, checkpoint: TrainingCheckpoint, model: VQVAE) {
    BLASCore.selectBestCore()
    let (run, path) = try RunFolder.finalCheckpoint(vqvae)
    let checkpoint = try TrainingCheckpoint(contentsOf: path)
    print("\(tool): VQ-VAE \(path) (update \(checkpoint.update))")
    return (run, checkpoint, try checkpoint.model())
  }
}

/// Where a tool's images come from.
struct ImageFlags: ParsableArguments {
  @Argument(
    help: ArgumentHelp("PNG files or folders of PNGs (default: a dataset split, see --dataset).", valueName: "png"))
  var inputs: [String] = []

  @OptionGroup var data: DatasetFlags

  @Option(help: ArgumentHelp("The dataset split: train or test.", valueName: "split"))
  var split = "test"

  @Option(help: ArgumentHelp("Only the first N images (default: all; complete and inpaint: 10).", valueName: "n"))
  var limit: Int?

  func validate() throws {
    guard ["train", "test"].contains(split) else {
      throw ValidationError("--split must be train or test, got '\(split)'")
    }
    if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
    if !inputs.isEmpty && data.dataset != nil {
      throw ValidationError("give PNG files and folders or --dataset, not both")
    }
  }

  /// The images, shaped for the model of `checkpoint`, with at most `atMost` of them when no --limit is given.
  func load(for checkpoint: TrainingCheckpoint, atMost: Int? = nil) throws -> ToolImages {
    let source = ImageSource(
      paths: inputs, dataset: data.dataset, dataDir: data.dataDir, split: split, limit: limit ?? atMost)
    let images = try ToolImages(source, checkpoint: checkpoint)
    print("images: \(images.images.count) from \(images.description)")
    return images
  }
}

/// The main output file of a tool.
struct OutFlag: ParsableArguments {
  @Option(help: ArgumentHelp("The file to write (default: <run>/tools/<tool>.<ext>).", valueName: "file"))
  var out: String?
}

/// `download`: a dataset's files, fetched and verified.
struct Download: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Download MNIST, FASHION_MNIST or CIFAR10 into a folder, verified by SHA-256 and MD5.",
    discussion: """
      The same mirrors as torchvision, tried in turn; each file comes into <name>.part, is resumed if the \
      connection breaks, and is renamed into place only once its size and digests match. CIFAR-10's archive is \
      unpacked with the system's tar. Files already there and whole are not fetched again. scripts/download.sh \
      runs this command.
      """)

  @Argument(help: ArgumentHelp("MNIST, FASHION_MNIST or CIFAR10 (any case).", valueName: "name"))
  var name: String

  @Argument(
    help: ArgumentHelp(
      "The folder (default: ./data; FASHION_MNIST: data/fashion-mnist unless Debian's package is installed).",
      valueName: "dir"))
  var dir: String?

  @OptionGroup(title: "Mirrors") var mirrors: MirrorFlags

  func validate() throws {
    guard let dataset = DatasetName(parsing: name), dataset != .folder else {
      throw ValidationError("name must be MNIST, FASHION_MNIST or CIFAR10, got '\(name)'")
    }
    if dir?.isEmpty == true { throw ValidationError("dir must be a folder's path, not an empty string") }
  }

  func run() throws {
    let dataset = DatasetName(parsing: name)!
    let folder = try mirrors.downloader.ensure(dataset, dataDir: dir)
    print("\(dataset.rawValue) is in \(folder): vqvae-train --dataset \(dataset.rawValue) --data-dir \(folder)")
  }
}
