import Foundation
import TensorEngine

/// JSON files of the toolkit (`config.json`, `summary.json`, `latents.json` ...) through Foundation's `Codable`:
/// written atomically with sorted keys, read with errors that name the file and the key at fault.
public enum JSONFile {
  /// `value` as JSON text: one key per line and sorted keys (`pretty`), or one line.
  public static func encode<Value: Encodable>(_ value: Value, pretty: Bool = true) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys]
    // JSON has no NaN or infinity: a diverged figure is written as a string rather than failing the write.
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try encoder.encode(value)
  }

  /// Writes `value` to `path` atomically (see `FileIO.writeAtomically`), ending with a newline.
  /// - Throws: `FileError` naming the file.
  public static func write<Value: Encodable>(_ value: Value, to path: String) throws {
    try FileIO.writeAtomically(Array(try encode(value)) + [UInt8(ascii: "\n")], to: path)
  }

  /// Reads the JSON file at `path`.
  /// - Throws: `FileError` naming the file, and the key when one is missing or of the wrong type.
  public static func read<Value: Decodable>(_ type: Value.Type, from path: String) throws -> Value {
    guard FileManager.default.fileExists(atPath: path) else { throw FileError(path, "file not found") }
    let bytes = try FileIO.read(path)
    return try decode(type, from: Data(bytes), source: path)
  }

  /// Decodes `data`; `source` names it in errors.
  /// - Throws: `FileError` naming `source` and the key at fault.
  public static func decode<Value: Decodable>(_ type: Value.Type, from data: Data, source: String) throws -> Value {
    do {
      return try JSONDecoder().decode(type, from: data)
    } catch let error as DecodingError {
      throw FileError(source, describe(error))
    } catch {
      throw FileError(source, "not valid JSON (\(error))")
    }
  }

  /// One line for a decoding error: which key, and what is wrong with it.
  public static func describe(_ error: DecodingError) -> String {
    func key(_ path: [CodingKey]) -> String {
      path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let missing, let context):
      return "'\(key(context.codingPath + [missing]))' is missing"
    case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
      return context.codingPath.isEmpty
        ? "must hold \(describe(type)), the file's top level" : "'\(key(context.codingPath))' must be \(describe(type))"
    case .dataCorrupted(let context):
      if context.codingPath.isEmpty {
        let detail =
          (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
          ?? (context.debugDescription.isEmpty ? nil : context.debugDescription)
        return "not valid JSON" + (detail.map { " (\($0))" } ?? "")
      }
      return "'\(key(context.codingPath))': \(context.debugDescription)"
    @unknown default:
      return "\(error)"
    }
  }

  /// A JSON type's name for `type`.
  private static func describe(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type, is Int64.Type: "an integer"
    case is Float.Type, is Double.Type: "a number"
    case is String.Type: "a string"
    case is Bool.Type: "true or false"
    default: String(describing: type).hasPrefix("Array") ? "an array" : "an object"
    }
  }
}
