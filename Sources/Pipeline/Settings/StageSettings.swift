import Foundation

/// A stage's settings, resolved from flags, a JSON file and defaults, remembering where each key was set so that an
/// error names the flag or the file and key at fault. Each setting is declared once, in `settings`.
public protocol StageSettings: Sendable {
  /// The defaults.
  init()
  /// Every setting, in the order of `--help` and the README.
  static var settings: [Setting<Self>] { get }
  /// The object of a pipeline config file that holds this stage's keys (`"prior"`), or nil for its top level.
  static var section: String? { get }
  /// Keys that a saved `config.json` records about the run but that are no settings: accepted, and skipped unless
  /// `readRecorded` reads them.
  static var recordedKeys: Set<String> { get }
  /// Where each key that is not at its default was last set.
  var origins: [String: ConfigOrigin] { get set }
  /// Reads a recorded key that the settings need back (a resumed run's `in_channels`, say).
  mutating func readRecorded(_ key: String, _ value: ConfigValue, source: String) throws
  /// Checks that involve more than one setting, after each setting's own check.
  func checkTogether() throws
}

extension StageSettings {
  public mutating func readRecorded(_ key: String, _ value: ConfigValue, source: String) throws {}
  public func checkTogether() throws {}

  /// The setting with JSON key `key`.
  public static func setting(_ key: String) -> Setting<Self>? { settings.first { $0.key == key } }

  /// Resolves settings: `base` (the defaults, or a resumed run's settings), then the keys of `configFile`, then
  /// `overrides` (the flags, by key), and checks the result.
  /// - Throws: `TrainingError` naming the file, key or flag at fault.
  public static func resolve(
    base: Self = Self(), configFile: String?, overrides: [(String, ConfigValue)]
  ) throws -> Self {
    var settings = base
    if let configFile { try settings.apply(contentsOf: configFile) }
    for (key, value) in overrides { try settings.set(key, to: value, from: .flag) }
    try settings.validate()
    return settings
  }

  /// Sets `key` from a JSON or flag value, checking its type.
  /// - Throws: `TrainingError` naming the key and its origin, or listing the known keys for an unknown one.
  public mutating func set(_ key: String, to value: ConfigValue, from origin: ConfigOrigin) throws {
    guard let setting = Self.setting(key) else {
      let known = Self.settings.map(\.key).joined(separator: ", ")
      throw TrainingError("\(origin.describe(key, flag: "--" + key)): unknown setting; known keys: \(known)")
    }
    try setting.write(&self, value, origin.describe(key, flag: setting.flag))
    origins[key] = origin
  }

  /// Applies the keys of the JSON config file at `path`: its `section` object when it has one (a file that
  /// configures the whole pipeline), else every key.
  /// - Throws: `TrainingError` naming the file (and the key) if it cannot be read, is not a JSON object, has an
  ///   unknown key or a value of the wrong type.
  public mutating func apply(contentsOf path: String) throws {
    var object = try ConfigFile.object(at: path)
    var source = path
    if let section = Self.section, let value = object[section] {
      guard case .object(let inner) = value else { throw TrainingError("\(path): \"\(section)\" must be an object") }
      (object, source) = (inner, "\(path) (\(section))")
    }
    try apply(object, source: source)
  }

  /// Applies every key of the JSON object in `data` (a checkpoint's recorded configuration); `source` names it.
  mutating func apply(json data: Data, source: String) throws {
    try apply(try ConfigFile.object(data, source: source), source: source)
  }

  /// Applies the keys and values of a JSON object, in key order; `source` names it in errors.
  mutating func apply(_ object: [String: ConfigValue], source: String) throws {
    for (key, value) in object.sorted(by: { $0.key < $1.key }) {
      if Self.setting(key) != nil {
        try set(key, to: value, from: .file(source))
      } else if Self.recordedKeys.contains(key) {
        try readRecorded(key, value, source: source)
      } else {
        let known = Self.settings.map(\.key).joined(separator: ", ")
        throw TrainingError("\(source): unknown key '\(key)'; known keys: \(known)")
      }
    }
  }

  /// Checks every value, naming the flag or file key of the first bad one.
  /// - Throws: `TrainingError("<flag> must be <requirement>, got <value>")`.
  public func validate() throws {
    for setting in Self.settings {
      if let requirement = setting.check(self) {
        throw TrainingError("\(describe(setting.key)) must be \(requirement), got \(setting.read(self))")
      }
    }
    try checkTogether()
  }

  /// How an error names `key`: by its flag, by file and key, or by key alone for a default.
  public func describe(_ key: String) -> String {
    let flag = Self.setting(key)?.flag ?? "--" + key
    return origins[key].map { $0.describe(key, flag: flag) } ?? key
  }

  /// Throws `TrainingError("<flag> must be <requirement>, got <value>")` unless `condition` holds.
  func require(_ condition: Bool, _ key: String, _ requirement: String, _ value: Any) throws {
    if !condition { throw TrainingError("\(describe(key)) must be \(requirement), got \(value)") }
  }

  /// Every setting's value, by key: what `config.json` and the checkpoints record.
  public var values: [String: ConfigValue] {
    Dictionary(uniqueKeysWithValues: Self.settings.map { ($0.key, $0.read(self)) })
  }

  /// The settings that fix the architecture on which `other` differs, as "n_hiddens 128 (not 64)", in key order.
  public func architectureDifferences(from other: Self) -> [String] {
    Self.settings.filter(\.fixesArchitecture).compactMap { setting in
      let (mine, theirs) = (setting.read(self), setting.read(other))
      return mine == theirs ? nil : "\(setting.key) \(theirs) (not \(mine))"
    }
  }
}
