import ArgumentParser
import Foundation
import TestSupport
import XCTest

@testable import CommandSupport
@testable import Pipeline

/// Every setting, walked: its flag and underscore spelling parse to its key, `--help` shows it with its default,
/// its value survives `config.json`, and the README's table is the one its declarations make.
final class SettingsFlagsTests: XCTestCase {
  /// A valid value for a setting, as a flag's text.
  private func sample<Settings: StageSettings>(_ setting: Setting<Settings>) -> String {
    switch setting.key {
    case "dataset": Settings.self == TrainingConfiguration.self ? "mnist" : "LATENT_BLOCK"
    case "codebook_update": "loss"
    case "codebook_init": "uniform"
    case "pad", "class_conditioning", "tensorboard": "false"
    case "data_dir", "output_dir", "latents": "some/folder"
    case "image_size": "64"
    case "model": "transformer"
    case "dropout": "0.5"
    default: "3"
    }
  }

  private func walk<Options: SettingsOptions>(_ options: Options.Type) throws {
    typealias Settings = Options.Settings
    let help = Options.helpMessage(columns: 1000)
    // All flags at once: each setting's key comes back exactly once (an option missing fails the parse, a property
    // named after no setting gives a stray key).
    let everything = try Options.parse(Settings.settings.flatMap { [$0.flag, sample($0)] }).overrides
    XCTAssertEqual(everything.map(\.0).sorted(), Settings.settings.map(\.key).sorted(), "one option per setting")
    for setting in Settings.settings {
      let value = sample(setting)
      for flag in [setting.flag, setting.underscoredFlag] {
        let parsed = try Options.parse([flag, value]).overrides
        XCTAssertEqual(parsed.map(\.0), [setting.key], flag)
        XCTAssertEqual(parsed.first?.1, ConfigValue(flag: value), flag)
      }
      XCTAssertTrue(help.contains(setting.flag), "--help lacks \(setting.flag)")
      XCTAssertTrue(
        help.contains(
          "\(setting.help) (default: \(setting.defaultText(Settings()))).".replacingOccurrences(of: "  ", with: " ")),
        "--help lacks \(setting.key)'s line with its default")
      // The value set by the flag comes back from the recorded JSON.
      var settings = Settings()
      try settings.set(setting.key, to: ConfigValue(flag: value), from: .flag)
      let json = String(decoding: try JSONFile.encode(ConfigValue.object(settings.values)), as: UTF8.self)
      var back = Settings()
      try back.apply(json: Data(json.utf8), source: "config.json")
      XCTAssertEqual(back.values[setting.key], settings.values[setting.key], setting.key)
    }
  }

  func testEveryVQVAESettingHasItsFlagHelpAndJSON() throws {
    try walk(VQVAESettingsOptions.self)
    XCTAssertEqual(
      try VQVAESettingsOptions.parse(["--no-tensorboard"]).overrides.map { "\($0.0) \($0.1)" }, ["tensorboard false"])
  }

  func testEveryPriorSettingHasItsFlagHelpAndJSON() throws {
    try walk(PriorSettingsOptions.self)
    XCTAssertEqual(
      try PriorSettingsOptions.parse(["--no-class-conditioning"]).overrides.map(\.0), ["class_conditioning"])
  }

  func testTheReadmeTablesAreTheDeclarations() throws {
    let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("README.md")
    let text = try String(contentsOf: readme, encoding: .utf8)
    for (name, table) in [
      ("vqvae-train", settingsTable(TrainingConfiguration.self)),
      ("gated-pixelcnn", settingsTable(PriorTrainingConfiguration.self)),
    ] {
      let start = "<!-- settings: \(name) -->\n"
      let end = "\n<!-- end of settings -->"
      guard let from = text.range(of: start), let to = text.range(of: end, range: from.upperBound..<text.endIndex)
      else { return XCTFail("README.md lacks the block \(start)...\(end)") }
      XCTAssertEqual(
        String(text[from.upperBound..<to.lowerBound]), table,
        "README.md's \(name) table differs from the declarations; it should read:\n\(table)")
    }
  }
}
