import DataFiles

extension Readers {
  /// `png`: the input is a PNG file, read by `readPNGHeader` and `readPNG`, and as the one image of a FOLDER
  /// dataset: `ImageFolder.load` on a folder holding it (at its own size), and `ImageFolder.loadSplits` on a folder
  /// with `train/` and `test/` class subfolders holding it (cropped and resized to 16x16, as `image_size` does).
  static let png = Reader(name: "png") { bytes in
    let (folder, image) = pngFolders
    Scratch.write(bytes, to: image)
    attempt("readPNGHeader") { try readPNGHeader(path: image) }
    attempt("readPNG") { try readPNG(path: image) }
    attempt("ImageFolder.load") { try ImageFolder.load(folder.flat) }
    attempt("ImageFolder.loadSplits(size: 16)") { try ImageFolder.loadSplits(folder.splits, size: 16) }
  }

  /// The PNG file that the input goes into, and the folders that hold it: `flat` directly, `splits` as
  /// `train/shirt/image.png` and `test/shirt/image.png` (links to it).
  static let pngFolders: (folder: (flat: String, splits: String), image: String) = {
    let image = Scratch.path("png/flat/image.png")
    let splits = Scratch.path("png/splits")
    for split in ["train", "test"] {
      Scratch.link(Scratch.path("png/splits/\(split)/shirt/image.png"), to: image)
    }
    return ((Scratch.path("png/flat"), splits), image)
  }()
}
