import Foundation
import TensorEngine

/// An sRGB colour for plots.
public struct PlotColor: Sendable, Equatable {
  /// Red, green and blue, 0...255.
  public var r, g, b: UInt8
  /// Creates a colour from its 8-bit channels.
  public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { (self.r, self.g, self.b) = (r, g, b) }
  /// matplotlib's first colours, given in turn to series that do not pick one.
  public static let palette = [
    PlotColor(31, 119, 180), PlotColor(255, 127, 14), PlotColor(44, 160, 44), PlotColor(214, 39, 40),
    PlotColor(148, 103, 189), PlotColor(140, 86, 75),
  ]
}

/// One curve of a `LinePlot`.
public struct PlotSeries: Sendable {
  /// Legend text (upper-cased when drawn); an empty name leaves the series out of the legend.
  public var name: String
  /// Horizontal positions, for example training steps.
  public var x: [Double]
  /// Values, one per `x`.
  public var y: [Double]
  /// Line colour; nil takes the next colour of `PlotColor.palette`.
  public var color: PlotColor?
  /// Draw a bar from the bottom axis up to each point instead of a line through them (a histogram).
  public var bars: Bool
  /// Creates a series; points whose y is not finite (or not positive on a log axis) break the line.
  public init(name: String, x: [Double], y: [Double], color: PlotColor? = nil, bars: Bool = false) {
    precondition(x.count == y.count, "series \(name): x and y differ in length")
    (self.name, self.x, self.y, self.color, self.bars) = (name, x, y, color, bars)
  }
}

/// A small line-plot rasteriser for loss curves: axes, light grid, tick labels, legend, optional log-scale y.
public struct LinePlot: Sendable {
  /// Text above the plot (upper-cased when drawn; the font has capitals only).
  public var title: String
  /// Text under the x axis.
  public var xLabel: String
  /// The curves, drawn in order.
  public var series: [PlotSeries]
  /// Canvas width in pixels.
  public var width: Int
  /// Canvas height in pixels.
  public var height: Int
  /// Log-scale y axis; points with y <= 0 are left out.
  public var logY: Bool

  /// Creates a plot of `series` on a `width x height` canvas.
  public init(
    title: String = "", xLabel: String = "", series: [PlotSeries], width: Int = 640, height: Int = 400,
    logY: Bool = false
  ) {
    (self.title, self.xLabel, self.series, self.width, self.height, self.logY) =
      (title, xLabel, series, width, height, logY)
  }

  /// Draws the plot; returns interleaved RGB pixels, top row first.
  public func render() -> [UInt8] {
    var canvas = Canvas(width: width, height: height)
    let (left, right, top, bottom) = (62, width - 16, title.isEmpty ? 14 : 34, height - (xLabel.isEmpty ? 30 : 46))
    let ink = PlotColor(40, 40, 40)
    // Data in axis space (log10 y for a log plot), with unusable points turned into NaN line breaks: not finite, or
    // so large (a metrics file read back may hold anything) that the axis arithmetic would overflow.
    func usable(_ value: Double) -> Bool { value.isFinite && abs(value) < 1e15 }
    let curves = series.map { s in
      zip(s.x, s.y).map { x, y -> (Double, Double) in
        let v = logY ? (y > 0 ? log10(y) : .nan) : y
        return usable(x) && usable(v) ? (x, v) : (.nan, .nan)
      }
    }
    let points = curves.joined().filter { !$0.0.isNaN }
    let (xTicks, xRange) = Self.linearTicks(points.map(\.0), fitToTicks: false)
    let (yTicks, yRange) = logY ? Self.logTicks(points.map(\.1)) : Self.linearTicks(points.map(\.1), fitToTicks: true)
    func px(_ x: Double) -> Double { Double(left) + (x - xRange.0) / (xRange.1 - xRange.0) * Double(right - left) }
    func py(_ y: Double) -> Double { Double(bottom) - (y - yRange.0) / (yRange.1 - yRange.0) * Double(bottom - top) }

    for (value, label) in xTicks {
      let x = Int(px(value).rounded())
      canvas.fill(x, top, 1, bottom - top, PlotColor(228, 228, 228))
      canvas.fill(x, bottom, 1, 5, ink)
      canvas.text(label, x: x, y: bottom + 9, color: ink, anchor: 0.5)
    }
    for (value, label) in yTicks {
      let y = Int(py(value).rounded())
      canvas.fill(left, y, right - left, 1, PlotColor(228, 228, 228))
      canvas.fill(left - 5, y, 5, 1, ink)
      canvas.text(label, x: left - 9, y: y - 3, color: ink, anchor: 1)
    }
    canvas.fill(left, top, 1, bottom - top + 1, ink)
    canvas.fill(left, bottom, right - left + 1, 1, ink)
    canvas.text(title.uppercased(), x: (left + right) / 2, y: 10, color: ink, anchor: 0.5, scale: 2)
    canvas.text(xLabel.uppercased(), x: (left + right) / 2, y: height - 16, color: ink, anchor: 0.5)

    let colors = series.indices.map { series[$0].color ?? PlotColor.palette[$0 % PlotColor.palette.count] }
    canvas.clip = (left, top, right, bottom)
    for (index, (curve, color)) in zip(curves, colors).enumerated() {
      if series[index].bars {
        let barWidth = max(1, (right - left) / max(curve.count, 1))
        for point in curve where !point.0.isNaN {
          let (x, y) = (Int(px(point.0).rounded()), Int(py(point.1).rounded()))
          canvas.fill(x - barWidth / 2, y, barWidth, bottom - y, color)
        }
        continue
      }
      for (a, b) in zip(curve, curve.dropFirst()) where !a.0.isNaN && !b.0.isNaN {
        canvas.line(px(a.0), py(a.1), px(b.0), py(b.1), color: color)
      }
      if let only = curve.first, curve.count == 1, !only.0.isNaN {
        canvas.line(px(only.0) - 2, py(only.1), px(only.0) + 2, py(only.1), color: color)
      }
    }
    let named = zip(series, colors).filter { !$0.0.name.isEmpty }.map { ($0.0.name.uppercased(), $0.1) }
    if !named.isEmpty {
      let boxWidth = 34 + named.map { Canvas.textWidth($0.0) }.max()!
      let x0 = right - boxWidth - 8
      canvas.fill(x0, top + 8, boxWidth, 12 * named.count + 8, PlotColor(200, 200, 200))
      canvas.fill(x0 + 1, top + 9, boxWidth - 2, 12 * named.count + 6, PlotColor(255, 255, 255))
      for (i, (name, color)) in named.enumerated() {
        let y = top + 15 + 12 * i
        canvas.fill(x0 + 6, y + 2, 18, 3, color)
        canvas.text(name, x: x0 + 30, y: y, color: ink)
      }
    }
    return canvas.pixels
  }

  /// Renders the plot and writes it as an RGB PNG (atomically, see `writePNG`).
  public func write(to path: String) throws {
    try writePNG(path: path, pixels: render(), width: width, height: height, channels: 3)
  }

  /// Ticks at 1, 2 or 5 times a power of ten, about six of them; the range is the data's, or widened to whole
  /// ticks with `fitToTicks`.
  static func linearTicks(_ values: [Double], fitToTicks: Bool) -> ([(Double, String)], (Double, Double)) {
    var (low, high) = (values.min() ?? 0, values.max() ?? 1)
    if high - low < 1e-12 * max(abs(low), 1) {
      let widen = max(abs(low) * 0.1, 0.5)
      (low, high) = (low - widen, high + widen)
    }
    let raw = (high - low) / 6
    let magnitude = pow(10, floor(log10(raw)))
    let step = magnitude * [1.0, 2, 5, 10].first { raw / magnitude <= $0 * 1.2 }!
    if fitToTicks { (low, high) = (floor(low / step + 1e-9) * step, ceil(high / step - 1e-9) * step) }
    let first = Int((low / step - 1e-9).rounded(.up)), last = Int((high / step + 1e-9).rounded(.down))
    let ticks = (first...max(first, last)).map { Double($0) * step }
    return (ticks.map { ($0, tickLabel($0, step: step)) }, (low, high))
  }

  /// Log-axis ticks (values are log10 of the data): decades, or 1-2-5 / 1...9 multiples on short ranges.
  static func logTicks(_ values: [Double]) -> ([(Double, String)], (Double, Double)) {
    var (low, high) = (values.min() ?? 0, values.max() ?? 1)
    let margin = max((high - low) * 0.05, 0.05)
    (low, high) = (low - margin, high + margin)
    let candidates = [[1.0], [1, 2, 5], Array(stride(from: 1.0, through: 9, by: 1))].map { multiples in
      (Int(floor(low))...Int(ceil(high))).flatMap { e in multiples.map { $0 * pow(10, Double(e)) } }
        .filter { log10($0) >= low && log10($0) <= high }
    }
    let ticks = candidates.first { $0.count >= 3 } ?? candidates[2]
    return (ticks.map { (log10($0), tickLabel($0, step: $0)) }, (low, high))
  }

  /// A short tick label: plain decimals for moderate values, `2.5e-5` style beyond.
  static func tickLabel(_ value: Double, step: Double) -> String {
    if abs(value) < step * 1e-6 { return "0" }
    let exponent = Int(floor(log10(abs(value)) + 1e-9))
    if exponent >= 5 || exponent <= -4 {
      return String(format: "%.3g", value / pow(10, Double(exponent))) + "e\(exponent)"
    }
    return String(format: "%.\(max(0, Int(-floor(log10(step) + 1e-9))))f", value)
  }
}

/// An RGB raster with filled rectangles, anti-aliased thick lines and a 5x7 bitmap font.
private struct Canvas {
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
