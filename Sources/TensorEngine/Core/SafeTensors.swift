import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Tensor data moves between files and arrays as raw memory, so the host must share the file's byte order.
#if !_endian(little)
  #error("SafeTensors assumes a little-endian host")
#endif

/// An element type of a safetensors tensor, spelled as in the file header.
public enum SafeTensorsDType: String, Sendable {
  /// IEEE 754 single precision, 4 bytes.
  case float32 = "F32"
  /// Two's complement signed integer, 8 bytes.
  case int64 = "I64"

  /// Bytes per element.
  var size: Int {
    switch self {
    case .float32: 4
    case .int64: 8
    }
  }
}

/// A set of named F32/I64 tensors plus string metadata, in the safetensors format.
///
/// A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name to
/// `{"dtype", "shape", "data_offsets"}` (plus an optional `"__metadata__"` object of strings), then the data
/// buffer that the offsets index.
public struct SafeTensors: Sendable {
  /// The type and shape of one stored tensor.
  public struct Entry: Sendable, Equatable {
    /// The element type.
    public let dtype: SafeTensorsDType
    /// The dimensions, outermost first; `[]` is a scalar.
    public let shape: [Int]
  }

  private enum Payload: Sendable {
    case float32([Float])
    case int64([Int64])

    var byteCount: Int {
      switch self {
      case .float32(let values): values.count * MemoryLayout<Float>.stride
      case .int64(let values): values.count * MemoryLayout<Int64>.stride
      }
    }
  }

  private struct Tensor: Sendable {
    let shape: [Int]
    let payload: Payload

    var dtype: SafeTensorsDType {
      switch payload {
      case .float32: .float32
      case .int64: .int64
      }
    }
  }

  /// Headers beyond this are rejected as corrupt; the reference implementation uses the same limit.
  static let maxHeaderLength = 100_000_000

  /// The `__metadata__` strings.
  public var metadata: [String: String]
  private var tensors: [String: Tensor] = [:]
  /// Names the file this was read from in lookup errors.
  private var source = "(in memory)"

  /// The tensor names, sorted.
  public var names: [String] { tensors.keys.sorted() }

  /// The type and shape of tensor `name`, or nil if there is none.
  public func entry(_ name: String) -> Entry? {
    tensors[name].map { Entry(dtype: $0.dtype, shape: $0.shape) }
  }

  /// The elements of F32 tensor `name`, row-major; throws if it is missing or not F32.
  public func floats(_ name: String) throws -> [Float] {
    let tensor = try lookup(name)
    guard case .float32(let values) = tensor.payload else { throw mismatch(name, tensor, .float32) }
    return values
  }

  /// The elements of I64 tensor `name`, row-major; throws if it is missing or not I64.
  public func int64s(_ name: String) throws -> [Int64] {
    let tensor = try lookup(name)
    guard case .int64(let values) = tensor.payload else { throw mismatch(name, tensor, .int64) }
    return values
  }

  private func lookup(_ name: String) throws -> Tensor {
    guard let tensor = tensors[name] else { throw FileError(path: source, message: "no tensor named '\(name)'") }
    return tensor
  }

  private func mismatch(_ name: String, _ tensor: Tensor, _ wanted: SafeTensorsDType) -> FileError {
    FileError(
      path: source, message: "tensor '\(name)' has dtype \(tensor.dtype.rawValue), not \(wanted.rawValue)")
  }

  /// An empty set to fill with `add` and then write.
  public init(metadata: [String: String] = [:]) {
    self.metadata = metadata
  }

  /// Adds (or replaces) F32 tensor `name`; `floats.count` must equal the product of `shape`.
  public mutating func add(_ name: String, floats: [Float], shape: [Int]) {
    Self.checkAdd(name, count: floats.count, shape: shape)
    tensors[name] = Tensor(shape: shape, payload: .float32(floats))
  }

  /// Adds (or replaces) I64 tensor `name`; `int64s.count` must equal the product of `shape`.
  public mutating func add(_ name: String, int64s: [Int64], shape: [Int]) {
    Self.checkAdd(name, count: int64s.count, shape: shape)
    tensors[name] = Tensor(shape: shape, payload: .int64(int64s))
  }

  private static func checkAdd(_ name: String, count: Int, shape: [Int]) {
    precondition(name != "__metadata__", "'__metadata__' is reserved and cannot name a tensor")
    precondition(shape.allSatisfy { $0 >= 0 }, "tensor '\(name)' has a negative dimension in shape \(shape)")
    let expected = elementCount(shape)
    precondition(
      expected == count,
      "tensor '\(name)' has \(count) elements but shape \(shape) holds \(expected.map(String.init) ?? "too many")")
  }

  /// The product of `shape`, or nil if it overflows.
  private static func elementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dim in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: dim)
      if overflow { return nil }
      count = product
    }
    return count
  }

  // MARK: Reading

  /// Parses a whole safetensors file held in `bytes`, checking every header field against the data;
  /// `source` names the file in errors.
  public init(bytes: [UInt8], source: String) throws {
    func fail(_ message: String) -> FileError { FileError(path: source, message: message) }

    guard bytes.count >= 8 else { throw fail("short header: file has \(bytes.count) bytes, need at least 8") }
    let headerLength = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    guard headerLength <= UInt64(Self.maxHeaderLength) else {
      throw fail("header length \(headerLength) exceeds the limit of \(Self.maxHeaderLength) bytes")
    }
    let dataStart = 8 + Int(headerLength)
    guard dataStart <= bytes.count else {
      throw fail("header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
    }
    let dataCount = bytes.count - dataStart

    let headerBytes = bytes[8..<dataStart]
    // JSONSerialization would also guess UTF-16/32; the format says UTF-8 only.
    guard String(bytes: headerBytes, encoding: .utf8) != nil else { throw fail("header is not valid UTF-8") }
    let json: Any
    do {
      json = try JSONSerialization.jsonObject(with: Data(headerBytes))
    } catch {
      throw fail("header is not valid JSON")
    }
    guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }

    var metadata: [String: String] = [:]
    if let raw = header["__metadata__"], !(raw is NSNull) {
      guard let object = raw as? [String: Any] else { throw fail("__metadata__ is not an object") }
      for (key, value) in object.sorted(by: { $0.key < $1.key }) {
        guard let string = value as? String else { throw fail("__metadata__ value for '\(key)' is not a string") }
        metadata[key] = string
      }
    }

    // Validate every entry before copying any data; sorted so the first error reported is deterministic.
    var layout: [(name: String, dtype: SafeTensorsDType, shape: [Int], begin: Int, end: Int)] = []
    for name in header.keys.sorted() where name != "__metadata__" {
      guard let fields = header[name] as? [String: Any] else { throw fail("tensor '\(name)' is not an object") }
      for key in ["dtype", "shape", "data_offsets"] where fields[key] == nil {
        throw fail("tensor '\(name)' lacks \(key)")
      }
      guard let dtypeName = fields["dtype"] as? String else { throw fail("tensor '\(name)' dtype is not a string") }
      guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
        throw fail("tensor '\(name)' has dtype \(dtypeName); supported: F32, I64")
      }
      guard let shape = Self.jsonInts(fields["shape"]) else {
        throw fail("tensor '\(name)' shape \(Self.describe(fields["shape"])) is not an array of integers")
      }
      if let dim = shape.first(where: { $0 < 0 }) {
        throw fail("tensor '\(name)' has negative dimension \(dim) in shape \(shape)")
      }
      guard let offsets = Self.jsonInts(fields["data_offsets"]), offsets.count == 2, offsets[0] >= 0,
        offsets[0] <= offsets[1]
      else {
        throw fail(
          "tensor '\(name)' data_offsets \(Self.describe(fields["data_offsets"])) are not two non-negative integers"
            + " [begin, end] with begin <= end")
      }
      let (begin, end) = (offsets[0], offsets[1])
      guard end <= dataCount else {
        throw fail("tensor '\(name)' data_offsets [\(begin), \(end)] run past the end of the data (\(dataCount) bytes)")
      }
      guard let count = Self.elementCount(shape), count <= Int.max / dtype.size else {
        throw fail("tensor '\(name)' shape \(shape) is too large")
      }
      guard end - begin == count * dtype.size else {
        throw fail(
          "tensor '\(name)' has \(end - begin) bytes of data but shape \(shape) of \(dtype.rawValue) needs"
            + " \(count * dtype.size)")
      }
      layout.append((name, dtype, shape, begin, end))
    }

    // As the reference reader, the tensors must tile the data buffer: sorted by begin, each non-empty span starts
    // where the one before ended, and the last ends with the file. Bytes outside every tensor mean a corrupt or
    // doctored file.
    var previous: (name: String, begin: Int, end: Int)?
    for span in layout.filter({ $0.begin < $0.end }).sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
      let end = previous?.end ?? 0
      if let previous, span.begin < end {
        throw fail(
          "tensors '\(previous.name)' [\(previous.begin), \(previous.end)) and '\(span.name)'"
            + " [\(span.begin), \(span.end)) overlap")
      }
      if span.begin > end {
        throw fail(
          "bytes [\(end), \(span.begin)) of the data belong to no tensor"
            + (previous.map { " (between '\($0.name)' and '\(span.name)')" } ?? ""))
      }
      previous = (span.name, span.begin, span.end)
    }
    let used = previous?.end ?? 0
    guard used == dataCount else { throw fail("has \(dataCount - used) bytes after the last tensor's data") }

    self.metadata = metadata
    self.source = source
    bytes.withUnsafeBytes { file in
      for item in layout {
        let raw = UnsafeRawBufferPointer(rebasing: file[dataStart + item.begin..<dataStart + item.end])
        let payload: Payload =
          switch item.dtype {
          case .float32: .float32(Self.load(Float.self, from: raw))
          case .int64: .int64(Self.load(Int64.self, from: raw))
          }
        tensors[item.name] = Tensor(shape: item.shape, payload: payload)
      }
    }
  }

  /// Copies `raw` (a whole number of elements, any alignment) into a new array.
  private static func load<T: BitwiseCopyable>(_ type: T.Type, from raw: UnsafeRawBufferPointer) -> [T] {
    let count = raw.count / MemoryLayout<T>.stride
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
      UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
      initialized = count
    }
  }

  /// `value` as a JSON array of integers, or nil. JSONSerialization yields NSNumbers, so booleans
  /// (type code "c") and floating-point numbers ("d", "f") are told apart by their type codes.
  private static func jsonInts(_ value: Any?) -> [Int]? {
    guard let array = value as? [Any] else { return nil }
    var ints: [Int] = []
    ints.reserveCapacity(array.count)
    for element in array {
      guard let number = element as? NSNumber, "sSiIlLqQ".utf8.contains(UInt8(bitPattern: number.objCType.pointee)),
        let int = number as? Int
      else { return nil }
      ints.append(int)
    }
    return ints
  }

  /// A short rendering of a JSON value for error messages, as JSON so booleans read as such.
  private static func describe(_ value: Any?) -> String {
    let data = value.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: .fragmentsAllowed) }
    let text = data.flatMap { String(data: $0, encoding: .utf8) } ?? "null"
    return text.count <= 60 ? text : text.prefix(57) + "..."
  }

  /// Reads and parses the safetensors file at `path`.
  public static func read(contentsOf path: String) throws -> SafeTensors {
    try SafeTensors(bytes: try FileIO.read(path), source: path)
  }

  // MARK: Writing

  /// The file's bytes: tensors in name order, laid out back to back in that order, with a compact,
  /// deterministic header (sorted keys, so `__metadata__` comes before lowercase names) padded with spaces to a
  /// multiple of 8 bytes so the data starts 8-byte aligned.
  /// - Throws: `EncodingError` if Foundation cannot encode the header (it always can: strings and integers).
  public func serialized() throws -> [UInt8] {
    var bytes: [UInt8] = []
    try stream { bytes.append(contentsOf: $0) }
    return bytes
  }

  /// Hands the file's bytes to `emit` in order: the header's length, the header, then each tensor's data straight
  /// from its array, so that writing a checkpoint holds no second copy of its tensors.
  private func stream(_ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
    let sorted = tensors.sorted { $0.key < $1.key }
    var header: [String: HeaderEntry] = metadata.isEmpty ? [:] : ["__metadata__": .metadata(metadata)]
    var offset = 0
    for (name, tensor) in sorted {
      let size = tensor.payload.byteCount
      header[name] = .tensor(dtype: tensor.dtype.rawValue, shape: tensor.shape, offsets: [offset, offset + size])
      offset += size
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var headerBytes = Array(try encoder.encode(header))
    headerBytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8))
    try withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { try emit($0) }
    try headerBytes.withUnsafeBytes { try emit($0) }
    for (_, tensor) in sorted {
      switch tensor.payload {
      case .float32(let values): try values.withUnsafeBytes { try emit($0) }
      case .int64(let values): try values.withUnsafeBytes { try emit($0) }
      }
    }
  }

  /// One value of the header: the metadata strings, or a tensor's entry.
  private enum HeaderEntry: Encodable {
    case metadata([String: String])
    case tensor(dtype: String, shape: [Int], offsets: [Int])

    enum CodingKeys: String, CodingKey {
      case dtype, shape
      case offsets = "data_offsets"
    }

    func encode(to encoder: Encoder) throws {
      switch self {
      case .metadata(let strings):
        var container = encoder.singleValueContainer()
        try container.encode(strings)
      case .tensor(let dtype, let shape, let offsets):
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(dtype, forKey: .dtype)
        try container.encode(shape, forKey: .shape)
        try container.encode(offsets, forKey: .offsets)
      }
    }
  }

  /// Writes the file atomically (see `FileIO.writeAtomically`): readers see the old file or the new one, never a
  /// partial one.
  public func write(to path: String) throws {
    try FileIO.writeAtomically(to: path) { append in try stream(append) }
  }
}
