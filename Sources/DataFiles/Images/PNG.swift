import CPNG
import Foundation
import TensorEngine

/// Writes an 8-bit gray (`channels` 1) or RGB (`channels` 3) PNG; `pixels` are interleaved rows, top row first.
/// libpng encodes into memory and the file appears atomically (see `FileIO.writeAtomically`).
public func writePNG(path: String, pixels: [UInt8], width: Int, height: Int, channels: Int) throws {
  precondition(channels == 1 || channels == 3, "PNG channels must be 1 or 3, got \(channels)")
  precondition(pixels.count == width * height * channels, "pixel count does not match \(width)x\(height)x\(channels)")
  var image = png_image()
  image.version = UInt32(PNG_IMAGE_VERSION)
  image.width = UInt32(width)
  image.height = UInt32(height)
  image.format = channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
  // The first call measures, the second encodes.
  var size = 0
  var encoded: [UInt8] = []
  let written = pixels.withUnsafeBytes { source -> Int32 in
    guard png_image_write_to_memory(&image, nil, &size, 0, source.baseAddress, 0, nil) != 0 else { return 0 }
    encoded = [UInt8](repeating: 0, count: size)
    return encoded.withUnsafeMutableBytes {
      png_image_write_to_memory(&image, $0.baseAddress, &size, 0, source.baseAddress, 0, nil)
    }
  }
  guard written != 0 else {
    throw FileError(path: path, message: "cannot encode the PNG (libpng: \(pngMessage(image)))")
  }
  try FileIO.writeAtomically(Array(encoded.prefix(size)), to: path)
}

/// The most pixels a PNG may have to be decoded (8192 x 8192): a header is checked against it before any pixel is
/// allocated, so that a file claiming 20000 x 20000 is refused rather than filling memory.
public let maxPNGPixels = 1 << 26

/// Reads an 8-bit gray or RGB image from any PNG. An alpha channel is dropped (not composited); `channels`
/// (1 or 3) forces the output format, otherwise gray files give 1 channel and colour files 3. Pixels come
/// back interleaved, top row first.
/// - Throws: `FileError` for a missing, corrupt or truncated file, or one larger than `maxPNGPixels`.
public func readPNG(path: String, channels: Int? = nil) throws -> (
  pixels: [UInt8], width: Int, height: Int, channels: Int
) {
  precondition(channels == nil || channels == 1 || channels == 3, "PNG channels must be 1 or 3")
  let reader = try PNGReader(path)
  defer { withExtendedLifetime(reader) {} }
  let image = reader.image
  let hasAlpha = image.pointee.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
  let outChannels = channels ?? (image.pointee.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0 ? 3 : 1)
  // Ask for the alpha channel too when there is one, so that libpng does not composite it away.
  let stride = outChannels + (hasAlpha ? 1 : 0)
  image.pointee.format =
    (outChannels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY))
    | (hasAlpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
  let (width, height) = (Int(image.pointee.width), Int(image.pointee.height))
  var decoded = [UInt8](repeating: 0, count: width * height * stride)
  let finished = decoded.withUnsafeMutableBytes { png_image_finish_read(image, nil, $0.baseAddress, 0, nil) }
  guard finished != 0 else {
    throw FileError(path: path, message: "cannot decode PNG: \(reader.message) (corrupt or truncated file?)")
  }
  guard hasAlpha else { return (decoded, width, height, outChannels) }
  var pixels = [UInt8](repeating: 0, count: width * height * outChannels)
  for p in 0..<(width * height) {
    for c in 0..<outChannels { pixels[p * outChannels + c] = decoded[p * stride + c] }
  }
  return (pixels, width, height, outChannels)
}

/// Reads only a PNG's header: its size and whether it is colour (3 channels) or gray (1).
/// - Throws: `FileError` for a missing or corrupt file, or one larger than `maxPNGPixels`.
public func readPNGHeader(path: String) throws -> (width: Int, height: Int, channels: Int) {
  let reader = try PNGReader(path)
  return withExtendedLifetime(reader) {
    let image = reader.image.pointee
    return (Int(image.width), Int(image.height), image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0 ? 3 : 1)
  }
}

/// A PNG opened with libpng's simplified API, its header read and its size checked.
///
/// The `png_image` lives on the heap for the reader's whole life: libpng keeps its address to find the error state
/// it jumps back to, and a moved copy makes it abort the process on the first corrupt byte instead of failing. The
/// file is read into memory first (by `FileIO.read`, which refuses pipes, devices and files past the memory budget),
/// its chunks' lengths checked, and libpng reads that copy, which stays in place for the reader's life too.
private final class PNGReader {
  let image = UnsafeMutablePointer<png_image>.allocate(capacity: 1)
  /// The file's bytes (one placeholder byte until `readChecked`, so that every property is set before a throw and
  /// `deinit` frees both).
  private var file = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)

  init(_ path: String) throws {
    image.initialize(to: png_image())
    image.pointee.version = UInt32(PNG_IMAGE_VERSION)
    guard FileManager.default.fileExists(atPath: path) else { throw FileError(path: path, message: "file not found") }
    try readChecked(path)
    guard png_image_begin_read_from_memory(image, file.baseAddress, file.count) != 0 else {
      throw FileError(path: path, message: "not a readable PNG: \(message)")
    }
    let (width, height) = (Int(image.pointee.width), Int(image.pointee.height))
    guard width * height <= maxPNGPixels else {
      throw FileError(
        path: path, message: "is \(width)x\(height) pixels, more than the \(maxPNGPixels) (8192x8192) read")
    }
    // The pixels are stored deflated, and deflate shrinks data at most 1032-fold: a file too short to hold the size
    // its header claims is cut short (or hostile), and is refused before its pixels are allocated. Each row takes at
    // least a filter byte and one bit per pixel.
    let leastRawBytes = height * (1 + (width + 7) / 8)
    guard leastRawBytes <= 1032 * file.count else {
      throw FileError(
        path: path,
        message: "is \(file.count) bytes, too short to hold the \(width)x\(height) pixels its header claims "
          + "(truncated?)")
    }
  }

  /// Reads the file into `file` and checks that no chunk but image data claims more bytes than the file holds after
  /// it: libpng allocates an ancillary chunk's whole claimed length before reading it (a 46-byte file whose `sBIT`
  /// chunk claimed 1.9 GB took 1.9 GB: found by the fuzzer). Image data is streamed, so a cut `IDAT` is left for the
  /// decoder to report.
  private func readChecked(_ path: String) throws {
    let bytes = try FileIO.read(path)
    file.deallocate()
    file = .allocate(byteCount: max(bytes.count, 1), alignment: 1)
    file.copyBytes(from: bytes)
    var offset = 8
    while offset + 8 <= bytes.count {
      let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
      let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
      let left = bytes.count - offset - 12
      if type == "IEND" { break }
      guard length <= left || type == "IDAT" else {
        throw FileError(
          path: path,
          message: "is corrupt or truncated: its \(type) chunk claims \(length) bytes, and only \(max(left, 0)) follow")
      }
      offset += 12 + length
    }
  }

  deinit {
    png_image_free(image)
    image.deallocate()
    file.deallocate()
  }

  /// libpng's last message, stored in a fixed C char array.
  var message: String { pngMessage(image.pointee) }
}

/// libpng's last message for `image`, stored in a fixed C char array.
private func pngMessage(_ image: png_image) -> String {
  withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}
