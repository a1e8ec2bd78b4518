import ArgumentParser
import Foundation
import Pipeline

/// The flags of a stage's settings: one `@Option` per setting, named and explained by the setting's declaration
/// (`ArgumentHelp.setting`), holding the flag's text, which the setting reads as it reads a JSON value. The property
/// is the key in camel case (`batchSize` for `batch_size`); CommandSupportTests checks that each setting has one.
public protocol SettingsOptions: ParsableArguments {
  associatedtype Settings: StageSettings
  /// The flags given, by setting key.
  var overrides: [(String, ConfigValue)] { get }
}

extension SettingsOptions {
  public var overrides: [(String, ConfigValue)] { settingFlags }

  /// The settings' flags given, by setting key, in declaration order (those of nested option groups where the
  /// group is declared).
  public var settingFlags: [(String, ConfigValue)] {
    Mirror(reflecting: self).children.flatMap { child -> [(String, ConfigValue)] in
      if let group = child.value as? NestedSettings { return group.settingFlags }
      // A `--no-<setting>` flag (`noClassConditioning`) turns a boolean setting off.
      if let label = child.label, label.hasPrefix("_no"), let flag = child.value as? Flag<Bool> {
        let property = label.dropFirst(3)
        let key = Self.key(property: property.prefix(1).lowercased() + property.dropFirst())
        return flag.wrappedValue ? [(key, .boolean(false))] : []
      }
      guard let label = child.label, let option = child.value as? Option<String?>, let text = option.wrappedValue
      else { return [] }
      return [(Self.key(property: String(label.drop { $0 == "_" })), ConfigValue(flag: text))]
    }
  }

  /// `batch_size` for the property `batchSize`.
  static func key(property: String) -> String {
    property.reduce(into: "") { key, character in
      key += character.isUppercase ? "_" + character.lowercased() : String(character)
    }
  }
}

/// An `@OptionGroup` of settings inside another, whose flags its parent collects.
protocol NestedSettings { var settingFlags: [(String, ConfigValue)] { get } }

extension OptionGroup: NestedSettings where Value: SettingsOptions {
  var settingFlags: [(String, ConfigValue)] { wrappedValue.settingFlags }
}

/// The settings every training stage has, with the same keys: where its run goes, the optimiser's batch and step,
/// the schedule of logs, evaluations and checkpoints, and the data limits.
public struct ScheduleOptions<Settings: StageSettings>: SettingsOptions {
  @Option(name: .setting("output_dir"), help: .setting("output_dir", of: Settings.self)) var outputDir: String?
  @Option(name: .setting("seed"), help: .setting("seed", of: Settings.self)) var seed: String?
  @Option(name: .setting("batch_size"), help: .setting("batch_size", of: Settings.self)) var batchSize: String?
  @Option(name: .setting("n_updates"), help: .setting("n_updates", of: Settings.self)) var nUpdates: String?
  @Option(name: .setting("learning_rate"), help: .setting("learning_rate", of: Settings.self))
  var learningRate: String?
  @Option(name: .setting("log_interval"), help: .setting("log_interval", of: Settings.self)) var logInterval: String?
  @Option(name: .setting("eval_every"), help: .setting("eval_every", of: Settings.self)) var evalEvery: String?
  @Option(name: .setting("eval_batches"), help: .setting("eval_batches", of: Settings.self)) var evalBatches: String?
  @Option(name: .setting("save_every"), help: .setting("save_every", of: Settings.self)) var saveEvery: String?
  @Option(name: .setting("tensorboard"), help: .setting("tensorboard", of: Settings.self)) var tensorboard: String?
  @Flag(name: .customLong("no-tensorboard"), help: "Write no TensorBoard event files: the same as --tensorboard false.")
  var noTensorboard = false
  @Option(name: .setting("train_limit"), help: .setting("train_limit", of: Settings.self)) var trainLimit: String?
  @Option(name: .setting("test_limit"), help: .setting("test_limit", of: Settings.self)) var testLimit: String?

  public init() {}
}

extension NameSpecification {
  /// A setting's flag and the PyTorch repos' underscore spelling: `--batch-size` and `--batch_size`.
  public static func setting(_ key: String) -> NameSpecification { dashedAndUnderscored(key) }
}

extension ArgumentHelp {
  /// A setting's help line with its default, from its declaration in `Settings.settings`.
  public static func setting<Settings: StageSettings>(_ key: String, of type: Settings.Type) -> ArgumentHelp {
    guard let setting = Settings.setting(key) else { return ArgumentHelp("(undeclared setting \(key))") }
    return ArgumentHelp(
      "\(setting.help) (default: \(setting.defaultText(Settings()))).", valueName: setting.valueName)
  }
}

/// The options every training command shares besides its settings.
public struct RunOptions: ParsableArguments {
  @Option(help: ArgumentHelp("JSON config file of settings (keys as in configs/*.json).", valueName: "file"))
  public var config: String?

  @Option(
    help: ArgumentHelp(
      "Continue the run in this folder (or from this checkpoint file) from its latest checkpoint.",
      valueName: "dir"))
  public var resume: String?

  public init() {}
}

/// vqvae-train's settings as flags.
public struct VQVAESettingsOptions: SettingsOptions {
  public typealias Settings = TrainingConfiguration
  typealias S = TrainingConfiguration

  @Option(name: .setting("dataset"), help: .setting("dataset", of: S.self)) var dataset: String?
  @Option(name: .setting("data_dir"), help: .setting("data_dir", of: S.self)) var dataDir: String?
  @OptionGroup var schedule: ScheduleOptions<S>
  @Option(name: .setting("n_hiddens"), help: .setting("n_hiddens", of: S.self)) var nHiddens: String?
  @Option(name: .setting("n_residual_hiddens"), help: .setting("n_residual_hiddens", of: S.self))
  var nResidualHiddens: String?
  @Option(name: .setting("n_residual_layers"), help: .setting("n_residual_layers", of: S.self))
  var nResidualLayers: String?
  @Option(name: .setting("embedding_dim"), help: .setting("embedding_dim", of: S.self)) var embeddingDim: String?
  @Option(name: .setting("n_embeddings"), help: .setting("n_embeddings", of: S.self)) var nEmbeddings: String?
  @Option(name: .setting("beta"), help: .setting("beta", of: S.self)) var beta: String?
  @Option(name: .setting("downsamples"), help: .setting("downsamples", of: S.self)) var downsamples: String?
  @Option(name: .setting("codebook_update"), help: .setting("codebook_update", of: S.self)) var codebookUpdate: String?
  @Option(name: .setting("ema_decay"), help: .setting("ema_decay", of: S.self)) var emaDecay: String?
  @Option(name: .setting("codebook_init"), help: .setting("codebook_init", of: S.self)) var codebookInit: String?
  @Option(name: .setting("dead_code_threshold"), help: .setting("dead_code_threshold", of: S.self))
  var deadCodeThreshold: String?
  @Option(name: .setting("pad"), help: .setting("pad", of: S.self)) var pad: String?
  @Option(name: .setting("image_size"), help: .setting("image_size", of: S.self)) var imageSize: String?

  public init() {}
}

/// gated-pixelcnn's settings as flags.
public struct PriorSettingsOptions: SettingsOptions {
  public typealias Settings = PriorTrainingConfiguration
  typealias S = PriorTrainingConfiguration

  @Option(name: .setting("dataset"), help: .setting("dataset", of: S.self)) var dataset: String?
  @Option(name: .setting("latents"), help: .setting("latents", of: S.self)) var latents: String?
  @OptionGroup var schedule: ScheduleOptions<S>
  @Option(name: .setting("epochs"), help: .setting("epochs", of: S.self)) var epochs: String?
  /// `--prior transformer`, as the issue and the README spell it, beside the key's own `--model`.
  @Option(name: [.customLong("prior"), .customLong("model")], help: .setting("model", of: S.self)) var model: String?
  @Option(name: .setting("dim"), help: .setting("dim", of: S.self)) var dim: String?
  @Option(name: .setting("n_layers"), help: .setting("n_layers", of: S.self)) var nLayers: String?
  @Option(name: .setting("head_hidden"), help: .setting("head_hidden", of: S.self)) var headHidden: String?
  @Option(name: .setting("class_conditioning"), help: .setting("class_conditioning", of: S.self))
  var classConditioning: String?
  @Option(name: .setting("heads"), help: .setting("heads", of: S.self)) var heads: String?
  @Option(name: .setting("dropout"), help: .setting("dropout", of: S.self)) var dropout: String?
  @Option(name: .setting("class_dropout"), help: .setting("class_dropout", of: S.self)) var classDropout: String?
  @Option(name: .setting("weight_decay"), help: .setting("weight_decay", of: S.self)) var weightDecay: String?
  @Option(name: .setting("warmup_updates"), help: .setting("warmup_updates", of: S.self)) var warmupUpdates: String?

  @Flag(
    name: [.customLong("no-class-conditioning"), .customLong("no_class_conditioning")],
    help: "Ignore the labels: the same as --class-conditioning false.")
  var noClassConditioning = false

  public init() {}
}

/// A stage's settings as the README's Markdown table: flag (and its underscore spelling), default, meaning. The
/// README's tables are checked against it (CommandSupportTests), so they cannot drift from `--help`.
public func settingsTable<Settings: StageSettings>(_ type: Settings.Type) -> String {
  let defaults = Settings()
  let rows = Settings.settings.map { setting in
    let escaped = setting.help.replacingOccurrences(of: "|", with: "\\|")
    return "| `\(setting.flag)` | `\(setting.key)` | \(setting.defaultText(defaults)) | \(escaped) |"
  }
  return (["| flag | config key | default | |", "|---|---|---|---|"] + rows).joined(separator: "\n")
}
