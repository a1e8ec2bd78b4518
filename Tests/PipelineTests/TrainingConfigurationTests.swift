import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// Settings: flag > config file > default, and one clear message per bad value naming the flag or file and key.
final class TrainingConfigurationTests: FolderTestCase {
  private func configFile(_ text: String) throws -> String {
    let path = (folder as NSString).appendingPathComponent("config-\(UUID().uuidString).json")
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  private func assertRejected(
    _ fragments: [String], file configText: String? = nil, _ overrides: [(String, ConfigValue)] = [],
    line: UInt = #line
  ) throws {
    let path = try configText.map { try configFile($0) }
    DataTestSupport.assertThrows(fragments + (path.map { [$0] } ?? []), line: line) {
      _ = try TrainingConfiguration.resolve(configFile: path, overrides: overrides)
    }
  }

  func testDefaultsAreTheClassicRecipe() throws {
    let c = try TrainingConfiguration.resolve(configFile: nil, overrides: [])
    XCTAssertEqual(c.dataset, .fashionMNIST)
    XCTAssertEqual([c.batchSize, c.updates, c.logInterval], [32, 5000, 50])
    XCTAssertEqual(c.model, VQVAEConfiguration())
    XCTAssertEqual(c.learningRate, 3e-4)
    XCTAssertTrue(c.origins.isEmpty)
  }

  func testFlagOverridesFileOverridesDefault() throws {
    let path = try configFile(
      #"{"batch_size": 16, "n_hiddens": 64, "learning_rate": 0.001, "dataset": "mnist", "data_dir": "/d", "beta": 1}"#)
    let c = try TrainingConfiguration.resolve(
      configFile: path, overrides: [("batch_size", .integer(8)), ("dataset", .string("Fashion-MNIST"))])
    XCTAssertEqual(c.batchSize, 8, "flag beats file")
    XCTAssertEqual(c.dataset, .fashionMNIST, "flag beats file; names are case-insensitive")
    XCTAssertEqual(c.model.hiddens, 64, "file beats default")
    XCTAssertEqual(c.learningRate, 0.001)
    XCTAssertEqual(c.model.beta, 1, "an integer is a number")
    XCTAssertEqual(c.dataDir, "/d")
    XCTAssertEqual(c.model.embeddings, 512, "default")
    XCTAssertEqual(c.origins["batch_size"], .flag)
    XCTAssertEqual(c.origins["n_hiddens"], .file(path))
    XCTAssertNil(c.origins["n_embeddings"])
  }

  func testEveryKeyRoundTripsThroughItsJSON() throws {
    var c = TrainingConfiguration()
    c.model.inChannels = 3
    c.trainLimit = 100
    c.evalBatches = 2
    c.dataDir = "some/dir"
    c.shaping.pad = false
    c.learningRate = 3e-4
    var recorded = c.recorded
    recorded["train_count"] = .integer(100)
    let path = try configFile(String(decoding: try JSONFile.encode(ConfigValue.object(recorded)), as: UTF8.self))
    let back = try TrainingConfiguration.resolve(configFile: path, overrides: [])
    XCTAssertEqual(back.recorded, c.recorded)
    XCTAssertEqual(back.model.inChannels, 3)
    XCTAssertEqual(back.learningRate, 3e-4, "a Float is written as it reads: 0.0003")
    XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).contains("\"learning_rate\" : 0.0003"))
    XCTAssertEqual(
      Set(back.origins.keys), Set(TrainingConfiguration.settings.map(\.key)), "a saved config names every setting")
  }

  func testShippedConfigsParse() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("configs")
    for (name, dataset) in [
      ("fashion-mnist", DatasetName.fashionMNIST), ("mnist", .mnist), ("cifar10", .cifar10), ("quick", .fashionMNIST),
    ] {
      let c = try TrainingConfiguration.resolve(
        configFile: root.appendingPathComponent("\(name).json").path, overrides: [])
      XCTAssertEqual(c.dataset, dataset, name)
    }
  }

  func testBadFilesAreNamed() throws {
    try assertRejected(["not valid JSON"], file: #"{"batch_size": 32,"#)
    try assertRejected(["not a JSON object"], file: "[1, 2]")
    try assertRejected(["batch_size must be an integer, got \"32\""], file: #"{"batch_size": "32"}"#)
    try assertRejected(["batch_size must be an integer, got 2.5"], file: #"{"batch_size": 2.5}"#)
    try assertRejected(["learning_rate must be a number, got true"], file: #"{"learning_rate": true}"#)
    try assertRejected(["data_dir must be a string, got an array"], file: #"{"data_dir": ["a"]}"#)
    try assertRejected(["unknown key 'batchsize'", "batch_size"], file: #"{"batchsize": 32}"#)
    DataTestSupport.assertThrows(["/nowhere/x.json", "config file not found"]) {
      _ = try TrainingConfiguration.resolve(configFile: "/nowhere/x.json", overrides: [])
    }
  }

  func testBadValuesNameTheirFlagOrKey() throws {
    try assertRejected(["--batch-size must be at least 1, got 0"], [("batch_size", .integer(0))])
    try assertRejected(["--n-updates must be at least 1, got -5"], [("n_updates", .integer(-5))])
    try assertRejected(["n_embeddings must be at least 1, got 0"], file: #"{"n_embeddings": 0}"#)
    try assertRejected(["--n-hiddens must be even and at least 2, got 7"], [("n_hiddens", .integer(7))])
    try assertRejected(["--learning-rate must be a positive number, got nan"], [("learning_rate", .number(Double.nan))])
    try assertRejected(["--learning-rate must be a positive number, got -0.1"], [("learning_rate", .number(-0.1))])
    try assertRejected(["learning_rate must be a positive number, got 0.0"], file: #"{"learning_rate": 0}"#)
    try assertRejected(["--beta must be a non-negative number, got inf"], [("beta", .number(Double.infinity))])
    try assertRejected(["--train-limit must be at least 1 when set, got 0"], [("train_limit", .integer(0))])
    try assertRejected(["--save-every must be at least 0, got -1"], [("save_every", .integer(-1))])
    try assertRejected(
      ["--dataset: unknown dataset 'imagenet'", "FASHION_MNIST, MNIST, CIFAR10, FOLDER"],
      [("dataset", .string("imagenet"))])
    try assertRejected(["dataset: unknown dataset 'svhn'"], file: #"{"dataset": "svhn"}"#)
  }

  func testFlagsHaveBothSpellings() throws {
    let setting = try XCTUnwrap(TrainingConfiguration.setting("batch_size"))
    XCTAssertEqual([setting.flag, setting.underscoredFlag], ["--batch-size", "--batch_size"])
    XCTAssertEqual(TrainingConfiguration.setting("n_updates")?.flag, "--n-updates")
    XCTAssertEqual(TrainingConfiguration.setting("beta")?.underscoredFlag, "--beta")
  }

  func testFlagTextIsReadAsTheSettingWantsIt() throws {
    let c = try TrainingConfiguration.resolve(
      configFile: nil,
      overrides: [
        ("batch_size", ConfigValue(flag: "8")), ("learning_rate", ConfigValue(flag: "1e-3")),
        ("data_dir", ConfigValue(flag: "2024")), ("pad", ConfigValue(flag: "false")),
        ("dataset", ConfigValue(flag: "folder")), ("image_size", ConfigValue(flag: "64")),
      ])
    XCTAssertEqual([c.batchSize, c.shaping.size], [8, 64])
    XCTAssertEqual(c.learningRate, 1e-3)
    XCTAssertEqual(c.dataDir, "2024", "a folder named like a number is still a folder")
    XCTAssertFalse(c.shaping.pad)
    try assertRejected(["--batch-size must be an integer, got \"eight\""], [("batch_size", ConfigValue(flag: "eight"))])
    try assertRejected(["--pad must be true or false, got 1"], [("pad", ConfigValue(flag: "1"))])
    try assertRejected(["--downsamples must be in 1...6, got 7"], [("downsamples", ConfigValue(flag: "7"))])
    try assertRejected(["--image-size must be unset for FASHION_MNIST"], [("image_size", ConfigValue(flag: "64"))])
    try assertRejected(
      ["--image-size must be in 16...256 when set, got 8"],
      [("dataset", .string("FOLDER")), ("image_size", .integer(8))])
    try assertRejected(["--bogus: unknown setting"], [("bogus", .integer(1))])
  }
}
