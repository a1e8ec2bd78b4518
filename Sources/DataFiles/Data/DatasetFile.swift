import CZlib
import Foundation
import TensorEngine

/// Whole-file reading for the loaders: the file lands in memory once, gzip members are inflated in one go.
enum DatasetFile {
  /// The bytes of `path`; a gzip file (by its magic bytes) comes back decompressed. A name ending in `.gz`
  /// without gzip magic is an error rather than being read raw, as it is almost surely a broken download.
  static func read(_ path: String) throws -> [UInt8] {
    let bytes = try readRaw(path)
    if bytes.isEmpty { throw FileError(path, "file is empty") }
    if bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b { return try gunzip(bytes, path: path) }
    if path.hasSuffix(".gz") { throw FileError(path, "not a gzip file (no gzip magic bytes 1f 8b)") }
    return bytes
  }

  /// The raw bytes of `path` (see `FileIO.read`).
  static func readRaw(_ path: String) throws -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw FileError(path, "file not found")
    }
    if isDirectory.boolValue { throw FileError(path, "is a folder, expected a file") }
    return try FileIO.read(path)
  }

  /// Inflates every gzip member of `bytes` into one buffer, sized up front from the trailer's length field.
  static func gunzip(_ bytes: [UInt8], path: String) throws -> [UInt8] {
    var stream = z_stream()
    // 16 + MAX_WBITS: expect a gzip header and trailer rather than a zlib one.
    guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw FileError(path, "zlib could not start inflating")
    }
    defer { inflateEnd(&stream) }
    // ISIZE (last 4 bytes, little-endian) is the length mod 2^32 of the last member: only a hint, and garbage in a
    // truncated file. malloc leaves untouched pages unmapped, so a wrong hint costs no memory; deflate cannot
    // expand more than 1032-fold, which bounds it.
    let n = bytes.count
    let hint = bytes.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
    var capacity = max(min(hint, 1032 * n), 1 << 16)
    guard var output = malloc(capacity)?.assumingMemoryBound(to: UInt8.self) else {
      throw FileError(path, "out of memory for \(capacity) decompressed bytes")
    }
    defer { free(output) }
    var produced = 0
    var status = Z_OK
    bytes.withUnsafeBufferPointer { input in
      stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
      stream.avail_in = UInt32(input.count)
      while status == Z_OK {
        if produced == capacity {
          guard let grown = realloc(output, 2 * capacity) else {
            status = Z_MEM_ERROR
            break
          }
          output = grown.assumingMemoryBound(to: UInt8.self)
          capacity *= 2
        }
        let room = min(capacity - produced, Int(UInt32.max))
        stream.next_out = output + produced
        stream.avail_out = UInt32(room)
        status = inflate(&stream, Z_NO_FLUSH)
        produced += room - Int(stream.avail_out)
        // Concatenated members (as `cat a.gz b.gz` makes) decode as one file.
        if status == Z_STREAM_END && stream.avail_in > 0 && inflateReset(&stream) == Z_OK { status = Z_OK }
      }
    }
    switch status {
    case Z_STREAM_END: return Array(UnsafeBufferPointer(start: output, count: produced))
    case Z_MEM_ERROR: throw FileError(path, "out of memory after \(produced) decompressed bytes")
    case Z_BUF_ERROR: throw FileError(path, "corrupt gzip: the compressed data ends early (truncated download?)")
    default:
      let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
      throw FileError(path, "corrupt gzip: \(detail)")
    }
  }
}
