import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// Settings: flag > config file > default, and one clear message per bad value naming the flag or file and key.
final class TrainingConfigurationTests: XCTestCase {
  private typealias Key = TrainingConfiguration.Key
  private var folder = ""

  override func setUpWithError() throws { folder = try DataTestSupport.makeTemporaryFolder() }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  private func configFile(_ text: String) throws -> String {
    let path = (folder as NSString).appendingPathComponent("config-\(UUID().uuidString).json")
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  private func assertRejected(
    _ fragments: [String], file configText: String? = nil, _ overrides: [(Key, ConfigValue)] = [],
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
      configFile: path, overrides: [(.batchSize, .integer(8)), (.dataset, .string("Fashion-MNIST"))])
    XCTAssertEqual(c.batchSize, 8, "flag beats file")
    XCTAssertEqual(c.dataset, .fashionMNIST, "flag beats file; names are case-insensitive")
    XCTAssertEqual(c.model.hiddens, 64, "file beats default")
    XCTAssertEqual(c.learningRate, 0.001)
    XCTAssertEqual(c.model.beta, 1, "an integer is a number")
    XCTAssertEqual(c.dataDir, "/d")
    XCTAssertEqual(c.model.embeddings, 512, "default")
    XCTAssertEqual(c.origins[.batchSize], .flag)
    XCTAssertEqual(c.origins[.hiddens], .file(path))
    XCTAssertNil(c.origins[.embeddings])
  }

  func testEveryKeyRoundTripsThroughItsJSON() throws {
    var c = TrainingConfiguration()
    c.model.inChannels = 3
    c.trainLimit = 100
    c.evalBatches = 2
    c.dataDir = "some/dir"
    let path = try configFile(JSONText.object(c.fields + [("train_count", .integer(100))], pretty: true))
    let back = try TrainingConfiguration.resolve(configFile: path, overrides: [])
    XCTAssertEqual(back.fields.map { $0.0 + "=" + $0.1.text }, c.fields.map { $0.0 + "=" + $0.1.text })
    XCTAssertEqual(Set(back.origins.keys), Set(Key.allCases), "a saved config names every settable key")
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
    try assertRejected(["--batch-size must be at least 1, got 0"], [(.batchSize, .integer(0))])
    try assertRejected(["--n-updates must be at least 1, got -5"], [(.updates, .integer(-5))])
    try assertRejected(["n_embeddings must be at least 1, got 0"], file: #"{"n_embeddings": 0}"#)
    try assertRejected(["--n-hiddens must be even and at least 2, got 7"], [(.hiddens, .integer(7))])
    try assertRejected(["--learning-rate must be a positive number, got nan"], [(.learningRate, .number(.nan))])
    try assertRejected(["--learning-rate must be a positive number, got -0.1"], [(.learningRate, .number(-0.1))])
    try assertRejected(["learning_rate must be a positive number, got 0.0"], file: #"{"learning_rate": 0}"#)
    try assertRejected(["--beta must be a non-negative number, got inf"], [(.beta, .number(.infinity))])
    try assertRejected(["--train-limit must be at least 1 when set, got 0"], [(.trainLimit, .integer(0))])
    try assertRejected(["--save-every must be at least 0, got -1"], [(.saveEvery, .integer(-1))])
    try assertRejected(
      ["--dataset: unknown dataset 'imagenet'", "FASHION_MNIST, MNIST, CIFAR10, FOLDER"],
      [(.dataset, .string("imagenet"))])
    try assertRejected(["dataset: unknown dataset 'svhn'"], file: #"{"dataset": "svhn"}"#)
  }

  func testFlagsHaveBothSpellings() {
    XCTAssertEqual(Key.batchSize.flag, "--batch-size")
    XCTAssertEqual(Key.learningRate.rawValue, "learning_rate")
    XCTAssertEqual(Key.updates.flag, "--n-updates")
  }
}
