import Foundation
import TensorEngine

/// NumPy's `.npy` format for integer arrays, so that `numpy.load` reads the LATENT_BLOCK files with no flags.
///
/// A file is the magic `\x93NUMPY`, a version (1.0 written; 1.0 and 2.0 read), a little-endian header length (2
/// bytes in 1.0, 4 in 2.0), an ASCII Python dict `{'descr': '<i8', 'fortran_order': False, 'shape': (N, 8, 8), }`
/// padded with spaces and a newline so that the data starts 64-byte aligned, then the values in C order.
public enum NPY {
  /// The element types read; files are written as `<i8`.
  public enum ElementType: String, CaseIterable, Sendable {
    case int64 = "<i8"
    case int32 = "<i4"
    case uint8 = "|u1"

    var size: Int {
      switch self {
      case .int64: 8
      case .int32: 4
      case .uint8: 1
      }
    }
  }

  /// The largest header accepted: NumPy itself refuses more than 10,000 bytes by default.
  static let maxHeaderLength = 1 << 16

  /// The bytes of an int64 `.npy` file (version 1.0, C order) holding `values` with `shape`.
  public static func encode(_ values: [Int], shape: [Int]) -> [UInt8] {
    precondition(values.count == shape.reduce(1, *), "NPY.encode: \(values.count) values for shape \(shape)")
    var bytes = header(descr: "<i8", shape: shape)
    bytes.reserveCapacity(bytes.count + 8 * values.count)
    for value in values { withUnsafeBytes(of: Int64(value).littleEndian) { bytes.append(contentsOf: $0) } }
    return bytes
  }

  /// The bytes of a float64 `.npy` file (version 1.0, C order) holding `values` with `shape`: figures such as the
  /// scores of `vqvae-tools score`, for NumPy. (Only integer files are read back.)
  public static func encode(doubles values: [Double], shape: [Int]) -> [UInt8] {
    precondition(values.count == shape.reduce(1, *), "NPY.encode: \(values.count) values for shape \(shape)")
    var bytes = header(descr: "<f8", shape: shape)
    bytes.reserveCapacity(bytes.count + 8 * values.count)
    for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
    return bytes
  }

  /// The magic, version 1.0, the header's length and the header dict for `descr` and `shape`, padded so that the
  /// data starts 64-byte aligned.
  private static func header(descr: String, shape: [Int]) -> [UInt8] {
    let dimensions = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
    var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dimensions)), }".utf8)
    // Magic (6) + version (2) + length (2) + header + "\n" is a multiple of 64.
    let unpadded = 10 + header.count + 1
    header += [UInt8](repeating: UInt8(ascii: " "), count: (64 - unpadded % 64) % 64) + [UInt8(ascii: "\n")]
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
  }

  /// Writes `values` as an int64 `.npy` file atomically (a temporary file, then a rename).
  /// - Throws: `FileError` if the file cannot be written.
  public static func write(_ values: [Int], shape: [Int], to path: String) throws {
    try FileIO.writeAtomically(encode(values, shape: shape), to: path)
  }

  /// Reads an integer `.npy` file.
  /// - Throws: `FileError` naming the file and what is wrong with it.
  public static func read(contentsOf path: String) throws -> (values: [Int], shape: [Int]) {
    guard FileManager.default.fileExists(atPath: path) else { throw FileError(path, "file not found") }
    let bytes = try FileIO.read(path)
    return try decode(bytes, source: path)
  }

  /// Parses the bytes of an integer `.npy` file; `source` names it in errors.
  /// - Throws: `FileError` on a bad magic, an unsupported version, dtype or Fortran order, a malformed header,
  ///   or data that does not fill the shape exactly.
  public static func decode(_ bytes: [UInt8], source: String) throws -> (values: [Int], shape: [Int]) {
    func fail(_ reason: String) -> FileError { FileError(source, reason) }
    guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
      throw fail("not a .npy file (the magic \\x93NUMPY is missing)")
    }
    let (major, minor) = (Int(bytes[6]), Int(bytes[7]))
    let lengthSize: Int
    switch major {
    case 1: lengthSize = 2
    case 2: lengthSize = 4
    default: throw fail("unsupported .npy version \(major).\(minor) (1.0 and 2.0 are read)")
    }
    guard bytes.count >= 8 + lengthSize else { throw fail("truncated header") }
    let headerLength = (0..<lengthSize).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
    let dataStart = 8 + lengthSize + headerLength
    guard headerLength <= maxHeaderLength else {
      throw fail("header length \(headerLength) bytes is absurd (at most \(maxHeaderLength))")
    }
    guard dataStart <= bytes.count else {
      throw fail("header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
    }
    guard let header = String(bytes: bytes[(8 + lengthSize)..<dataStart], encoding: .ascii) else {
      throw fail("header is not ASCII")
    }
    let (descr, fortranOrder, shape) = try parseHeader(header, fail: fail)
    guard let type = ElementType(rawValue: descr) else {
      let known = ElementType.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
      throw fail("unsupported dtype '\(descr)'; integer arrays (\(known)) are read")
    }
    guard !fortranOrder else { throw fail("Fortran-order arrays are not supported; save it in C order") }
    let count = shape.reduce(1, *)
    let expected = count * type.size
    let stored = bytes.count - dataStart
    guard stored == expected else {
      throw fail(
        stored < expected
          ? "truncated: shape \(shape) needs \(expected) data bytes but only \(stored) are stored"
          : "shape \(shape) needs \(expected) data bytes but \(stored) are stored")
    }
    let values = bytes.withUnsafeBytes { raw -> [Int] in
      let data = raw.baseAddress! + dataStart
      switch type {
      case .int64:
        return (0..<count).map { Int(Int64(littleEndian: data.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
      case .int32:
        return (0..<count).map { Int(Int32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
      case .uint8: return (0..<count).map { Int(data.load(fromByteOffset: $0, as: UInt8.self)) }
      }
    }
    return (values, shape)
  }

  /// Reads `descr`, `fortran_order` and `shape` from the header's Python dict literal.
  private static func parseHeader(_ header: String, fail: (String) -> FileError) throws -> (String, Bool, [Int]) {
    let text = header.trimmingCharacters(in: .whitespacesAndNewlines)
    guard text.hasPrefix("{"), text.hasSuffix("}") else {
      throw fail("header is not a Python dict: \(text.prefix(80))")
    }
    func value(of key: String) throws -> Substring {
      guard let keyRange = text.range(of: "'\(key)'") ?? text.range(of: "\"\(key)\"") else {
        throw fail("header lacks '\(key)': \(text.prefix(80))")
      }
      var rest = text[keyRange.upperBound...].drop { $0 == " " }
      guard rest.first == ":" else { throw fail("header has no value for '\(key)'") }
      rest = rest.dropFirst().drop { $0 == " " }
      return rest
    }
    let descrText = try value(of: "descr")
    guard let quote = descrText.first, quote == "'" || quote == "\"",
      let end = descrText.dropFirst().firstIndex(of: quote)
    else { throw fail("header's 'descr' is not a string (structured dtypes are not supported)") }
    let descr = String(descrText[descrText.index(after: descrText.startIndex)..<end])
    let order = try value(of: "fortran_order")
    let fortran: Bool
    if order.hasPrefix("True") {
      fortran = true
    } else if order.hasPrefix("False") {
      fortran = false
    } else {
      throw fail("header's 'fortran_order' is neither True nor False")
    }
    let shapeText = try value(of: "shape")
    guard shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
      throw fail("header's 'shape' is not a tuple")
    }
    let inside = shapeText[shapeText.index(after: shapeText.startIndex)..<close]
    var shape: [Int] = []
    for part in inside.split(separator: ",") {
      let item = part.trimmingCharacters(in: .whitespaces)
      if item.isEmpty { continue }
      guard let dimension = Int(item), dimension >= 0 else {
        throw fail("header's 'shape' has a bad dimension '\(item)'")
      }
      shape.append(dimension)
    }
    // The product of the non-zero dimensions, in Double so that it cannot trap, bounds every partial product:
    // a 0 after huge dimensions must not hide their overflow.
    guard shape.filter({ $0 > 0 }).reduce(1.0, { $0 * Double($1) }) < 0x1p40 else {
      throw fail("header's shape \(shape) is absurdly large")
    }
    return (descr, fortran, shape)
  }
}
