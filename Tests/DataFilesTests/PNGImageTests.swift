import CPNG
import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import DataFiles

final class PNGImageTests: FolderTestCase {
  private typealias Support = DataTestSupport

  /// An independent PNG decoder (python3's zlib and struct only): checks the chunk CRCs, undoes the row filters
  /// and prints "width height colour-type bit-depth pixel-hex".
  private static let pythonDecoder = """
    import struct, sys, zlib
    data = open(sys.argv[1], 'rb').read()
    assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
    pos, idat = 8, b''
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + body) == struct.unpack('>I', data[pos + 8 + n:pos + 12 + n])[0]
        if kind == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        if kind == b'IDAT': idat += body
        pos += 12 + n
    bpp = {0: 1, 2: 3}[ctype]
    raw, stride, out = zlib.decompress(idat), w * bpp, bytearray()
    prev = bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a, b = (line[i - bpp] if i >= bpp else 0), prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pred = [0, a, b, (a + b) // 2, a if abs(p - a) <= min(abs(p - b), abs(p - c)) else
                    (b if abs(p - b) <= abs(p - c) else c)][f]
            line[i] = (line[i] + pred) & 255
        out += line
        prev = line
    print(w, h, ctype, depth, out.hex())
    """

  func testGrayAndRGBRoundTripExactly() throws {
    for channels in [1, 3] {
      let pixels = Support.bytes(7 * 5 * channels, seed: UInt64(channels))
      let path = "\(folder)/image\(channels).png"
      try writePNG(path: path, pixels: pixels, width: 7, height: 5, channels: channels)
      let read = try readPNG(path: path)
      XCTAssertEqual([read.width, read.height, read.channels], [7, 5, channels])
      XCTAssertEqual(read.pixels, pixels)
      XCTAssertEqual(try readPNGHeader(path: path).channels, channels)
    }
    let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    XCTAssertEqual(names, ["image1.png", "image3.png"], "no temporary files are left behind")
  }

  func testIndependentDecoderSeesTheSamePixels() throws {
    for channels in [1, 3] {
      let pixels = Support.bytes(9 * 4 * channels, seed: 40 + UInt64(channels))
      let path = "\(folder)/check\(channels).png"
      try writePNG(path: path, pixels: pixels, width: 9, height: 4, channels: channels)
      guard let output = try Support.python(Self.pythonDecoder, [path]) else { throw XCTSkip("no python3") }
      let hex = pixels.map { String(format: "%02x", $0) }.joined()
      XCTAssertEqual(output, "9 4 \(channels == 3 ? 2 : 0) 8 \(hex)")
    }
  }

  func testAlphaIsDroppedNotComposited() throws {
    // RGBA and gray+alpha files written directly with libpng; alpha 0 must not blacken the colour.
    let alpha = UInt32(PNG_FORMAT_FLAG_ALPHA)
    let cases: [(format: UInt32, pixels: [UInt8], expected: [UInt8], channels: Int)] = [
      (UInt32(PNG_FORMAT_RGB) | alpha, [10, 20, 30, 0, 200, 100, 50, 255], [10, 20, 30, 200, 100, 50], 3),
      (UInt32(PNG_FORMAT_GRAY) | alpha, [77, 0, 150, 128], [77, 150], 1),
    ]
    for (n, item) in cases.enumerated() {
      var image = png_image()
      image.version = UInt32(PNG_IMAGE_VERSION)
      (image.width, image.height, image.format) = (2, 1, item.format)
      let path = "\(folder)/alpha\(n).png"
      let written = item.pixels.withUnsafeBytes { png_image_write_to_file(&image, path, 0, $0.baseAddress, 0, nil) }
      XCTAssertNotEqual(written, 0)
      let read = try readPNG(path: path)
      XCTAssertEqual(read.channels, item.channels)
      XCTAssertEqual(read.pixels, item.expected)
    }
  }

  func testTruncatedAndOversizedFilesAreRefusedNotAborted() throws {
    let good = path("good.png")
    try writePNG(path: good, pixels: Support.bytes(32 * 32, seed: 3), width: 32, height: 32, channels: 1)
    let bytes = try FileIO.read(good)
    // Cut inside the image data: libpng fails while decoding rows, after the header read well.
    let cut = path("cut.png")
    try Support.write(Array(bytes.prefix(bytes.count - 30)), to: cut)
    XCTAssertEqual(try readPNGHeader(path: cut).width, 32)
    Support.assertThrows([cut, "cannot decode PNG"]) { _ = try readPNG(path: cut) }
    Support.assertThrows([cut, "cannot decode PNG"]) { _ = try ImageFolder.load(folder) }
    // A pipe named like a PNG is refused, not opened (libpng would wait for a writer forever).
    let pipe = path("pipe.png")
    XCTAssertEqual(mkfifo(pipe, 0o644), 0)
    Support.assertThrows([pipe, "is a pipe, expected a file"]) { _ = try readPNGHeader(path: pipe) }
    try FileManager.default.removeItem(atPath: pipe)
    // Headers that claim 20000x20000 and 1,000,000x1000 pixels are refused before a pixel is allocated.
    for (width, height) in [(20000, 20000), (1_000_000, 1000)] {
      let huge = path("huge-\(width).png")
      try Support.write(Self.withSize(bytes, width: width, height: height), to: huge)
      Support.assertThrows([huge, "is \(width)x\(height) pixels, more than"]) { _ = try readPNG(path: huge) }
      Support.assertThrows([huge, "more than"]) { _ = try readPNGHeader(path: huge) }
    }
    // 8000x8000 is within the limit, but a 1-bit image of that size deflates to at least 7.7 KB: this small file
    // claiming it is refused before 64 MB of pixels are allocated, as a 1000x1000 claim is not.
    let claim = path("claim.png")
    try Support.write(Self.withSize(bytes, width: 8000, height: 8000), to: claim)
    Support.assertThrows([claim, "bytes, too short to hold the 8000x8000 pixels its header claims"]) {
      _ = try readPNG(path: claim)
    }
    try Support.write(Self.withSize(bytes, width: 1000, height: 1000), to: claim)
    Support.assertThrows([claim, "cannot decode PNG"]) { _ = try readPNG(path: claim) }
    // The fuzzer's 46 bytes: after the header, a zTXt chunk whose length field claims 1.9 GB, which libpng allocated.
    let chunk = path("chunk.png")
    try Support.write(
      Array(Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAMAAAADEAAAAAAj0zYgc0JJVHpUWHRJREFUeA==")!), to: chunk)
    Support.assertThrows([chunk, "its zTXt chunk claims 1933723988 bytes, and only 1 follow"]) {
      _ = try readPNGHeader(path: chunk)
    }
  }

  /// `png` with its IHDR's width and height replaced (and the chunk's CRC made right again).
  private static func withSize(_ png: [UInt8], width: Int, height: Int) -> [UInt8] {
    var bytes = png
    for (offset, value) in [(16, width), (20, height)] {
      for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (24 - 8 * k)) }
    }
    // CRC-32 of the chunk type and data, bytes 12..<29, stored big-endian after them.
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes[12..<29] {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }
    crc ^= 0xFFFF_FFFF
    for k in 0..<4 { bytes[29 + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(k))) }
    return bytes
  }

  func testUnwritableFolderAndMissingFileNameThePath() {
    let path = "\(folder)/no/such/folder/grid.png"
    Support.assertThrows([path, "cannot create", "No such file or directory"]) {
      try writePNG(path: path, pixels: [0, 0, 0, 0], width: 2, height: 2, channels: 1)
    }
    Support.assertThrows(["\(folder)/absent.png", "file not found"]) { _ = try readPNG(path: "\(folder)/absent.png") }
  }

  // MARK: make_grid layout

  func testGridGeometryMatchesTorchvision() throws {
    // 100 gray 32x32 images; image k is filled with -1 + k / 64 (exact in Float) except a bottom-right pixel of +1.
    let count = 100
    var images = [Float](repeating: 0, count: count * 1024)
    for k in 0..<count {
      for i in 0..<1024 { images[k * 1024 + i] = -1 + Float(k) / 64 }
      images[k * 1024 + 31 * 32 + 31] = 1
    }
    let grid = ImageGrid(images: images, count: count, channels: 1, height: 32, width: 32, nrow: 10)
    XCTAssertEqual([grid.width, grid.height, grid.channels], [342, 342, 1])
    for k in 0..<count {
      let (top, left) = (2 + (k / 10) * 34, 2 + (k % 10) * 34)
      // save_image's byte: floor((k / 128) * 255 + 0.5).
      XCTAssertEqual(grid.pixels[top * 342 + left], UInt8((k * 255 * 2 + 128) / 256), "image \(k) top-left")
      XCTAssertEqual(grid.pixels[(top + 31) * 342 + left + 31], 255, "image \(k) bottom-right")
      XCTAssertEqual(grid.pixels[(top - 1) * 342 + left], 0, "padding above image \(k)")
      XCTAssertEqual(grid.pixels[top * 342 + left + 32], 0, "padding right of image \(k)")
    }
    for i in 0..<342 {
      for edge in [0, 1, 340, 341] {
        XCTAssertEqual(grid.pixels[edge * 342 + i], 0)
        XCTAssertEqual(grid.pixels[i * 342 + edge], 0)
      }
    }
    try grid.write(to: "\(folder)/grid.png")
    let read = try readPNG(path: "\(folder)/grid.png")
    XCTAssertEqual([read.width, read.height, read.channels], [342, 342, 1])
    XCTAssertEqual(read.pixels, grid.pixels)
  }

  func testGridPartialRowsRangesAndSingleImage() {
    // 10 RGB 2x3 images in rows of 8: 2 rows; the second row holds 2 images, the rest stays padding.
    let images = [Float](repeating: 0.5, count: 10 * 3 * 2 * 3)
    let grid = ImageGrid(images: images, count: 10, channels: 3, height: 2, width: 3, nrow: 8, range: 0...1)
    XCTAssertEqual([grid.width, grid.height], [8 * 5 + 2, 2 * 4 + 2])
    XCTAssertEqual(grid.pixels[(6 * 42 + 2 + 5) * 3], 128, "second row, second image")
    XCTAssertEqual(grid.pixels[(6 * 42 + 2 + 10) * 3], 0, "second row, third slot is empty")
    // Values are clamped to the range; 0 in [-1, 1] is 0.5 and becomes 128 as in save_image.
    let clamped = ImageGrid(images: [-3, 0, 0.999, 7, .nan, -1], count: 1, channels: 1, height: 2, width: 3)
    XCTAssertEqual([clamped.width, clamped.height], [3, 2], "a single image has no padding")
    XCTAssertEqual(clamped.pixels, [0, 128, 255, 255, 0, 0])
  }

  // MARK: Line plot

  func testLinePlotDrawsSeriesInTheirColours() throws {
    let steps = (0..<200).map(Double.init)
    let plot = LinePlot(
      title: "Loss", xLabel: "step",
      series: [
        PlotSeries(name: "recon", x: steps, y: steps.map { 0.5 * exp(-$0 / 40) + 0.01 }),
        PlotSeries(name: "vq", x: steps, y: steps.map { 0.1 / (1 + $0) }, color: PlotColor(214, 39, 40)),
      ], logY: true)
    let pixels = plot.render()
    XCTAssertEqual(pixels.count, 640 * 400 * 3)
    func has(_ c: PlotColor) -> Bool {
      stride(from: 0, to: pixels.count, by: 3).contains {
        pixels[$0] == c.r && pixels[$0 + 1] == c.g && pixels[$0 + 2] == c.b
      }
    }
    XCTAssertTrue(has(PlotColor.palette[0]))
    XCTAssertTrue(has(PlotColor(214, 39, 40)))
    try plot.write(to: "\(folder)/loss.png")
    XCTAssertEqual(try readPNG(path: "\(folder)/loss.png").pixels, pixels)
    // Degenerate inputs still give a picture: no series, one point, a constant, nothing usable on a log axis.
    for degenerate in [
      LinePlot(series: []), LinePlot(series: [PlotSeries(name: "", x: [1], y: [2])], width: 200, height: 100),
      LinePlot(series: [PlotSeries(name: "flat", x: [0, 1, 2], y: [3, 3, 3])]),
      LinePlot(series: [PlotSeries(name: "bad", x: [0, 1, .nan], y: [0, -1, 1])], logY: true),
    ] {
      XCTAssertEqual(degenerate.render().count, degenerate.width * degenerate.height * 3)
    }
  }

  /// Values from a metrics file read back may be anything: points at the edge of a Double's range, infinities and
  /// NaNs are left out, and the rest is drawn.
  func testExtremeValuesAreLeftOutOfAPlot() {
    for logY in [false, true] {
      let plot = LinePlot(
        series: [
          PlotSeries(name: "a", x: [0, 1, 2, 3, 4], y: [1e308, -1e308, .nan, 2, 3]),
          PlotSeries(name: "b", x: [-1e300, 5, .infinity, 6, 7], y: [1, 1, 1, 1e-300, 0.5], bars: true),
        ], logY: logY)
      XCTAssertEqual(plot.render().count, 640 * 400 * 3)
    }
  }

  func testTickLabels() {
    XCTAssertEqual(LinePlot.tickLabel(0.25, step: 0.05), "0.25")
    XCTAssertEqual(LinePlot.tickLabel(1500, step: 500), "1500")
    XCTAssertEqual(LinePlot.tickLabel(2e-5, step: 2e-5), "2e-5")
    XCTAssertEqual(LinePlot.tickLabel(1e-17, step: 0.1), "0")
    let (ticks, range) = LinePlot.linearTicks([0.13, 0.91], fitToTicks: true)
    XCTAssertEqual(ticks.map(\.1), ["0", "0.2", "0.4", "0.6", "0.8", "1.0"])
    XCTAssertEqual(range.0, 0, accuracy: 1e-12)
    XCTAssertEqual(range.1, 1, accuracy: 1e-12)
  }
}
