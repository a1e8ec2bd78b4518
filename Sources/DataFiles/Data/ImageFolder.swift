import Foundation
import TensorEngine

/// Loader for a folder of same-sized PNG files (gray or RGB).
///
/// PNGs directly in the folder form an unlabeled dataset; otherwise each immediate subfolder holding PNGs is a
/// class, numbered in sorted name order. Files are taken in sorted order (class, then name).
public enum ImageFolder {
  /// Loads a train and a test split: the `train/` and `test/` subfolders when `dir` has both, otherwise the
  /// sorted files of `dir` with the last 10% (at least 1) held out as the test split.
  /// - Parameters:
  ///   - size: centre-crop each image to a square and area-resize it to `size x size`; nil keeps the files' size,
  ///     which must then be the same for all.
  ///   - channels: 1 (gray) or 3 (RGB) for every image; nil: 3 if any file is colour, else 1.
  public static func loadSplits(
    _ dir: String, size: Int? = nil, channels fixedChannels: Int? = nil
  ) throws -> (train: ImageDataset, test: ImageDataset) {
    let trainDir = (dir as NSString).appendingPathComponent("train")
    let testDir = (dir as NSString).appendingPathComponent("test")
    if isDirectory(trainDir) && isDirectory(testDir) {
      let train = try listing(trainDir)
      let test = try listing(testDir, classNames: train.classNames)
      // One channel count for both splits, so that a model sees the same input layout.
      let channels =
        try fixedChannels
        ?? max(channelCount(train, sameSize: size == nil), channelCount(test, sameSize: size == nil))
      return try (decode(train, channels: channels, size: size), decode(test, channels: channels, size: size))
    }
    let all = try listing(dir)
    guard all.files.count >= 2 else {
      throw FileError(dir, "has \(all.files.count) PNG file, need at least 2 to hold one out as the test split")
    }
    let held = max(1, all.files.count / 10)
    let cut = all.files.count - held
    let channels = try fixedChannels ?? channelCount(all, sameSize: size == nil)
    let train = Listing(dir: dir, files: Array(all.files[..<cut]), classNames: all.classNames)
    let test = Listing(dir: dir, files: Array(all.files[cut...]), classNames: all.classNames)
    return try (decode(train, channels: channels, size: size), decode(test, channels: channels, size: size))
  }

  /// Loads every PNG of `dir` (or of its class subfolders) as one dataset; `size` as in `loadSplits`.
  public static func load(_ dir: String, size: Int? = nil) throws -> ImageDataset {
    let all = try listing(dir)
    return try decode(all, channels: channelCount(all, sameSize: size == nil), size: size)
  }

  /// Loads PNG files and folders (each folder's PNGs, or its class subfolders', as `load` lists them) in the order
  /// given, as one dataset of `channels` channels (libpng turns gray into RGB and colour into gray), each cropped
  /// and resized to `size x size` when `size` is set. The labels are a single folder's classes, else none.
  /// - Returns: the images and each one's file.
  /// - Throws: `FileError` naming a path that is missing, not a PNG, or of another size than the first.
  public static func load(paths: [String], channels: Int, size: Int?) throws -> (images: ImageDataset, files: [String])
  {
    precondition(channels == 1 || channels == 3, "ImageFolder: channels must be 1 or 3")
    var files: [(path: String, label: Int?)] = []
    var classNames: [String] = []
    for path in paths {
      if isDirectory(path) {
        let listing = try listing(path)
        files += paths.count == 1 ? listing.files : listing.files.map { ($0.path, nil) }
        if paths.count == 1 { classNames = listing.classNames }
      } else {
        guard FileManager.default.fileExists(atPath: path) else { throw FileError(path, "file not found") }
        files.append((path, nil))
      }
    }
    let all = Listing(dir: paths.first ?? ".", files: files, classNames: classNames)
    if size == nil { _ = try channelCount(all, sameSize: true) }
    return (try decode(all, channels: channels, size: size), files.map(\.path))
  }

  /// The PNG files found in a folder, with their class indices (empty when unlabeled).
  struct Listing {
    let dir: String
    let files: [(path: String, label: Int?)]
    let classNames: [String]
  }

  /// Lists the PNGs of `dir`; `classNames` fixes the class numbering (for a test split that must match train).
  static func listing(_ dir: String, classNames fixed: [String]? = nil) throws -> Listing {
    guard isDirectory(dir) else { throw FileError(dir, "image folder not found") }
    let names = try sortedEntries(dir)
    let pngs = names.filter { isPNG($0) }
    if !pngs.isEmpty {
      return Listing(dir: dir, files: pngs.map { ((dir as NSString).appendingPathComponent($0), nil) }, classNames: [])
    }
    var classes: [(name: String, files: [String])] = []
    for name in names {
      let sub = (dir as NSString).appendingPathComponent(name)
      guard isDirectory(sub) else { continue }
      let files = try sortedEntries(sub).filter { isPNG($0) }
      if !files.isEmpty { classes.append((name, files.map { (sub as NSString).appendingPathComponent($0) })) }
    }
    guard !classes.isEmpty else { throw FileError(dir, "no PNG files, neither in the folder nor in subfolders") }
    let classNames = fixed ?? classes.map(\.name)
    var files: [(path: String, label: Int?)] = []
    for (name, paths) in classes {
      guard let label = classNames.firstIndex(of: name) else {
        throw FileError(
          (dir as NSString).appendingPathComponent(name), "class folder not among the training classes \(classNames)")
      }
      files += paths.map { ($0, label) }
    }
    return Listing(dir: dir, files: files, classNames: classNames)
  }

  /// Returns 3 if any file is colour, else 1; checks that all files share the first one's size when `sameSize`.
  static func channelCount(_ listing: Listing, sameSize: Bool) throws -> Int {
    var channels = 1
    var first: (path: String, width: Int, height: Int)?
    for (path, _) in listing.files {
      let header = try readHeader(path)
      channels = max(channels, header.channels)
      guard sameSize else { continue }
      guard let reference = first else {
        first = (path, header.width, header.height)
        continue
      }
      guard header.width == reference.width && header.height == reference.height else {
        throw FileError(
          path,
          "is \(header.width)x\(header.height) but \(reference.path) is \(reference.width)x\(reference.height);"
            + " all images must have the same size")
      }
    }
    return channels
  }

  /// Decodes the listed files into one NCHW dataset with `channels` channels (libpng turns gray into RGB), each
  /// cropped and resized to `size x size` when `size` is set.
  static func decode(_ listing: Listing, channels: Int, size: Int?) throws -> ImageDataset {
    guard let firstPath = listing.files.first?.path else { throw FileError(listing.dir, "no PNG files") }
    var (width, height) = (size ?? 0, size ?? 0)
    if size == nil { (width, height, _) = try readHeader(firstPath) }
    let plane = width * height
    let needed = Double(listing.files.count) * Double(channels) * Double(plane)
    if let shortfall = MemoryBudget.shortfall(
      needed, for: "its \(listing.files.count) images of \(channels)x\(height)x\(width) (see --image-size)")
    {
      throw FileError(listing.dir, shortfall)
    }
    var pixels = [UInt8](repeating: 0, count: listing.files.count * channels * plane)
    for (n, file) in listing.files.enumerated() {
      var image: (pixels: [UInt8], width: Int, height: Int, channels: Int)
      image = try readPNG(path: file.path, channels: channels)
      if let size {
        image.pixels = AreaResize.squared(
          image.pixels, width: image.width, height: image.height, channels: channels, size: size)
        (image.width, image.height) = (size, size)
      }
      guard image.width == width && image.height == height else {
        throw FileError(file.path, "is \(image.width)x\(image.height) but \(firstPath) is \(width)x\(height)")
      }
      // PNG rows are interleaved (HWC); the dataset stores channel planes (CHW).
      let base = n * channels * plane
      for c in 0..<channels {
        for p in 0..<plane { pixels[base + c * plane + p] = image.pixels[p * channels + c] }
      }
    }
    let labels = listing.classNames.isEmpty ? [] : listing.files.map { $0.label ?? 0 }
    return ImageDataset(
      pixels: pixels, count: listing.files.count, channels: channels, height: height, width: width, labels: labels,
      classCount: listing.classNames.count)
  }

  private static func readHeader(_ path: String) throws -> (width: Int, height: Int, channels: Int) {
    try readPNGHeader(path: path)
  }

  private static func sortedEntries(_ dir: String) throws -> [String] {
    do {
      return try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
    } catch {
      throw FileError(dir, "cannot list the folder: \(error.localizedDescription)")
    }
  }

  private static func isPNG(_ name: String) -> Bool { name.lowercased().hasSuffix(".png") }

  private static func isDirectory(_ path: String) -> Bool {
    var flag: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
  }
}
