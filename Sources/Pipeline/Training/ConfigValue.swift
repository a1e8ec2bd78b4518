import Foundation

/// A value for one configuration key, as it came from a JSON config file or a command-line flag.
public enum ConfigValue: Equatable, Sendable, CustomStringConvertible {
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
  /// A JSON array or object, which no key takes; the payload says which.
  case compound(String)

  /// The value as JSON text (or "an array"), for error messages.
  public var description: String {
    switch self {
    case .integer(let value): "\(value)"
    case .number(let value): "\(value)"
    case .string(let value): JSONText.quote(value)
    case .boolean(let value): "\(value)"
    case .null: "null"
    case .compound(let kind): kind
    }
  }

  /// Converts a value from `JSONSerialization`, telling booleans, integers and doubles apart by the NSNumber's type.
  init(json value: Any) {
    switch value {
    case is NSNull: self = .null
    case let string as String: self = .string(string)
    case let number as NSNumber:
      switch UInt8(bitPattern: number.objCType.pointee) {
      case UInt8(ascii: "c"), UInt8(ascii: "B"): self = .boolean(number.boolValue)
      case UInt8(ascii: "d"), UInt8(ascii: "f"): self = .number(number.doubleValue)
      default: self = (number as? Int).map { .integer($0) } ?? .number(number.doubleValue)
      }
    case is [Any]: self = .compound("an array")
    default: self = .compound("an object")
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
  static func object(at path: String) throws -> [String: Any] {
    guard FileManager.default.fileExists(atPath: path) else { throw TrainingError("\(path): config file not found") }
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw TrainingError("\(path): cannot read the config file: \((error as NSError).localizedDescription)")
    }
    return try JSONText.parseObject(data, source: path)
  }

  /// The keys and values of a parsed JSON object, in key order.
  static func entries(_ object: [String: Any]) -> [(String, ConfigValue)] {
    object.sorted { $0.key < $1.key }.map { ($0.key, ConfigValue(json: $0.value)) }
  }
}
