import Foundation

/// Where a tool writes: its main file (`--out`, by default `<run>/tools/<tool>.<ext>`) and the files beside it that
/// share its name (`score.csv` beside `score.png`). The folder is made before any work starts, and every file is
/// written atomically.
public struct ToolOutput: Sendable {
  /// The main file.
  public let path: String

  /// Checks `given` (or the default in `run`'s `tools/` folder) and makes its folder.
  /// - Throws: `TrainingError` naming `--out` for a wrong extension or a folder that cannot be made or written.
  public init(_ given: String?, run: RunFolder, tool: String, extension ext: String) throws {
    let path = given ?? (run.path as NSString).appendingPathComponent("tools/\(tool).\(ext)")
    guard path.lowercased().hasSuffix(".\(ext)"), !(path as NSString).lastPathComponent.hasPrefix(".") else {
      throw TrainingError("--out must name a .\(ext) file, got '\(path)'")
    }
    let parent = (path as NSString).deletingLastPathComponent
    try Self.makeFolder(parent.isEmpty ? "." : parent, flag: "--out \(path)")
    self.path = path
  }

  /// Makes `folder` (and the folders above it) unless it exists, and checks that it can be written.
  /// - Throws: `TrainingError` naming `flag` and the folder.
  public static func makeFolder(_ folder: String, flag: String) throws {
    do { try RunFolder.makeDirectories(folder, for: folder) } catch { throw TrainingError("\(flag): \(error)") }
    guard access(folder, W_OK) == 0 else { throw TrainingError("\(flag): \(folder) cannot be written") }
  }

  /// The file beside the main one with its name, `suffix` added, and extension `ext`: `tools/encode-labels.npy`.
  public func beside(_ ext: String, suffix: String = "") -> String {
    (path as NSString).deletingPathExtension + suffix + "." + ext
  }

  /// Writes `text` to `file` atomically.
  /// - Throws: `FileError` if it cannot be written.
  public static func write(_ text: String, to file: String) throws {
    try FileIO.writeAtomically(Array(text.utf8), to: file)
  }
}
