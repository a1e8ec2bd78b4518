import ArgumentParser
import CommandSupport
import Foundation
import Pipeline

/// `sample --grid 10x10`: draws code-index grids from a trained prior, decodes them with the VQ-VAE, and writes
/// them as one PNG.
@main
struct Sample: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sample",
    abstract: "Sample new images: draw code grids from the prior, decode them with the VQ-VAE, write a PNG grid.",
    discussion: """
      With a class-conditional prior each row of the grid shows one class, cycling through the classes, unless \
      --class fixes one. The codes fill the prior's latent grid (recorded in its checkpoint), decoded to the \
      VQ-VAE's image size. The PNG follows torchvision's make_grid layout (2-pixel border: 10x10 images of 32x32 \
      make 342x342). The same seed gives the same PNG.
      """)

  @OptionGroup var models: PriorModelFlags

  @Option(help: ArgumentHelp("Rows x columns of images.", valueName: "RxC"))
  var grid = "10x10"

  @OptionGroup(title: "Sampling") var sampling: SamplingFlags

  @Option(help: ArgumentHelp("The PNG to write (default: <run>/samples.png).", valueName: "file.png"))
  var out: String?

  @Option(
    name: .dashedAndUnderscored("save_indices"),
    help: ArgumentHelp(
      "Also save the sampled code grids as an int64 .npy (N, H, W), H x W the prior's latent grid (default: no).",
      valueName: "file.npy"))
  var saveIndices: String?

  /// Rows and columns of `--grid`.
  private var shape: (rows: Int, columns: Int)? {
    let parts = grid.lowercased().split(separator: "x", omittingEmptySubsequences: false)
    guard parts.count == 2, let rows = Int(parts[0]), let columns = Int(parts[1]) else { return nil }
    return (rows, columns)
  }

  func validate() throws {
    guard let (rows, columns) = shape else {
      throw ValidationError("--grid must be ROWSxCOLUMNS, such as 10x10; got '\(grid)'")
    }
    guard (1...100).contains(rows), (1...100).contains(columns) else {
      throw ValidationError("--grid needs 1 to 100 rows and columns, got \(rows)x\(columns)")
    }
    if let out, !out.lowercased().hasSuffix(".png") {
      throw ValidationError("--out must name a .png file, got '\(out)'")
    }
    if let saveIndices, !saveIndices.hasSuffix(".npy") {
      throw ValidationError("--save-indices must name a .npy file, got '\(saveIndices)'")
    }
  }

  func run() throws {
    let stage = try models.load("sample")
    let (rows, columns) = shape!
    print("engine: \(BLASCore.summary)")
    let (samples, seconds) = try stage.sample(
      rows: rows, columns: columns, fixedClass: sampling.fixedClass, options: sampling.options, seed: sampling.seed)
    let path = out ?? (stage.run.path as NSString).appendingPathComponent("samples.png")
    // The codes first: a PNG is only written once the indices it shows are on disk.
    if let saveIndices {
      try NPY.write(
        samples.indices, shape: [rows * columns, stage.prior.grid.height, stage.prior.grid.width], to: saveIndices)
    }
    try samples.image.write(to: path)
    let classes = samples.labels.map { labels in
      let rowClasses = stride(from: 0, to: labels.count, by: columns).map { String(labels[$0]) }
      return sampling.fixedClass.map { "class \($0)" } ?? "classes by row: \(rowClasses.joined(separator: " "))"
    }
    print(
      String(format: "%d images (%dx%d) sampled and decoded in %.2f s", rows * columns, rows, columns, seconds)
        + (classes.map { "; \($0)" } ?? ""))
    print("written to: \(path)" + (saveIndices.map { " and \($0)" } ?? ""))
  }
}
