import Crypto
import Foundation

/// The second stage of the pipeline: encodes every train and test image of a dataset with a trained VQ-VAE and saves
/// the code-index grids as a LATENT_BLOCK (see `LatentBlock`).
public final class LatentExtractor {
  /// The checkpoint file the model came from.
  public let checkpointPath: String
  /// The checkpoint's update and configuration.
  public let checkpoint: TrainingCheckpoint
  /// The trained model.
  public let model: VQVAE
  /// The dataset encoded.
  public let dataset: DatasetName
  /// Its folder.
  public let dataDir: String
  /// The images.
  public let data: TrainingData
  /// Where the LATENT_BLOCK goes.
  public let outputDir: String
  /// Images per encoder pass.
  public let batchSize: Int
  /// Where to show progress; nil encodes silently.
  public var reporter: ProgressReporter?

  /// Resolves and checks everything before any work: the checkpoint (a run folder's final checkpoint, a checkpoint
  /// file, or by default the newest run under `outputs/`), the dataset (by default the one the run was trained on),
  /// that its images fit the model, and that the output folder (default `<run>/latents`) can be written.
  /// - Throws: `TrainingError` or `FileError` naming the flag, file or folder at fault.
  public init(
    checkpoint target: String?, dataset datasetName: String?, dataDir: String?, outputDir: String?,
    batchSize: Int = 256, trainLimit: Int? = nil, testLimit: Int? = nil
  ) throws {
    guard batchSize >= 1 else { throw TrainingError("--batch-size must be at least 1, got \(batchSize)") }
    for (flag, limit) in [("--train-limit", trainLimit), ("--test-limit", testLimit)] {
      if let limit, limit < 1 { throw TrainingError("\(flag) must be at least 1 when set, got \(limit)") }
    }
    let (folder, path) = try RunFolder.finalCheckpoint(target)
    checkpoint = try TrainingCheckpoint(contentsOf: path)
    model = try checkpoint.model()
    let trained = checkpoint.configuration
    var settings = try trained.reading(dataset: datasetName, dataDir: dataDir)
    (dataset, self.dataDir) = (settings.dataset, settings.dataDir ?? settings.dataset.defaultDataDirectory)
    (settings.trainLimit, settings.testLimit) = (trainLimit, testLimit)
    data = try TrainingData.load(settings)
    guard data.train.channels == trained.model.inChannels else {
      throw TrainingError(
        "\(path) was trained on \(trained.model.inChannels)-channel images, but \(dataset.rawValue) in "
          + "\(self.dataDir) has \(data.train.channels)-channel images; pass the dataset the model was trained on")
    }
    // A batch larger than the larger split is that split.
    let batchSize = min(batchSize, max(data.train.count, data.test.count))
    var memory = MemoryEstimate()
    memory.addBatch(
      trained.model.footprint(height: data.train.height, width: data.train.width), of: batchSize, "--batch-size",
      training: false)
    try memory.check("extract-latents")
    checkpointPath = path
    if outputDir?.isEmpty == true { throw TrainingError("--output-dir must be a path, not an empty string") }
    self.outputDir = outputDir ?? (folder.path as NSString).appendingPathComponent("latents")
    // The block is written beside its folder and renamed into place (see `run`): the parent must be writable.
    let parent =
      (self.outputDir as NSString).deletingLastPathComponent.isEmpty
      ? "." : (self.outputDir as NSString).deletingLastPathComponent
    try RunFolder.makeDirectories(parent, for: self.outputDir)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw TrainingError("cannot create the output folder \(self.outputDir): \(parent) is a file")
    }
    guard access(parent, W_OK) == 0 else {
      throw TrainingError("output folder \(self.outputDir) cannot be written (\(parent) is not writable)")
    }
    self.batchSize = batchSize
  }

  /// Encodes both splits and writes the LATENT_BLOCK.
  /// - Returns: the block that was written.
  /// - Throws: `FileError` or `TrainingError` if a file cannot be written.
  @discardableResult
  public func run() throws -> LatentBlock {
    let train = try encode(data.train, split: "train")
    let test = try encode(data.test, split: "test")
    let (height, width) = model.configuration.latentGrid(height: data.train.height, width: data.train.width)
    let block = try LatentBlock(
      train: train, test: test, codebookSize: model.configuration.embeddings, height: height, width: width,
      classCount: data.train.labels.isEmpty ? 0 : data.train.classCount, dataset: dataset.rawValue,
      checkpoint: checkpointPath, source: outputDir)
    let digest = hexDigits(SHA256.hash(data: try FileIO.read(checkpointPath)))
    let source = LatentSource(
      dataset: dataset.rawValue, dataDir: dataDir, checkpoint: checkpointPath, checkpointSHA256: digest,
      checkpointUpdate: checkpoint.update, embeddingDim: model.configuration.embeddingDim)
    // Whole or not at all: a kill or a full disk leaves the previous block, or none.
    try FileIO.replaceFolder(at: outputDir) { try block.write(to: $0, source: source) }
    return block
  }

  /// The code-index grids of every image of `images`, in order, encoded in batches with gradients off.
  public func encode(_ images: ImageDataset, split: String) throws -> LatentSplit {
    let start = DispatchTime.now().uptimeNanoseconds
    let grids = try CodeGrids(encoding: images, with: model, batchSize: batchSize) { done in
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
      let text =
        "\(split): \(done)/\(images.count) images"
        + ProgressReporter.speed(Double(done) / seconds, remaining: images.count - done, unit: "images/s")
      if done == images.count { self.reporter?.message(text) } else { self.reporter?.status(text) }
    }
    return LatentSplit(indices: grids.indices, labels: images.labels, count: images.count)
  }
}
