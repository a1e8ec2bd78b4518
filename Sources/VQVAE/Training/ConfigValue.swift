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
