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

/// Reads an 8-bit gray or RGB image from any PNG. An alpha channel is dropped (not composited); `channels`
/// (1 or 3) forces the output format, otherwise gray files give 1 channel and colour files 3. Pixels come
/// back interleaved, top row first.
public func readPNG(path: String, channels: Int? = nil) throws -> (
  pixels: [UInt8], width: Int, height: Int, channels: Int
) {
  precondition(channels == nil || channels == 1 || channels == 3, "PNG channels must be 1 or 3")
  var image = try beginPNGRead(path)
  let hasAlpha = image.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
  let outChannels = channels ?? (image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0 ? 3 : 1)
  // Ask for the alpha channel too when there is one, so that libpng does not composite it away.
  let stride = outChannels + (hasAlpha ? 1 : 0)
  image.format =
    (outChannels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY))
    | (hasAlpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
  let (width, height) = (Int(image.width), Int(image.height))
  var decoded = [UInt8](repeating: 0, count: width * height * stride)
  let finished = decoded.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
  guard finished != 0 else { throw FileError(path: path, message: "cannot decode PNG: \(pngMessage(image))") }
  guard hasAlpha else { return (decoded, width, height, outChannels) }
  var pixels = [UInt8](repeating: 0, count: width * height * outChannels)
  for p in 0..<(width * height) {
    for c in 0..<outChannels { pixels[p * outChannels + c] = decoded[p * stride + c] }
  }
  return (pixels, width, height, outChannels)
}

/// Reads only a PNG's header: its size and whether it is colour (3 channels) or gray (1).
public func readPNGHeader(path: String) throws -> (width: Int, height: Int, channels: Int) {
  var image = try beginPNGRead(path)
  defer { png_image_free(&image) }
  return (Int(image.width), Int(image.height), image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0 ? 3 : 1)
}

/// Opens `path` with libpng's simplified API and reads its header.
private func beginPNGRead(_ path: String) throws -> png_image {
  var image = png_image()
  image.version = UInt32(PNG_IMAGE_VERSION)
  guard png_image_begin_read_from_file(&image, path) != 0 else {
    let missing = !FileManager.default.fileExists(atPath: path)
    throw FileError(path: path, message: missing ? "file not found" : "not a readable PNG: \(pngMessage(image))")
  }
  return image
}

/// libpng's last message for `image`, stored in a fixed C char array.
private func pngMessage(_ image: png_image) -> String {
  withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}
