import Foundation

/// A value for one setting, as it came from a JSON file or a command-line flag (whose text is read as JSON when it
/// parses, so `--beta 1e-3` is a number and `--data-dir 2024` a string only where a string is wanted).
public enum ConfigValue: Equatable, Sendable, Codable, CustomStringConvertible {
  /// A whole number.
  case integer(Int)
  /// A number with a fraction or an exponent (or too large for `Int`).
  case number(Double)
  /// A string.
  case string(String)
  /// `true` or `false`.
  case boolean(Bool)
  /// JSON `null`: "not set" for the optional keys.
  case null
  /// A JSON array.
  case array([ConfigValue])
  /// A JSON object.
  case object([String: ConfigValue])

  /// The value as JSON text (or "an array"), for error messages.
  public var description: String {
    switch self {
    case .integer(let value): "\(value)"
    case .number(let value): "\(value)"
    case .string(let value): "\"\(value)\""
    case .boolean(let value): "\(value)"
    case .null: "null"
    case .array: "an array"
    case .object: "an object"
    }
  }

  public init(from decoder: Swift.Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .boolean(value)
    } else if let value = try? container.decode(Int.self) {
      self = .integer(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([ConfigValue].self) {
      self = .array(value)
    } else if let value = try? container.decode([String: ConfigValue].self) {
      self = .object(value)
    } else {
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "not a value that can be read (a number past the range of a Double?)")
    }
  }

  public func encode(to encoder: Swift.Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .integer(let value): try container.encode(value)
    // JSON has no NaN or infinity: those become null.
    case .number(let value): value.isFinite ? try container.encode(value) : try container.encodeNil()
    case .string(let value): try container.encode(value)
    case .boolean(let value): try container.encode(value)
    case .null: try container.encodeNil()
    case .array(let values): try container.encode(values)
    case .object(let values): try container.encode(values)
    }
  }

  /// A figure for metrics and summaries, to 6 significant digits: enough to compare, short enough to read.
  public static func rounded(_ value: Double) -> ConfigValue {
    value.isFinite ? .number(Double(String(format: "%.6g", value)) ?? value) : .null
  }

  /// An optional figure, `null` when absent.
  public static func rounded(_ value: Double?) -> ConfigValue { value.map { rounded($0) } ?? .null }

  /// A `Float` as the number it was written as (`3e-4` stays 0.0003, not 0.0003000000142).
  public static func number(float value: Float) -> ConfigValue { .number(Double("\(value)") ?? .nan) }

  /// The value as JSON text, on one line with sorted keys.
  public var jsonText: String {
    (try? JSONFile.encode(self, pretty: false)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
  }

  /// A flag's text as a value: JSON when it parses as a scalar (`8`, `1e-3`, `true`, `null`), else the text.
  public init(flag text: String) {
    let parsed = try? JSONDecoder().decode(ConfigValue.self, from: Data(text.utf8))
    switch parsed {
    case .integer, .number, .boolean, .null: self = parsed!
    default: self = .string(text)
    }
  }
}

extension ConfigValue {
  /// The value as a whole number; `name` (the flag or file key) names it in the error.
  func integer(_ name: String) throws -> Int {
    switch self {
    case .integer(let number): return number
    case .number(let number) where number.rounded() == number && abs(number) < 0x1p62: return Int(number)
    default: throw TrainingError("\(name) must be an integer, got \(self)")
    }
  }

  /// The value as a whole number, or nil for JSON `null`.
  func optionalInteger(_ name: String) throws -> Int? { self == .null ? nil : try integer(name) }

  /// The value as a number.
  func float(_ name: String) throws -> Float {
    switch self {
    case .integer(let number): return Float(number)
    case .number(let number): return Float(number)
    default: throw TrainingError("\(name) must be a number, got \(self)")
    }
  }

  /// The value as a string, or nil for JSON `null`.
  func optionalString(_ name: String) throws -> String? {
    switch self {
    case .string(let text): return text
    case .null: return nil
    // A flag whose text reads as a number (a folder named 2024) is still text where text is wanted.
    case .integer(let number): return "\(number)"
    default: throw TrainingError("\(name) must be a string, got \(self)")
    }
  }

  /// The value as one of a string enumeration's cases (any case).
  func choice<Choice: RawRepresentable & CaseIterable>(_ name: String, of type: Choice.Type) throws -> Choice
  where Choice.RawValue == String {
    let text = try optionalString(name) ?? ""
    guard let choice = Choice.allCases.first(where: { $0.rawValue == text.lowercased() }) else {
      let known = Choice.allCases.map(\.rawValue).joined(separator: " or ")
      throw TrainingError("\(name) must be \(known), got \(self)")
    }
    return choice
  }

  /// The value as `true` or `false`.
  func boolean(_ name: String) throws -> Bool {
    guard case .boolean(let flag) = self else { throw TrainingError("\(name) must be true or false, got \(self)") }
    return flag
  }
}

/// Where a configuration value came from, so that an error can name the flag or the file.
public enum ConfigOrigin: Equatable, Sendable {
  /// A JSON file: a `--config` file, or the configuration stored in a checkpoint.
  case file(String)
  /// A command-line flag.
  case flag

  /// How an error names the key `name` (whose flag is `flag`): by its flag, or by file and key.
  func describe(_ name: String, flag: String) -> String {
    switch self {
    case .flag: flag
    case .file(let path): "\(path): \(name)"
    }
  }
}

/// JSON config files.
enum ConfigFile {
  /// The JSON object at `path`.
  /// - Throws: `TrainingError` naming the file if it is missing, unreadable, not JSON or not an object.
  static func object(at path: String) throws -> [String: ConfigValue] {
    guard FileManager.default.fileExists(atPath: path) else { throw TrainingError("\(path): config file not found") }
    let bytes: [UInt8]
    do { bytes = try FileIO.read(path) } catch let error as FileError { throw TrainingError(error.description) }
    return try object(Data(bytes), source: path)
  }

  /// The JSON object in `data`; `source` names it in errors.
  static func object(_ data: Data, source: String) throws -> [String: ConfigValue] {
    let value: ConfigValue
    do { value = try JSONFile.decode(ConfigValue.self, from: data, source: source) } catch let error as FileError {
      throw TrainingError(error.description)
    }
    guard case .object(let object) = value else { throw TrainingError("\(source): not a JSON object") }
    return object
  }
}
