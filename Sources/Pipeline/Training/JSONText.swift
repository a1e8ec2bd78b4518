import Foundation

/// A JSON scalar for the run's files (config, metrics, summary).
enum JSONScalar {
  case integer(Int)
  /// Written with Float's shortest round-trip spelling, so `3e-4` stays `0.0003`.
  case float(Float)
  /// Written with Double's shortest round-trip spelling.
  case double(Double)
  /// Written with 6 significant digits: enough for metrics, short enough to read.
  case rounded(Double)
  case string(String)
  /// A JSON array of integers, on one line.
  case integers([Int])
  case boolean(Bool)
  case null

  var text: String {
    switch self {
    case .integer(let value): "\(value)"
    // JSON has no NaN or infinity: those become null.
    case .float(let value): value.isFinite ? "\(value)" : "null"
    case .double(let value): value.isFinite ? "\(value)" : "null"
    case .rounded(let value): value.isFinite ? String(format: "%.6g", value) : "null"
    case .string(let value): JSONText.quote(value)
    case .integers(let values): "[" + values.map(String.init).joined(separator: ", ") + "]"
    case .boolean(let value): value ? "true" : "false"
    case .null: "null"
    }
  }
}

/// JSON objects written by hand: keys stay in the order given, numbers keep a readable spelling.
enum JSONText {
  /// `fields` as one JSON object, on one line or one key per line (`pretty`).
  static func object(_ fields: [(String, JSONScalar)], pretty: Bool = false) -> String {
    let pairs = fields.map { "\(quote($0.0)):\(pretty ? " " : "")\($0.1.text)" }
    return pretty ? "{\n  " + pairs.joined(separator: ",\n  ") + "\n}\n" : "{" + pairs.joined(separator: ",") + "}"
  }

  /// `string` as a JSON string literal.
  static func quote(_ string: String) -> String {
    var out = "\""
    for scalar in string.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }

  /// Parses `data` as a JSON object; `source` names it in errors.
  static func parseObject(_ data: Data, source: String) throws -> [String: Any] {
    let json: Any
    do {
      json = try JSONSerialization.jsonObject(with: data)
    } catch {
      let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
      throw TrainingError("\(source): not valid JSON" + (detail.map { " (\($0))" } ?? ""))
    }
    guard let object = json as? [String: Any] else { throw TrainingError("\(source): not a JSON object") }
    return object
  }

  /// Writes `text` to `path` atomically (a temporary file in the same folder, then a rename).
  static func write(_ text: String, to path: String) throws {
    do {
      try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw TrainingError("\(path): cannot write: \((error as NSError).localizedDescription)")
    }
  }
}
