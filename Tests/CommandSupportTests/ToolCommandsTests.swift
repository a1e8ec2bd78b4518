import Foundation
import Pipeline
import TestSupport
import XCTest

/// `vqvae-tools` (and `sample`'s guidance) as a user runs them, on a tiny Fashion-MNIST run with class-conditional
/// priors: every tool writes what it says, its files read back, and bad flags and files end in one message and a
/// non-zero exit.
final class ToolCommandsTests: XCTestCase {
  private static let fashion = "/usr/share/datasets/fashion-mnist"
  nonisolated(unsafe) private static var folder = ""
  private var run: String { (Self.folder as NSString).appendingPathComponent("run") }

  override class func setUp() {
    super.setUp()
    guard FileManager.default.fileExists(atPath: "\(fashion)/train-images-idx3-ubyte.gz") else { return }
    do {
      folder = try DataTestSupport.makeTemporaryFolder()
      let run = (folder as NSString).appendingPathComponent("run")
      for (command, arguments) in [
        (
          "vqvae-train",
          [
            "--output-dir", run, "--n-updates", "20", "--n-hiddens", "8", "--n-residual-hiddens", "4",
            "--n-residual-layers", "1", "--n-embeddings", "16", "--embedding-dim", "4", "--batch-size", "8",
            "--train-limit", "64", "--test-limit", "32", "--eval-every", "0", "--save-every", "0",
          ]
        ),
        ("extract-latents", ["--checkpoint", run]),
        ("gated-pixelcnn", ["--latents", "\(run)/latents", "--dim", "8", "--n-layers", "2", "--n-updates", "10"]),
        (
          "gated-pixelcnn",
          [
            "--latents", "\(run)/latents", "--prior", "transformer", "--dim", "8", "--heads", "2", "--n-layers", "1",
            "--n-updates", "10", "--output-dir", "\(run)/prior-transformer",
          ]
        ),
      ] {
        let result = try CommandRunner.run(command, arguments)
        XCTAssertEqual(result.status, 0, "\(command): \(result.output)")
      }
    } catch {
      XCTFail("the tiny run failed: \(error)")
    }
  }

  override class func tearDown() {
    if !folder.isEmpty { try? FileManager.default.removeItem(atPath: folder) }
    super.tearDown()
  }

  override func setUpWithError() throws {
    try XCTSkipUnless(
      FileManager.default.fileExists(atPath: "\(Self.fashion)/train-images-idx3-ubyte.gz"),
      "needs Debian's dataset-fashion-mnist (scripts/setup.sh installs it)")
  }

  /// Runs a tool on the tiny run and returns its output, failing the test on a non-zero exit.
  private func tool(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let result = try CommandRunner.run("vqvae-tools", arguments)
    XCTAssertEqual(result.status, 0, result.output, file: file, line: line)
    return result.output
  }

  /// Runs a tool that must fail, and checks its message.
  private func refused(_ arguments: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line)
    throws
  {
    let result = try CommandRunner.run("vqvae-tools", arguments)
    XCTAssertNotEqual(result.status, 0, result.output, file: file, line: line)
    XCTAssertFalse(result.output.contains("Fatal error"), result.output, file: file, line: line)
    for fragment in fragments where !result.output.contains(fragment) {
      XCTFail("\"\(result.output)\" lacks \"\(fragment)\"", file: file, line: line)
    }
  }

  func testEveryToolWritesItsFilesIntoTheRunsToolsFolder() throws {
    let tools = "\(run)/tools"
    let reconstruct = try tool(["reconstruct", "--vqvae", run, "--limit", "20"])
    XCTAssertTrue(reconstruct.contains("20 images: normalised MSE"), reconstruct)
    let csv = try String(contentsOfFile: "\(tools)/reconstruct.csv", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(csv.count, 21)
    XCTAssertEqual(csv[1].split(separator: ",").prefix(3), ["0", "test/0", "9"], "Fashion-MNIST's first test label")

    _ = try tool(["encode", "--vqvae", run, "--limit", "12", "--out", "\(tools)/codes.npy"])
    let numpy = try DataTestSupport.python(
      "import numpy, sys; a = numpy.load(sys.argv[1]); l = numpy.load(sys.argv[2]); "
        + "print(a.dtype, a.shape, a.min() >= 0, a.max() < 16, l.shape)",
      ["\(tools)/codes.npy", "\(tools)/codes-labels.npy"])
    if let numpy { XCTAssertEqual(numpy, "int64 (12, 8, 8) True True (12,)") }
    _ = try tool(["decode", "--vqvae", run, "\(tools)/codes.npy", "--each-dir", "\(tools)/each"])
    XCTAssertEqual(try readPNGHeader(path: "\(tools)/decode.png").width, 10 * 34 + 2)
    XCTAssertEqual(try readPNGHeader(path: "\(tools)/each/11.png").width, 32)

    let complete = try tool(["complete", "--prior", run, "--limit", "3", "--samples", "2", "--keep-rows", "3"])
    XCTAssertTrue(complete.contains("3 images x 2 completions, 40 of 64 latent positions drawn"), complete)
    XCTAssertTrue(complete.contains("classes: the images' labels"), complete)
    let inpaint = try tool(["inpaint", "--prior", run, "--limit", "2", "--box", "8,8,16,16", "--class", "3"])
    XCTAssertTrue(inpaint.contains("16 of 64 latent positions drawn"), inpaint)
    XCTAssertEqual(try readPNGHeader(path: "\(tools)/inpaint.png").width, 8 * 34 + 2)

    let score = try tool(["score", "--prior", run, "--limit", "30", "--against", "FASHION_MNIST", "--split", "train"])
    XCTAssertTrue(score.contains("AUROC"), score)
    XCTAssertEqual(
      try String(contentsOfFile: "\(tools)/score.csv", encoding: .utf8).split(separator: "\n").count, 31)
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(tools)/score.png"))
    // The .npy holds the CSV's bits per image, as float64.
    let scores = try DataTestSupport.python(
      "import csv, numpy, sys; a = numpy.load(sys.argv[1]); c = [float(r['bits_per_image']) for r in "
        + "csv.DictReader(open(sys.argv[2]))]; print(a.dtype, a.shape, bool(numpy.allclose(a, c, atol=1e-4)))",
      ["\(tools)/score.npy", "\(tools)/score.csv"])
    if let scores { XCTAssertEqual(scores, "float64 (30,) True") }

    let atlas = try tool(["atlas", "--vqvae", run, "--columns", "8"])
    XCTAssertTrue(atlas.contains("16 codes over"), atlas)
    XCTAssertEqual(
      try String(contentsOfFile: "\(tools)/atlas.csv", encoding: .utf8).split(separator: "\n").count, 17)
    _ = try tool(["interpolate", "--vqvae", run, "--pair", "3,7", "--steps", "4"])
    XCTAssertEqual(try readPNGHeader(path: "\(tools)/interpolate.png").width, 6 * 34 + 2)
  }

  /// The transformer learned "no class" (class dropout is on by default), so guidance works through `sample` and the
  /// tools; the gated PixelCNN did not, and says so.
  func testGuidanceSamplesFromATransformerAndIsRefusedForTheGatedPixelCNN() throws {
    let transformer = "\(run)/prior-transformer"
    let config = try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: "\(transformer)/config.json")))
    XCTAssertEqual((config as? [String: Any])?["class_dropout"] as? Double, 0.1)
    for guidance in ["0", "3"] {
      let out = "\(Self.folder)/guided-\(guidance).png"
      let result = try CommandRunner.run(
        "sample", ["--prior", transformer, "--grid", "2x3", "--guidance", guidance, "--out", out])
      XCTAssertEqual(result.status, 0, result.output)
      XCTAssertEqual(try readPNGHeader(path: out).width, 3 * 34 + 2)
    }
    let complete = try tool(["complete", "--prior", transformer, "--limit", "2", "--samples", "2", "--guidance", "2"])
    XCTAssertTrue(complete.contains("2 images x 2 completions"), complete)
    let pixelCNN = try CommandRunner.run("sample", ["--prior", run, "--grid", "2x2", "--guidance", "2"])
    XCTAssertNotEqual(pixelCNN.status, 0)
    XCTAssertTrue(pixelCNN.output.contains("guidance 2.0: the gated PixelCNN learned no 'no class'"), pixelCNN.output)
    XCTAssertFalse(pixelCNN.output.contains("Fatal error"), pixelCNN.output)
  }

  func testBadFlagsAndFilesAreNamed() throws {
    try refused(["decode", "--vqvae", run, "/nonexistent/codes.npy"], ["/nonexistent/codes.npy"])
    let npy = "\(Self.folder)/seven.npy"
    try NPY.write([Int](repeating: 1, count: 49), shape: [1, 7, 7], to: npy)
    try refused(["decode", "--vqvae", run, npy], [npy, "holds 7x7 grids but the VQ-VAE's latent grid is 8x8"])
    try refused(["inpaint", "--prior", run], ["give one of --mask and --box"])
    try refused(["inpaint", "--prior", run, "--box", "1,2,3"], ["--box must be four whole numbers"])
    try refused(["complete", "--prior", run, "--keep-rows", "8"], ["--keep-rows must be 0 to 7"])
    try refused(["reconstruct", "--vqvae", run, "--split", "valid"], ["--split must be train or test"])
    try refused(["reconstruct", "--vqvae", run, "--out", "\(Self.folder)/x.jpg"], ["--out must name a .png file"])
    try refused(["complete", "--prior", run, "--class", "12"], ["--class must be in 0..<10"])
    try refused(["score", "--prior", run, "--dataset", "CIFAR10", "--data-dir", Self.folder], ["CIFAR"])
  }

  func testHelpExplainsEveryToolsFlagsWithTheirDefaults() throws {
    let help = try tool(["--help"])
    for name in ["reconstruct", "encode", "decode", "complete", "inpaint", "score", "atlas", "interpolate"] {
      XCTAssertTrue(help.contains(name), "--help lists \(name)")
    }
    let complete = try tool(["complete", "--help"])
    for flag in [
      "--keep-rows", "--samples", "(default: 6)", "--temperature", "--top-k", "--top-p", "--seed",
      "--split",
    ] {
      XCTAssertTrue(complete.contains(flag), "complete --help mentions \(flag): \(complete)")
    }
  }
}
