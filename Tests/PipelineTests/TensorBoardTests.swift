import Crypto
import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// The event files of real runs read by TensorBoard's own `EventAccumulator`: every figure of `metrics.jsonl` under
/// `<split>/<key>` at its update, the pictures byte for byte, the code-usage histogram summing to the test positions,
/// the settings as text, and a resumed run with every step once. (`scripts/test.sh` installs the `tensorboard`
/// package; the toolkit itself never needs it.)
final class TensorBoardTests: FolderTestCase {
  /// Runs TensorBoard's reader over `logdir`: per tag, the scalars' (step, value), the images' (step, SHA-256 of the
  /// PNG), the histograms' (step, count) and the text's (step, text).
  private func readWithTensorBoard(_ logdir: String) throws -> [String: [String: [[AnyHashable]]]] {
    let script = """
      import hashlib, json, sys
      try:
          from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
      except ImportError:
          print("NO-TENSORBOARD"); sys.exit()
      acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "images": 0, "histograms": 0, "tensors": 0})
      acc.Reload()
      tags = acc.Tags()
      print(json.dumps({
          "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
          "images": {t: [[e.step, hashlib.sha256(e.encoded_image_string).hexdigest(), e.width, e.height]
                         for e in acc.Images(t)] for t in tags["images"]},
          "histograms": {t: [[e.step, sum(e.histogram_value.bucket)] for e in acc.Histograms(t)]
                         for t in tags["histograms"]},
          "text": {t: [[e.step, e.tensor_proto.string_val[0].decode()] for e in acc.Tensors(t)] for t in tags["tensors"]},
      }))
      """
    let output = try XCTUnwrap(try DataTestSupport.python(script, [logdir]), "needs python3")
    guard output != "NO-TENSORBOARD" else {
      throw XCTSkip("needs the tensorboard Python package: pip install tensorboard (scripts/test.sh does)")
    }
    let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String: [[Any]]]])
    return json.mapValues { $0.mapValues { $0.map { $0.map { $0 as! AnyHashable } } } }
  }

  private func sha256(_ path: String) throws -> String {
    SHA256.hash(data: try FileIO.read(path)).map { String(format: "%02x", $0) }.joined()
  }

  /// Every numeric figure of every line of a `metrics.jsonl`, as TensorBoard's tags see them: `test/loss` at 20.
  private func metricsScalars(_ path: String) throws -> [String: [(step: Int, value: Double)]] {
    var scalars: [String: [(step: Int, value: Double)]] = [:]
    for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
      let fields = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let (split, update) = (try XCTUnwrap(fields["split"] as? String), try XCTUnwrap(fields["update"] as? Int))
      for (key, value) in fields where key != "update" {
        guard let number = value as? Double else { continue }
        scalars["\(split)/\(key)", default: []].append((update, number))
      }
    }
    return scalars
  }

  private func assertScalarsMatchMetrics(_ tensorBoard: [String: [[AnyHashable]]], _ metricsPath: String) throws {
    let expected = try metricsScalars(metricsPath)
    XCTAssertEqual(Set(tensorBoard.keys), Set(expected.keys), "one tag per figure of metrics.jsonl")
    for (tag, points) in expected {
      let read = try XCTUnwrap(tensorBoard[tag])
      XCTAssertEqual(read.map { $0[0] as! Int }, points.map(\.step), tag)
      for (point, value) in zip(read, points.map(\.value)) {
        // TensorBoard keeps scalars as 32-bit floats.
        XCTAssertEqual(point[1] as! Double, Double(Float(value)), accuracy: 1e-9 * max(1, abs(value)), tag)
      }
    }
  }

  func testTensorBoardReadsEveryFigurePictureAndHistogramOfBothStages() throws {
    let images = try TrainingTestSupport.makeImageFolder(in: folder)
    let run = path("run")
    let trainer = try Trainer(
      configFile: nil,
      overrides: TrainingTestSupport.tinyRun(
        images: images, output: run, updates: 20, extra: [("eval_every", .integer(10)), ("log_interval", .integer(4))]))
    try TrainingTestSupport.complete(trainer)
    let vqvae = try readWithTensorBoard("\(run)/tb")
    try assertScalarsMatchMetrics(try XCTUnwrap(vqvae["scalars"]), "\(run)/metrics.jsonl")
    let pictures = try XCTUnwrap(vqvae["images"])
    for (tag, file) in [("reconstructions", "recon"), ("code_usage", "codes")] {
      let read = try XCTUnwrap(pictures[tag], tag)
      XCTAssertEqual(read.map { $0[0] as! Int }, [10, 20], tag)
      for point in read {
        let png = "\(run)/images/\(file)-\(point[0]).png"
        XCTAssertEqual(point[1] as! String, try sha256(png), "\(tag) is the PNG's bytes")
        let header = try readPNGHeader(path: png)
        XCTAssertEqual([point[2] as! Int, point[3] as! Int], [header.width, header.height])
      }
    }
    // 4 test images of 8x8 codes: 256 positions per evaluation.
    XCTAssertEqual(
      try XCTUnwrap(vqvae["histograms"]?["test/code_usage"]).map { [$0[0], $0[1]] }, [[10, 256], [20, 256]])
    let settings = try XCTUnwrap(vqvae["text"]?["settings"]?.first)
    XCTAssertEqual(settings[0] as! Int, 0)
    XCTAssertTrue((settings[1] as! String).contains("\"n_embeddings\" : 16"), "\(settings[1])")

    try TrainingTestSupport.tinyPrior(
      run: run, updates: 12, extra: [("eval_every", .integer(6)), ("log_interval", .integer(3))])
    let prior = try readWithTensorBoard("\(run)/prior/tb")
    try assertScalarsMatchMetrics(try XCTUnwrap(prior["scalars"]), "\(run)/prior/metrics.jsonl")
    let samples = try XCTUnwrap(prior["images"]?["samples"])
    XCTAssertEqual(samples.map { $0[0] as! Int }, [12])
    XCTAssertEqual(samples[0][1] as! String, try sha256("\(run)/prior/images/samples.png"))
  }

  func testAResumedRunLogsEachStepOnce() throws {
    let images = try TrainingTestSupport.makeImageFolder(in: folder)
    let run = path("run")
    let extra: [(String, ConfigValue)] = [("log_interval", .integer(2)), ("save_every", .integer(4))]
    let first = try Trainer(
      configFile: nil, overrides: TrainingTestSupport.tinyRun(images: images, output: run, updates: 12, extra: extra))
    guard case .interrupted = try first.run(stopRequested: { first.update == 7 }) else { return XCTFail() }
    // As if killed at update 7: the events of update 6 are written, the newest checkpoint is update 4's.
    try FileManager.default.removeItem(atPath: RunFolder(path: run).checkpointPath(update: 7))
    let resumed = try Trainer(configFile: nil, overrides: [], resume: run)
    XCTAssertEqual(resumed.update, 4)
    try TrainingTestSupport.complete(resumed)

    let scalars = try XCTUnwrap(try readWithTensorBoard("\(run)/tb")["scalars"])
    XCTAssertEqual(try XCTUnwrap(scalars["train/loss"]).map { $0[0] as! Int }, [2, 4, 6, 8, 10, 12])
    try assertScalarsMatchMetrics(scalars, "\(run)/metrics.jsonl")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(run)/tb").count, 1, "one event file")
  }
}
