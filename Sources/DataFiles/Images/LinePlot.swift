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
