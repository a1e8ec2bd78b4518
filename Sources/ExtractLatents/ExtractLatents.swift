import ArgumentParser
import CommandSupport
import Foundation
import Pipeline

/// `extract-latents`: encodes a dataset with a trained VQ-VAE into the LATENT_BLOCK dataset of code-index grids.
@main
struct ExtractLatents: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "extract-latents",
    abstract: "Encode every train and test image with a trained VQ-VAE; save the code-index grids (LATENT_BLOCK).",
    discussion: """
      Writes train_indices.npy and test_indices.npy (int64, shape (N, H, W): the latent grid, 8x8 for 32x32 images with downsamples 2), train_labels.npy \
      and test_labels.npy (int64, (N,)) and latents.json (K, grid shape, dataset, counts, the checkpoint and its \
      SHA-256, codes used, per-code histogram). numpy.load reads the .npy files with no flags. gated-pixelcnn \
      --dataset LATENT_BLOCK learns the prior from them.
      """)

  @Option(
    help: ArgumentHelp(
      "A vqvae-train run folder (its final checkpoint) or a .safetensors checkpoint (default: the newest finished "
        + "run under outputs/).", valueName: "run-dir-or-file"))
  var checkpoint: String?

  @OptionGroup var data: DatasetFlags

  @Option(
    name: .dashedAndUnderscored("output_dir"),
    help: ArgumentHelp("Where the LATENT_BLOCK goes (default: <run>/latents).", valueName: "dir"))
  var outputDir: String?

  @Option(
    name: .dashedAndUnderscored("batch_size"),
    help: ArgumentHelp("Images per encoder pass.", valueName: "n"))
  var batchSize = 256

  @Option(
    name: .dashedAndUnderscored("train_limit"),
    help: ArgumentHelp("Encode only the first N training images (default: all).", valueName: "n"))
  var trainLimit: Int?

  @Option(
    name: .dashedAndUnderscored("test_limit"),
    help: ArgumentHelp("Encode only the first N test images (default: all).", valueName: "n"))
  var testLimit: Int?

  func validate() throws {
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    for (flag, limit) in [("--train-limit", trainLimit), ("--test-limit", testLimit)] {
      if let limit, limit < 1 { throw ValidationError("\(flag) must be at least 1, got \(limit)") }
    }
  }

  func run() throws {
    BLASCore.selectBestCore()
    let extractor = try LatentExtractor(
      checkpoint: checkpoint, dataset: data.dataset, dataDir: data.dataDir, outputDir: outputDir, batchSize: batchSize,
      trainLimit: trainLimit, testLimit: testLimit)
    let model = extractor.model.configuration
    print(
      "extract-latents: \(extractor.checkpointPath) (update \(extractor.checkpoint.update), K \(model.embeddings) "
        + "x D \(model.embeddingDim))")
    print(
      "data: \(extractor.dataset.rawValue) from \(extractor.dataDir): \(extractor.data.train.count) training and "
        + "\(extractor.data.test.count) test images; batch \(extractor.batchSize)")
    print("engine: \(BLASCore.summary)")
    extractor.reporter = ProgressReporter()
    let block = try extractor.run()
    let (trainUsed, testUsed) = (Set(block.train.indices), Set(block.test.indices))
    print(
      "LATENT_BLOCK: \(block.train.count) + \(block.test.count) grids of \(block.height)x\(block.width); codes used "
        + "\(trainUsed.union(testUsed).count)/\(block.codebookSize) (train \(trainUsed.count), test \(testUsed.count))")
    print("written to:   \(extractor.outputDir)/ (train_indices.npy, test_indices.npy, labels, latents.json)")
  }
}
