import CZlib
import Foundation
import TensorEngine

/// Whole-file reading for the loaders: the file lands in memory once, gzip members are inflated in one go, and no
/// file is read or inflated past the length its own header gives.
enum DatasetFile {
  /// The bytes of `path`; a gzip file (by its magic bytes) comes back decompressed. A name ending in `.gz`
  /// without gzip magic is an error rather than being read raw, as it is almost surely a broken download.
  /// - Parameters:
  ///   - headerLength: bytes at the start that say how long the data is.
  ///   - length: the whole (decompressed) length those bytes promise; it throws for a bad header. Data past it is
  ///     refused as soon as it appears, before it is inflated into memory, and a promise past the memory budget is
  ///     refused before anything is allocated.
  static func read(_ path: String, headerLength: Int, length: ([UInt8]) throws -> Int) throws -> [UInt8] {
    let bytes = try readRaw(path)
    if bytes.isEmpty { throw FileError(path, "file is empty") }
    let isGzip = bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    if !isGzip && path.hasSuffix(".gz") { throw FileError(path, "not a gzip file (no gzip magic bytes 1f 8b)") }
    func promised(_ header: [UInt8]) throws -> Int {
      let promised = try length(header)
      if let shortfall = MemoryBudget.shortfall(Double(promised), for: "its data") { throw FileError(path, shortfall) }
      return promised
    }
    guard isGzip else {
      guard bytes.count >= headerLength else { return bytes }
      let expected = try promised(Array(bytes.prefix(headerLength)))
      guard bytes.count <= expected else {
        throw FileError(path, "has \(bytes.count - expected) bytes after the \(expected) that its header describes")
      }
      return bytes
    }
    return try gunzip(bytes, path: path, headerLength: headerLength, length: promised)
  }

  /// The raw bytes of `path` (see `FileIO.read`: a folder, a device or a file past the memory budget is refused).
  static func readRaw(_ path: String) throws -> [UInt8] {
    guard FileManager.default.fileExists(atPath: path) else { throw FileError(path, "file not found") }
    return try FileIO.read(path)
  }

  /// Inflates every gzip member of `bytes` into one buffer; once `headerLength` bytes are out, `length` bounds the
  /// rest.
  static func gunzip(
    _ bytes: [UInt8], path: String, headerLength: Int, length: ([UInt8]) throws -> Int
  ) throws -> [UInt8] {
    var stream = z_stream()
    // 16 + MAX_WBITS: expect a gzip header and trailer rather than a zlib one.
    guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw FileError(path, "zlib could not start inflating")
    }
    defer { inflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: headerLength)
    var produced = 0
    // Until the header is out, the limit is the header itself; then it is the length the header promises (plus one
    // byte, to see whether more follows).
    var limit = headerLength
    var status = Z_OK
    try bytes.withUnsafeBufferPointer { input in
      stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
      stream.avail_in = UInt32(input.count)
      while status == Z_OK {
        if produced == output.count {
          if produced == limit {
            guard limit == headerLength else { break }
            limit = try length(output) + 1
            guard limit > produced else { break }
          }
          // Grown as the data comes, up to the limit: a header that promises more than the file holds costs only
          // what it holds.
          output.append(contentsOf: repeatElement(0, count: min(max(output.count, 1 << 16), limit - output.count)))
        }
        let room = min(output.count - produced, Int(UInt32.max))
        status = output.withUnsafeMutableBufferPointer { buffer in
          stream.next_out = buffer.baseAddress! + produced
          stream.avail_out = UInt32(room)
          return inflate(&stream, Z_NO_FLUSH)
        }
        produced += room - Int(stream.avail_out)
        // Concatenated members (as `cat a.gz b.gz` makes) decode as one file.
        if status == Z_STREAM_END && stream.avail_in > 0 && inflateReset(&stream) == Z_OK { status = Z_OK }
      }
    }
    if produced == limit && limit > headerLength {
      throw FileError(path, "decompresses to more than the \(limit - 1) bytes that its header describes")
    }
    switch status {
    case Z_STREAM_END, Z_OK:
      output.removeLast(output.count - produced)  // in place: a copy would hold the data twice
      return output
    case Z_BUF_ERROR: throw FileError(path, "corrupt gzip: the compressed data ends early (truncated download?)")
    default:
      let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
      throw FileError(path, "corrupt gzip: \(detail)")
    }
  }
}
