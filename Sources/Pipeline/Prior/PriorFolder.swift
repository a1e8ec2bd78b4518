import Foundation

/// The folder a prior's training run leaves behind, `<run>/prior/` by default:
///
///     config.json                      the effective configuration
///     checkpoints/prior.safetensors    the final state; prior-<update>.safetensors along the way, and
///                                      best.safetensors, the state with the lowest test loss
///     metrics.jsonl                    one JSON object per log interval and per evaluation
///     images/loss.png                  train and test bits per latent, redrawn at each evaluation
///     images/samples.png               a 10x10 grid of decoded samples (one class per row), drawn after training
///     summary.json                     the final figures
public struct PriorFolder: OutputFolder {
  /// The folder's path, as given.
  public let path: String

  public var checkpointName: String { "prior" }

  public init(path: String) { self.path = path }

  /// `images/samples.png`.
  public var samplesPath: String { file("images/samples.png") }

  /// Creates the folder with its `checkpoints/` and `images/`.
  /// - Throws: `TrainingError` if it already holds files or cannot be created or written.
  public static func create(_ path: String) throws -> PriorFolder {
    let folder = PriorFolder(path: path)
    try RunFolder.prepareEmptyFolder(path) { _ in "; it holds an earlier prior (delete it to train again)" }
    try folder.reopen()
    return folder
  }

  /// Opens an existing prior to resume it (see `OutputFolder.reopen`): a prior folder, a run folder holding
  /// `prior/`, or one of its checkpoint files; without `reopening`, as the ranks beside the leader do, it is only read.
  /// - Returns: the folder and its latest checkpoint (the one with the most updates), or nil when the prior stopped
  ///   before its first checkpoint and starts again from its `config.json`.
  /// - Throws: `TrainingError` if there is no prior there, or another process holds it.
  public static func open(
    resuming target: String, reopening: Bool = true
  ) throws -> (folder: PriorFolder, checkpoint: PriorCheckpoint?) {
    if target.hasSuffix(".safetensors") {
      let folder = PriorFolder(path: folderPath(ofCheckpoint: target))
      if reopening { try folder.reopen() }
      return (folder, try PriorCheckpoint(contentsOf: target))
    }
    guard let folder = named(target) else {
      throw TrainingError("--resume \(target): not a prior folder (no config.json there or in its prior/)")
    }
    if reopening { try folder.reopen() }
    return (folder, try folder.latestCheckpoint().map { try PriorCheckpoint(state: $0) })
  }

  /// Resolves a `--prior` argument: a `.safetensors` file, a prior folder (its final checkpoint), a run folder (its
  /// `prior/`), or nil for the newest finished run's prior. A prior that was stopped before its end gives its latest
  /// checkpoint, with a note that says so.
  /// - Throws: `TrainingError` if there is no prior checkpoint there.
  public static func finalCheckpoint(_ target: String?) throws -> (path: String, note: String?) {
    if let target, target.hasSuffix(".safetensors") {
      guard FileManager.default.fileExists(atPath: target) else { throw TrainingError("\(target): file not found") }
      return (target, nil)
    }
    let folder: PriorFolder
    if let target {
      folder = named(target) ?? PriorFolder(path: (target as NSString).appendingPathComponent("prior"))
    } else {
      folder = PriorFolder(path: (try RunFolder.latest().path as NSString).appendingPathComponent("prior"))
    }
    let path = folder.checkpointPath(update: nil)
    if FileManager.default.fileExists(atPath: path) { return (path, nil) }
    if let latest = try folder.latestCheckpoint() {
      return (
        latest.path,
        "the prior in \(folder.path) did not finish; sampling from its latest checkpoint (update \(latest.update)). "
          + "Finish it with gated-pixelcnn --resume \(folder.path)"
      )
    }
    throw TrainingError(
      "no trained prior at \(path); train one with gated-pixelcnn --dataset LATENT_BLOCK"
        + (target == nil ? " (the newest run under outputs/ has none)" : ""))
  }

  /// The prior that a folder argument names: the run folder's `prior/`, or the folder itself, whichever holds a
  /// `config.json` (a run folder has one of its own, so its `prior/` comes first); nil when neither does.
  private static func named(_ target: String) -> PriorFolder? {
    [PriorFolder(path: (target as NSString).appendingPathComponent("prior")), PriorFolder(path: target)]
      .first { FileManager.default.fileExists(atPath: $0.configPath) }
  }
}
