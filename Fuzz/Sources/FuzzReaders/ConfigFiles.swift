import Foundation
import Pipeline

extension Readers {
  /// `config`: the input is a JSON file, read as each JSON file the stages read: a `--config FILE` of `vqvae-train`
  /// and of `gated-pixelcnn` (a run folder's `config.json` is one too: it is accepted back as `--config`), the same
  /// keys given as flags, and a LATENT_BLOCK's `latents.json`.
  static let config = Reader(name: "config") { bytes in
    let path = Scratch.path("config/config.json")
    Scratch.write(bytes, to: path)
    if let settings = attempt(
      "TrainingConfiguration", { try TrainingConfiguration.resolve(configFile: path, overrides: []) })
    {
      _ = ConfigValue.object(settings.values).jsonText
      _ = settings.architectureDifferences(from: TrainingConfiguration())
    }
    if let settings = attempt(
      "PriorTrainingConfiguration", { try PriorTrainingConfiguration.resolve(configFile: path, overrides: []) })
    {
      _ = ConfigValue.object(settings.values).jsonText
      _ = settings.architectureDifferences(from: PriorTrainingConfiguration())
    }
    // Each stage's keys as its flags, `--key value` (the prior's from the "prior" object of a pipeline config).
    let json = attempt("ConfigValue") { try JSONFile.decode(ConfigValue.self, from: Data(bytes), source: path) }
    if case .object(let object)? = json {
      attempt("TrainingConfiguration flags") {
        try TrainingConfiguration.resolve(configFile: nil, overrides: flags(object, of: TrainingConfiguration.self))
      }
      let prior: [String: ConfigValue]
      if case .object(let inner)? = object["prior"] { prior = inner } else { prior = object }
      attempt("PriorTrainingConfiguration flags") {
        try PriorTrainingConfiguration.resolve(
          configFile: nil, overrides: flags(prior, of: PriorTrainingConfiguration.self))
      }
    }
    attempt("LatentInfo") { try JSONFile.decode(LatentInfo.self, from: Data(bytes), source: path) }
  }

  /// The keys of `object` that are settings of `Settings`, as their flags: a string value's text as itself, any other
  /// value as its JSON, as typed on the command line.
  static func flags<Settings: StageSettings>(
    _ object: [String: ConfigValue], of settings: Settings.Type
  ) -> [(String, ConfigValue)] {
    object.sorted { $0.key < $1.key }.filter { Settings.setting($0.key) != nil }.map { key, value in
      if case .string(let text) = value { return (key, ConfigValue(flag: text)) }
      return (key, ConfigValue(flag: value.jsonText))
    }
  }
}
