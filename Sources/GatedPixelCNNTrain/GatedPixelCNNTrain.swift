import ArgumentParser
import CommandSupport
import Pipeline

/// `gated-pixelcnn --dataset LATENT_BLOCK`: fits the gated PixelCNN prior to the code-index grids and ends with a
/// sample grid.
@main
struct GatedPixelCNNTrain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gated-pixelcnn",
    abstract: "Fit the gated PixelCNN prior to a LATENT_BLOCK; report its likelihood and draw a sample grid.",
    discussion: """
      Every setting is also a key of a JSON config file (--config; the file's "prior" object when it also \
      configures the VQ-VAE). A flag overrides the file, the file overrides the default. Flags also take the \
      underscore spelling (--batch_size).

      The prior folder (default: prior/ beside the latents) gets config.json, checkpoints/prior.safetensors \
      (the classic GatedPixelCNN's parameter names), metrics.jsonl (train and test bits per latent, top-1 \
      accuracy), summary.json, images/loss.png and images/samples.png (10x10, one class per row, decoded with \
      the VQ-VAE that made the latents). The default run (2 epochs of 60,000 Fashion-MNIST grids, 3,750 updates) \
      takes about 12 minutes on 2 cores. Ctrl-C saves the state and stops; --resume DIR goes on from the latest \
      checkpoint and ends with the same weights as an uninterrupted run. checkpoints/best.safetensors holds the \
      state with the lowest test loss.
      """)

  @OptionGroup var options: RunOptions
  @OptionGroup(title: "Settings") var settings: PriorSettingsOptions

  func run() throws {
    BLASCore.selectBestCore()
    try train { group in
      try PriorTrainer(
        configFile: options.config, overrides: settings.overrides, resume: options.resume, group: group)
    }
  }
}
