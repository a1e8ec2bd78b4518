import ArgumentParser
import CommandSupport
import Pipeline

/// `vqvae-train`: trains the VQ-VAE and leaves a run folder (config, checkpoints, metrics, images, summary).
@main
struct VQVAETrain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vqvae-train",
    abstract: "Train a VQ-VAE on images; leave a run folder with checkpoints, metrics and reconstruction grids.",
    discussion: """
      Every setting is also a key of a JSON config file (--config, see configs/*.json; keys are the underscore \
      spellings, e.g. "batch_size"). A flag overrides the file, the file overrides the default. Flags also take \
      the PyTorch repo's underscore spelling (--batch_size).

      The run folder gets config.json, checkpoints/ (the final vqvae.safetensors, best.safetensors by test loss, \
      numbered ones along the way), metrics.jsonl, images/ (reconstruction grids, code usage, loss.png) and \
      summary.json. Ctrl-C saves a checkpoint and stops; --resume RUN_DIR goes on from the latest checkpoint and \
      ends with the same weights as an uninterrupted run.
      """)

  @OptionGroup var options: RunOptions
  @OptionGroup(title: "Download") var download: DownloadFlags
  @OptionGroup(title: "Settings") var settings: VQVAESettingsOptions

  func run() throws {
    BLASCore.selectBestCore()
    try train { group in
      var overrides = settings.overrides
      if download.download && options.resume == nil {
        let configuration = try TrainingConfiguration.resolve(configFile: options.config, overrides: overrides)
        // Under mpirun the leader downloads; the other ranks then find the files in place.
        let dir = try group.leaderFirst {
          try download.mirrors.downloader.ensure(configuration.dataset, dataDir: configuration.dataDir)
        }
        if dir != configuration.dataDir ?? configuration.dataset.defaultDataDirectory {
          overrides.append(("data_dir", .string(dir)))
        }
      }
      return try Trainer(configFile: options.config, overrides: overrides, resume: options.resume, group: group)
    }
  }
}
