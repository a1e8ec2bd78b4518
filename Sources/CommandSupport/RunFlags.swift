import ArgumentParser
import Foundation
import Pipeline

/// The dataset a command reads from a trained run's point of view: by default the run's own.
public struct DatasetFlags: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "FASHION_MNIST, MNIST, CIFAR10 or FOLDER, any case (default: the dataset the run was trained on).",
      valueName: "name"))
  public var dataset: String?

  @Option(
    name: .dashedAndUnderscored("data_dir"),
    help: ArgumentHelp("Dataset folder (default: the run's, or the dataset's default folder).", valueName: "dir"))
  public var dataDir: String?

  public init() {}
}

/// A trained prior and the VQ-VAE that decodes its codes, as `sample` and the tools that use a prior name them.
public struct PriorModelFlags: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "A vqvae-train run folder or .safetensors checkpoint (default: the one the prior's latents came from, "
        + "else the newest finished run).", valueName: "run-dir-or-file"))
  public var vqvae: String?

  @Option(
    help: ArgumentHelp(
      "A prior folder, a run folder (its prior/) or a .safetensors prior (default: the newest run's prior/).",
      valueName: "dir-or-file"))
  public var prior: String?

  public init() {}

  /// Both models, found as `SampleStage` finds them, after the BLAS core is chosen; prints which they are after
  /// `command: `.
  public func load(_ command: String) throws -> SampleStage {
    BLASCore.selectBestCore()
    let stage = try SampleStage(vqvae: vqvae, prior: prior)
    print("\(command): prior \(stage.priorPath) (update \(stage.prior.update)), VQ-VAE \(stage.vqvaePath)")
    if let note = stage.priorNote { print("note: \(note)") }
    return stage
  }
}
