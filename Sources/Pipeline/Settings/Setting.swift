import Foundation

/// One setting of a stage, declared once: its key (the JSON spelling, `batch_size`), its help, its check, and whether
/// it fixes the model's architecture. The flag (`--batch-size` and the PyTorch spelling `--batch_size`), the config
/// file key, `config.json`, the checkpoint's metadata, `--help` and the README's tables all come from it; the default
/// is the value its property starts with.
public struct Setting<Settings>: Sendable {
  /// The JSON key.
  public let key: String
  /// One line for `--help` and the README.
  public let help: String
  /// What the value looks like in `--help`: `n`, `x`, `dir`, `name` ...
  public let valueName: String
  /// Whether a resumed run must keep it (it shapes the weights).
  public let fixesArchitecture: Bool
  /// What an unset (`null`) value means, for `--help` and the README: "all", "the epochs'" ...
  public var unset = "none"
  /// The value in `settings`, as JSON.
  let read: @Sendable (Settings) -> ConfigValue
  /// Sets the value in `settings`; `name` (the flag, or the file and key) names it in errors.
  let write: @Sendable (inout Settings, ConfigValue, String) throws -> Void
  /// What the value must be, when `settings` does not satisfy it (the requirement, such as "at least 1").
  let check: @Sendable (Settings) -> String?

  /// The command-line flag, `--batch-size`.
  public var flag: String { "--" + key.replacingOccurrences(of: "_", with: "-") }
  /// The PyTorch repos' spelling, `--batch_size` (the same as `flag` when the key has no underscore).
  public var underscoredFlag: String { "--" + key }
}

/// The conditions a setting's value must meet, each naming what it wants in the error.
public struct Requirement<Value>: Sendable {
  /// What a valid value is, for the error ("at least 1").
  let description: String
  let holds: @Sendable (Value) -> Bool

  public static func atLeast(_ bound: Int) -> Requirement<Int> {
    Requirement<Int>(description: "at least \(bound)") { $0 >= bound }
  }
  public static func within(_ range: ClosedRange<Int>) -> Requirement<Int> {
    Requirement<Int>(description: "in \(range.lowerBound)...\(range.upperBound)") { range.contains($0) }
  }
  public static var positive: Requirement<Float> {
    Requirement<Float>(description: "a positive number") { $0.isFinite && $0 > 0 }
  }
  public static var nonNegative: Requirement<Float> {
    Requirement<Float>(description: "a non-negative number") { $0.isFinite && $0 >= 0 }
  }
  public static func custom(_ description: String, _ holds: @escaping @Sendable (Value) -> Bool) -> Requirement {
    Requirement(description: description, holds: holds)
  }
}

extension Setting {
  /// A whole-number setting.
  public static func integer(
    _ key: String, _ path: WritableKeyPath<Settings, Int> & Sendable, _ requirement: Requirement<Int>? = nil,
    architecture: Bool = false, valueName: String = "n", help: String
  ) -> Setting {
    Setting(
      key: key, help: help, valueName: valueName, fixesArchitecture: architecture,
      read: { .integer($0[keyPath: path]) },
      write: { $0[keyPath: path] = try $1.integer($2) },
      check: { settings in requirement.flatMap { $0.holds(settings[keyPath: path]) ? nil : $0.description } })
  }

  /// A whole number that may be unset (`null`), which means `unset`.
  public static func optionalInteger(
    _ key: String, _ path: WritableKeyPath<Settings, Int?> & Sendable, _ requirement: Requirement<Int>? = nil,
    unset: String = "all", valueName: String = "n", help: String
  ) -> Setting {
    Setting(
      key: key, help: help, valueName: valueName, fixesArchitecture: false, unset: unset,
      read: { $0[keyPath: path].map { .integer($0) } ?? .null },
      write: { $0[keyPath: path] = try $1.optionalInteger($2) },
      check: { settings in
        guard let value = settings[keyPath: path], let requirement, !requirement.holds(value) else { return nil }
        return requirement.description + " when set"
      })
  }

  /// A number.
  public static func number(
    _ key: String, _ path: WritableKeyPath<Settings, Float> & Sendable, _ requirement: Requirement<Float>? = nil,
    architecture: Bool = false, help: String
  ) -> Setting {
    Setting(
      key: key, help: help, valueName: "x", fixesArchitecture: architecture,
      read: { .number(float: $0[keyPath: path]) }, write: { $0[keyPath: path] = try $1.float($2) },
      check: { settings in requirement.flatMap { $0.holds(settings[keyPath: path]) ? nil : $0.description } })
  }

  /// A string that may be unset (`null`), which means `unset`: a folder, a file.
  public static func text(
    _ key: String, _ path: WritableKeyPath<Settings, String?> & Sendable, unset: String, valueName: String = "dir",
    help: String
  ) -> Setting {
    Setting(
      key: key, help: help, valueName: valueName, fixesArchitecture: false, unset: unset,
      read: { $0[keyPath: path].map { .string($0) } ?? .null },
      write: { $0[keyPath: path] = try $1.optionalString($2) },
      check: { $0[keyPath: path]?.isEmpty == true ? "a path, not an empty string" : nil })
  }

  /// `true` or `false`.
  public static func boolean(
    _ key: String, _ path: WritableKeyPath<Settings, Bool> & Sendable, architecture: Bool = false, help: String
  ) -> Setting {
    Setting(
      key: key, help: help, valueName: "true|false", fixesArchitecture: architecture,
      read: { .boolean($0[keyPath: path]) }, write: { $0[keyPath: path] = try $1.boolean($2) }, check: { _ in nil })
  }

  /// One of a string enumeration's cases (any case).
  public static func choice<Choice: RawRepresentable & CaseIterable & Sendable>(
    _ key: String, _ path: WritableKeyPath<Settings, Choice> & Sendable, architecture: Bool = false, help: String
  ) -> Setting where Choice.RawValue == String {
    Setting(
      key: key, help: help, valueName: Choice.allCases.map(\.rawValue).joined(separator: "|"),
      fixesArchitecture: architecture, read: { .string($0[keyPath: path].rawValue) },
      write: { $0[keyPath: path] = try $1.choice($2, of: Choice.self) }, check: { _ in nil })
  }

  /// Any other setting: its own reading, writing and check.
  public static func custom(
    _ key: String, valueName: String, architecture: Bool = false, help: String,
    read: @escaping @Sendable (Settings) -> ConfigValue,
    write: @escaping @Sendable (inout Settings, ConfigValue, String) throws -> Void,
    check: @escaping @Sendable (Settings) -> String? = { _ in nil }
  ) -> Setting {
    Setting(
      key: key, help: help, valueName: valueName, fixesArchitecture: architecture, read: read, write: write,
      check: check)
  }

  /// The value `Settings()` starts with, as `--help` and the README show it: `32`, `0.0003`, `all`.
  public func defaultText(_ defaults: Settings) -> String {
    switch read(defaults) {
    case .null: unset
    case .string(let text): text
    case let value: value.description
    }
  }
}
