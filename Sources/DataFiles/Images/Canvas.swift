import Foundation

/// An RGB raster with filled rectangles, anti-aliased thick lines and a 5x7 bitmap font.
struct Canvas {
  let width, height: Int
  var pixels: [UInt8]
  /// Lines are drawn only inside (left, top, right, bottom).
  var clip: (Int, Int, Int, Int)

  init(width: Int, height: Int) {
    (self.width, self.height) = (width, height)
    pixels = [UInt8](repeating: 255, count: width * height * 3)
    clip = (0, 0, width - 1, height - 1)
  }

  /// Blends `color` over pixel (x, y) with opacity `alpha`.
  mutating func blend(_ x: Int, _ y: Int, _ color: PlotColor, _ alpha: Double = 1) {
    guard x >= 0 && x < width && y >= 0 && y < height else { return }
    let i = (y * width + x) * 3
    func mix(_ old: UInt8, _ new: UInt8) -> UInt8 { UInt8((Double(old) * (1 - alpha) + Double(new) * alpha).rounded()) }
    pixels[i] = mix(pixels[i], color.r)
    pixels[i + 1] = mix(pixels[i + 1], color.g)
    pixels[i + 2] = mix(pixels[i + 2], color.b)
  }

  /// Paints the `w x h` rectangle at (x, y) opaquely.
  mutating func fill(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ color: PlotColor) {
    for yy in y..<(y + max(h, 0)) { for xx in x..<(x + max(w, 0)) { blend(xx, yy, color) } }
  }

  /// A 1.6-pixel-wide line: each pixel near the segment is covered by how far it lies inside the stroke.
  mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, color: PlotColor) {
    let halfWidth = 0.8
    let (dx, dy) = (x1 - x0, y1 - y0)
    let length2 = max(dx * dx + dy * dy, 1e-12)
    let (xLow, xHigh) = (max(Int(floor(min(x0, x1) - 2)), clip.0), min(Int(ceil(max(x0, x1) + 2)), clip.2))
    let (yLow, yHigh) = (max(Int(floor(min(y0, y1) - 2)), clip.1), min(Int(ceil(max(y0, y1) + 2)), clip.3))
    // A segment wholly outside the clip has nothing to draw (and no range to loop over).
    guard xLow <= xHigh && yLow <= yHigh else { return }
    let (xs, ys) = (xLow...xHigh, yLow...yHigh)
    for y in ys {
      for x in xs {
        let t = min(max(((Double(x) - x0) * dx + (Double(y) - y0) * dy) / length2, 0), 1)
        let distance = hypot(Double(x) - (x0 + t * dx), Double(y) - (y0 + t * dy))
        let coverage = min(max(halfWidth + 0.5 - distance, 0), 1)
        if coverage > 0 { blend(x, y, color, coverage) }
      }
    }
  }

  /// Width in pixels of `text` at scale 1: 5-pixel glyphs 1 pixel apart.
  static func textWidth(_ text: String) -> Int { max(text.count * 6 - 1, 0) }

  /// Draws `text` (characters without a glyph leave a gap) with its top edge at `y`; `anchor` places `x` at the
  /// left end (0), the middle (0.5) or the right end (1) of the text.
  mutating func text(_ text: String, x: Int, y: Int, color: PlotColor, anchor: Double = 0, scale: Int = 1) {
    let x0 = x - Int(Double(Self.textWidth(text) * scale) * anchor)
    for (i, ch) in text.enumerated() {
      let glyph = Self.font[ch] ?? 0
      for row in 0..<7 {
        let bits = Int(glyph >> UInt64(8 * (6 - row))) & 0x1F
        for col in 0..<5 where bits & (0x10 >> col) != 0 {
          fill(x0 + (i * 6 + col) * scale, y + row * scale, scale, scale, color)
        }
      }
    }
  }

  /// 5x7 glyphs, one byte per row (top first), bit 4 the leftmost pixel.
  static let font: [Character: UInt64] = [
    "0": 0x0E11_1315_1911_0E, "1": 0x040C_0404_0404_0E, "2": 0x0E11_0102_0408_1F, "3": 0x1F02_0402_0111_0E,
    "4": 0x0206_0A12_1F02_02, "5": 0x1F10_1E01_0111_0E, "6": 0x0608_101E_1111_0E, "7": 0x1F01_0204_0808_08,
    "8": 0x0E11_110E_1111_0E, "9": 0x0E11_110F_0102_0C, ".": 0x0000_0000_000C_0C, "-": 0x0000_001F_0000_00,
    "+": 0x0004_041F_0404_00, "e": 0x0000_0E11_1F10_0E, ":": 0x000C_0C00_0C0C_00, "/": 0x0101_0204_0810_10,
    "(": 0x0204_0808_0804_02, ")": 0x0804_0202_0204_08, "_": 0x0000_0000_0000_1F, "=": 0x0000_1F00_1F00_00,
    "A": 0x0E11_111F_1111_11, "B": 0x1E11_111E_1111_1E, "C": 0x0E11_1010_1011_0E, "D": 0x1C12_1111_1112_1C,
    "E": 0x1F10_101E_1010_1F, "F": 0x1F10_101E_1010_10, "G": 0x0E11_1017_1111_0F, "H": 0x1111_111F_1111_11,
    "I": 0x0E04_0404_0404_0E, "J": 0x0702_0202_0212_0C, "K": 0x1112_1418_1412_11, "L": 0x1010_1010_1010_1F,
    "M": 0x111B_1515_1111_11, "N": 0x1111_1915_1311_11, "O": 0x0E11_1111_1111_0E, "P": 0x1E11_111E_1010_10,
    "Q": 0x0E11_1111_1512_0D, "R": 0x1E11_111E_1412_11, "S": 0x0F10_100E_0101_1E, "T": 0x1F04_0404_0404_04,
    "U": 0x1111_1111_1111_0E, "V": 0x1111_1111_110A_04, "W": 0x1111_1115_1515_0A, "X": 0x1111_0A04_0A11_11,
    "Y": 0x1111_110A_0404_04, "Z": 0x1F01_0204_0810_1F,
  ]
}
