/// A settable key of a configuration, spelled as in the JSON files (`batch_size`).
public protocol ConfigurationKey: RawRepresentable, CaseIterable, Hashable, Sendable where RawValue == String {}

extension ConfigurationKey {
  /// The command-line flag, `--batch-size`; the PyTorch spelling `--batch_size` is `"--" + rawValue`.
  public var flag: String { "--" + rawValue.replacingOccurrences(of: "_", with: "-") }
}

/// A configuration resolved from flags, a JSON file and defaults, that remembers where each key was set so that an
/// error names the flag or the file and key at fault.
public protocol KeyedConfiguration {
  associatedtype Key: ConfigurationKey
  /// The defaults.
  init()
  /// Where each key that is not at its default was last set.
  var origins: [Key: ConfigOrigin] { get }
  /// Sets `key` from a JSON or flag value, checking its type.
  mutating func set(_ key: Key, to value: ConfigValue, from origin: ConfigOrigin) throws
  /// Reads a key that a saved `config.json` records but that is no setting; false refuses it as unknown.
  mutating func readRecorded(_ name: String, _ value: ConfigValue, source: String) throws -> Bool
  /// Applies the keys of a JSON config file.
  mutating func apply(contentsOf path: String) throws
  /// Checks every value, naming the flag or file key of the first bad one.
  func validate() throws
}

extension KeyedConfiguration {
  /// Resolves a configuration: `base` (the defaults, or a resumed run's configuration), then the keys of
  /// `configFile`, then `overrides` (the flags), and validates the result.
  /// - Throws: `TrainingError` naming the file, key or flag at fault.
  public static func resolve(base: Self = Self(), configFile: String?, overrides: [(Key, ConfigValue)]) throws -> Self {
    var configuration = base
    if let configFile { try configuration.apply(contentsOf: configFile) }
    for (key, value) in overrides { try configuration.set(key, to: value, from: .flag) }
    try configuration.validate()
    return configuration
  }

  /// How an error names `key`: by its flag, by file and key, or by key alone for a default.
  public func describe(_ key: Key) -> String {
    origins[key].map { $0.describe(key.rawValue, flag: key.flag) } ?? key.rawValue
  }

  /// Applies the keys and values of a JSON object; `source` names it in errors.
  /// - Throws: `TrainingError` naming the source and the key for unknown keys or wrong types.
  mutating func apply(_ entries: [(String, ConfigValue)], source: String) throws {
    for (name, value) in entries {
      if let key = Key(rawValue: name) {
        try set(key, to: value, from: .file(source))
      } else if try !readRecorded(name, value, source: source) {
        let known = Key.allCases.map(\.rawValue).joined(separator: ", ")
        throw TrainingError("\(source): unknown key '\(name)'; known keys: \(known)")
      }
    }
  }

  /// Throws `TrainingError("<flag> must be <requirement>, got <value>")` unless `condition` holds.
  func require(_ condition: Bool, _ key: Key, _ requirement: String, _ value: Any) throws {
    if !condition { throw TrainingError("\(describe(key)) must be \(requirement), got \(value)") }
  }
}
