import Foundation

/// What each code of the codebook looks like and how much it is used: every code decoded as a grid that holds only
/// it, one tile per code, the most used first, each captioned with its share of the positions (in percent) of a
/// set of encoded images. Dead codes (share 0) come last.
public struct CodebookAtlas: Sendable {
  /// How often each code was chosen, by code index.
  public let usage: [Int]
  /// The codes in the picture's order: by usage, most used first (ties by index).
  public let order: [Int]
  /// The tiles with their captions.
  public let picture: CaptionedGrid

  /// Decodes each of `vqvae`'s codes as a constant `grid` and lays them out by `usage`, `columns` to a row.
  /// - Precondition: `usage` has one count per code.
  /// - Throws: `TensorError` if the decoder fails.
  public init(vqvae: VQVAE, usage: [Int], grid: (height: Int, width: Int), columns: Int = 32) throws {
    let k = vqvae.configuration.embeddings
    precondition(usage.count == k, "CodebookAtlas: one usage count per code")
    order = (0..<k).sorted { usage[$0] != usage[$1] ? usage[$0] > usage[$1] : $0 < $1 }
    let size = grid.height * grid.width
    let constant = CodeGrids(
      indices: order.flatMap { Array(repeating: $0, count: size) }, count: k, height: grid.height, width: grid.width)
    let tiles = try constant.decoded(by: vqvae)
    let total = Double(max(usage.reduce(0, +), 1))
    let captions = order.map { code -> String in
      let percent = 100 * Double(usage[code]) / total
      return usage[code] == 0
        ? "0"
        : percent >= 10
          ? String(format: "%.0f", percent)
          : percent >= 0.995 ? String(format: "%.1f", percent) : String(format: "%.2f", percent)
    }
    let shape = (
      vqvae.configuration.inChannels, grid.height << vqvae.configuration.downsamples,
      grid.width << vqvae.configuration.downsamples
    )
    picture = CaptionedGrid(
      images: tiles, captions: captions, channels: shape.0, height: shape.1, width: shape.2, columns: columns)
    self.usage = usage
  }

  /// The usage as CSV, in the picture's order: `rank,code,count,percent`.
  public var csv: String {
    let total = Double(max(usage.reduce(0, +), 1))
    let lines = order.enumerated().map { rank, code in
      "\(rank),\(code),\(usage[code])," + String(format: "%.4f", 100 * Double(usage[code]) / total)
    }
    return (["rank,code,count,percent"] + lines).joined(separator: "\n") + "\n"
  }
}
