import Foundation

/// The files every training run's folder has, the VQ-VAE's and the prior's.
public protocol OutputFolder: Sendable {
  /// The folder's path, as given.
  var path: String { get }
  /// What its checkpoints are named after: `vqvae`, `prior`.
  var checkpointName: String { get }
}

extension OutputFolder {
  /// `checkpoints/<name>-<update>.safetensors`, or the final `checkpoints/<name>.safetensors` for nil.
  public func checkpointPath(update: Int?) -> String {
    file("checkpoints/\(checkpointName)\(update.map { "-\($0)" } ?? "").safetensors")
  }
  /// `checkpoints/best.safetensors`: the state with the lowest test loss of the run's evaluations.
  public var bestCheckpointPath: String { file("checkpoints/best.safetensors") }
  /// `config.json`: the effective configuration.
  public var configPath: String { file("config.json") }
  /// `metrics.jsonl`.
  public var metricsPath: String { file("metrics.jsonl") }
  /// `summary.json`: the final figures.
  public var summaryPath: String { file("summary.json") }
  /// `checkpoints/`.
  public var checkpointsPath: String { file("checkpoints") }
  /// `images/`.
  public var imagesPath: String { file("images") }
  /// `images/loss.png`.
  public var lossPlotPath: String { file("images/loss.png") }
  /// `tb/`: the TensorBoard event file.
  public var tensorBoardPath: String { file("tb") }

  /// Opens the folder of a new run, or of one to go on with: takes its lock (see `FolderLock`), makes any of
  /// `checkpoints/` and `images/` not yet made (or that a kill left unmade), and removes the temporary files of writes
  /// that a kill cut short (`<file>.tmp-<pid>`; with the lock held, no other process is writing them).
  /// - Throws: `TrainingError` if another process holds the folder or a subfolder cannot be made.
  func reopen() throws {
    try FolderLock.take(path)
    for folder in [path, checkpointsPath, imagesPath] {
      try RunFolder.makeDirectories(folder, for: path)
      for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.contains(".tmp-") {
        unlink((folder as NSString).appendingPathComponent(name))
      }
    }
  }

  /// `name` inside the folder.
  func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// The folder of the run (or prior) whose checkpoint is the file `path`: `<folder>/checkpoints/<name>.safetensors`.
func folderPath(ofCheckpoint path: String) -> String {
  let folder = ((path as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
  return folder.isEmpty ? "." : folder
}

/// The folder a training run leaves behind:
///
///     config.json                      the effective configuration
///     checkpoints/vqvae.safetensors    the final state; vqvae-<update>.safetensors along the way, and
///                                      best.safetensors, the state with the lowest test loss
///     metrics.jsonl                    one JSON object per log interval and per evaluation
///     images/recon-<update>.png        test images above their reconstructions, at each evaluation
///     images/loss.png                  the loss curves, redrawn at each evaluation
///     images/codes-<update>.png        how often each code was used on the test split, at each evaluation
///     summary.json                     the final test figures
public struct RunFolder: OutputFolder {
  /// The folder's path, as given.
  public let path: String
  public var checkpointName: String { "vqvae" }

  /// `images/codes-<update>.png`, the per-code usage histogram of the evaluation at `update`.
  public func codeUsagePath(update: Int) -> String { file("images/codes-\(update).png") }

  /// `images/recon-<update>.png`.
  public func reconstructionPath(update: Int) -> String { file("images/recon-\(update).png") }

  /// `outputs/vqvae-<dataset>-<yyyyMMdd-HHmmss>`, the default place of a new run, in local time.
  public static func defaultPath(dataset: DatasetName, date: Date = Date()) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    return "outputs/vqvae-\(dataset.rawValue.lowercased())-\(formatter.string(from: date))"
  }

  /// Creates the folder of a new run with its `checkpoints/` and `images/`.
  /// - Throws: `TrainingError` if it already holds files or cannot be created or written.
  public static func create(_ path: String) throws -> RunFolder {
    let folder = RunFolder(path: path)
    try prepareEmptyFolder(path) { entries in
      entries.contains("config.json") ? "; to continue that run, use --resume \(path)" : ""
    }
    try folder.reopen()
    return folder
  }

  /// Makes `path`, refusing a file or a folder that already holds a run (`hint` says what to do about its entries),
  /// and takes the folder's lock (see `FolderLock`); `OutputFolder.reopen` then makes its subfolders.
  /// - Throws: `TrainingError` naming the folder; nothing is created when the folder is refused.
  static func prepareEmptyFolder(_ path: String, hint: ([String]) -> String) throws {
    guard !path.isEmpty else { throw TrainingError("the output folder is an empty path; name a folder") }
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
    if exists && !isDirectory.boolValue { throw TrainingError("output folder \(path) is a file") }
    // The nearest folder that exists must be writable, or nothing can be made below it.
    var existing = exists ? path : (path as NSString).deletingLastPathComponent
    while !existing.isEmpty && !FileManager.default.fileExists(atPath: existing) {
      existing = (existing as NSString).deletingLastPathComponent
    }
    guard access(existing.isEmpty ? "." : existing, W_OK) == 0 else {
      throw TrainingError(
        "output folder \(path) cannot be written (\(existing.isEmpty ? "." : existing) is not writable)")
    }
    func refuseARun() throws {
      guard !holdsNoRun(path) else { return }
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
      throw TrainingError("output folder \(path) is not empty; choose a new --output-dir\(hint(entries))")
    }
    if exists { try refuseARun() }
    try makeDirectories(path, for: path)
    try FolderLock.take(path)
    // Another run may have started here between the look above and the lock.
    try refuseARun()
  }

  /// Whether the folder at `path` holds nothing of a run: no file but `.lock` and temporary files of cut-short
  /// writes, and no folder but the `checkpoints/` and `images/` that a run stopped at its very start (a full disk
  /// before its `config.json`, say) leaves. Such a folder takes a new run.
  static func holdsNoRun(_ path: String) -> Bool {
    let manager = FileManager.default
    for entry in manager.enumerator(atPath: path)?.compactMap({ $0 as? String }) ?? [] {
      var isDirectory: ObjCBool = false
      _ = manager.fileExists(atPath: (path as NSString).appendingPathComponent(entry), isDirectory: &isDirectory)
      let allowed =
        isDirectory.boolValue
        ? ["checkpoints", "images"].contains(entry) : entry == ".lock" || entry.contains(".tmp-")
      if !allowed { return false }
    }
    return true
  }

  /// `mkdir -p`, with errno's reason in the error (Foundation's only says "error 512"); `runPath` is the output
  /// folder the error names.
  static func makeDirectories(_ target: String, for runPath: String) throws {
    var current = target.hasPrefix("/") ? "/" : ""
    for component in target.split(separator: "/") {
      current = (current as NSString).appendingPathComponent(String(component))
      if mkdir(current, 0o755) != 0 && errno != EEXIST {
        let reason = String(cString: strerror(errno))
        throw TrainingError("cannot create the output folder \(runPath): \(current): \(reason)")
      }
    }
  }

  /// The newest run under `root` that has a final checkpoint (by that checkpoint's modification time).
  /// - Throws: `TrainingError` if there is none.
  public static func latest(under root: String = "outputs") throws -> RunFolder {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    let runs = entries.compactMap { name -> (RunFolder, Date)? in
      let folder = RunFolder(path: (root as NSString).appendingPathComponent(name))
      let attributes = try? FileManager.default.attributesOfItem(atPath: folder.checkpointPath(update: nil))
      return (attributes?[.modificationDate] as? Date).map { (folder, $0) }
    }
    guard let newest = runs.max(by: { $0.1 < $1.1 }) else {
      throw TrainingError(
        "no finished vqvae-train run under \(root)/ (none has checkpoints/vqvae.safetensors); train one with "
          + "vqvae-train, or name a run folder or checkpoint file")
    }
    return newest.0
  }

  /// Resolves a checkpoint argument: a `.safetensors` file (its run folder is two levels up), a run folder (its
  /// final `checkpoints/vqvae.safetensors`), or nil for the newest finished run under `outputs/`.
  /// - Throws: `TrainingError` if the file or the run's final checkpoint does not exist.
  public static func finalCheckpoint(_ target: String?) throws -> (folder: RunFolder, path: String) {
    guard let target else {
      let folder = try latest()
      return (folder, folder.checkpointPath(update: nil))
    }
    if target.hasSuffix(".safetensors") {
      guard FileManager.default.fileExists(atPath: target) else { throw TrainingError("\(target): file not found") }
      return (RunFolder(path: folderPath(ofCheckpoint: target)), target)
    }
    let folder = RunFolder(path: target)
    let path = folder.checkpointPath(update: nil)
    guard FileManager.default.fileExists(atPath: path) else {
      guard FileManager.default.fileExists(atPath: folder.configPath) else {
        throw TrainingError("\(target): not a vqvae-train run folder (no config.json) nor a .safetensors file")
      }
      throw TrainingError(
        "\(target): the run has no final checkpoint (\(path)); it is still training or was interrupted. Finish it "
          + "with vqvae-train --resume \(target), or pass one of its checkpoints/vqvae-<update>.safetensors")
    }
    return (folder, path)
  }

  /// Opens an existing run (a run folder, or one of its checkpoint files) to resume it (see `reopen`; without
  /// `reopening`, as the ranks beside the leader do, it is only read).
  /// - Returns: the folder and its latest checkpoint (the one with the most updates), or nil when the run stopped
  ///   before its first checkpoint and starts again from its `config.json`.
  /// - Throws: `TrainingError` if there is no run there, or another process holds it.
  public static func open(
    resuming target: String, reopening: Bool = true
  ) throws -> (folder: RunFolder, checkpoint: TrainingCheckpoint?) {
    if target.hasSuffix(".safetensors") {
      let folder = RunFolder(path: folderPath(ofCheckpoint: target))
      if reopening { try folder.reopen() }
      return (folder, try TrainingCheckpoint(contentsOf: target))
    }
    let folder = RunFolder(path: target)
    guard FileManager.default.fileExists(atPath: folder.configPath) else {
      throw TrainingError("--resume \(target): not a run folder (no config.json there)")
    }
    if reopening { try folder.reopen() }
    return (folder, try folder.latestCheckpoint().map { try TrainingCheckpoint(state: $0) })
  }

}
