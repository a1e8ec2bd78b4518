import Foundation
import TestSupport
import XCTest

@testable import Pipeline

/// Checkpoints: a saved and reloaded run has the same weights, optimiser state, generator and data order.
final class TrainingCheckpointTests: FolderTestCase {
  private func tinyModel(seed: UInt64) -> (VQVAE, Adam) {
    var configuration = VQVAEConfiguration()
    (configuration.hiddens, configuration.residualHiddens, configuration.embeddings, configuration.embeddingDim) =
      (8, 4, 16, 4)
    var rng = RandomGenerator(seed: seed)
    let model = VQVAE(configuration, rng: &rng)
    return (model, Adam(parameters: model.namedParameters, learningRate: 1e-3, amsgrad: true))
  }

  func testRoundTripGivesIdenticalReconstructions() throws {
    var rng = RandomGenerator(seed: 3)
    let images = try Tensor(rng.uniformArray(4 * 32 * 32, in: -1..<1), shape: [4, 1, 32, 32])
    let (model, optimizer) = tinyModel(seed: 1)
    for _ in 0..<2 {
      optimizer.zeroGrad()
      try model.loss(images, dataVariance: 0.3).total.backward()
      optimizer.update()
    }
    var sampler = BatchSampler(count: 10, rng: RandomGenerator(seed: 5))
    var indices = [Int](repeating: 0, count: 4)
    sampler.next(into: &indices)
    var configuration = TrainingConfiguration()
    configuration.model = model.configuration
    let path = (folder as NSString).appendingPathComponent("c.safetensors")
    try TrainingCheckpoint.file(
      update: 2, model: model, optimizer: optimizer, sampler: sampler, codebookRNG: RandomGenerator(seed: 8),
      configurationJSON: ConfigValue.object(configuration.recorded).jsonText, wallSeconds: 1.5
    ).write(to: path)

    let checkpoint = try TrainingCheckpoint(contentsOf: path)
    XCTAssertEqual(checkpoint.update, 2)
    XCTAssertEqual(checkpoint.wallSeconds, 1.5)
    XCTAssertEqual(checkpoint.configuration.model, model.configuration)
    let (restored, restoredOptimizer) = tinyModel(seed: 99)
    try checkpoint.restore(model: restored, optimizer: restoredOptimizer)
    let before = try withoutGrad { try model(images).reconstruction.data }
    let after = try withoutGrad { try restored(images).reconstruction.data }
    XCTAssertEqual(before.map(\.bitPattern), after.map(\.bitPattern))
    XCTAssertEqual(restoredOptimizer.step, 2)
    XCTAssertEqual(restoredOptimizer.state.moments.map(\.name), optimizer.state.moments.map(\.name))
    XCTAssertEqual(restoredOptimizer.state.moments.map(\.values), optimizer.state.moments.map(\.values))

    let restoredSampler = try checkpoint.sampler(count: 10)
    XCTAssertEqual(restoredSampler.order, sampler.order)
    XCTAssertEqual(restoredSampler.position, 4)
    XCTAssertEqual(restoredSampler.epoch, 1)
    XCTAssertEqual(restoredSampler.rng.state, sampler.rng.state)

    // PyTorch names for the weights, moments in their parameter's shape, integer state as I64.
    let file = try SafeTensors.read(contentsOf: path)
    XCTAssertEqual(file.entry("encoder.conv_stack.0.weight")?.shape, [4, 1, 4, 4])
    XCTAssertEqual(file.entry("optimizer.encoder.conv_stack.0.weight.max_exp_avg_sq")?.shape, [4, 1, 4, 4])
    XCTAssertEqual(file.entry("rng.state")?.dtype, .int64)
    XCTAssertEqual(file.entry("rng.state")?.shape, [4])
    DataTestSupport.assertThrows(["c.safetensors", "data order covers 10 images", "has 12"]) {
      _ = try checkpoint.sampler(count: 12)
    }
  }

  func testSamplerDrawsEpochsWithoutReplacement() {
    var sampler = BatchSampler(count: 5, rng: RandomGenerator(seed: 0))
    var batch = [Int](repeating: 0, count: 3)
    var drawn: [Int] = []
    for _ in 0..<5 {
      sampler.next(into: &batch)
      drawn += batch
    }
    XCTAssertEqual(drawn.count, 15)
    for epoch in 0..<3 { XCTAssertEqual(drawn[(5 * epoch)..<(5 * epoch + 5)].sorted(), [0, 1, 2, 3, 4]) }
    XCTAssertEqual(sampler.epoch, 3)
  }

  func testNotACheckpointIsNamed() throws {
    let path = (folder as NSString).appendingPathComponent("plain.safetensors")
    var file = SafeTensors()
    file.add("x", floats: [1], shape: [1])
    try file.write(to: path)
    DataTestSupport.assertThrows([path, "not a vqvae-train checkpoint"]) {
      _ = try TrainingCheckpoint(contentsOf: path)
    }
    // A recorded size out of range is named before any model is built from it.
    var bad = SafeTensors(metadata: ["update": "1", "config": #"{"embedding_dim": -4, "in_channels": 1}"#])
    bad.add("x", floats: [1], shape: [1])
    try bad.write(to: path)
    DataTestSupport.assertThrows([path, "__metadata__ config): embedding_dim must be at least 1, got -4"]) {
      _ = try TrainingCheckpoint(contentsOf: path)
    }
    DataTestSupport.assertThrows(["missing.safetensors"]) {
      _ = try TrainingCheckpoint(contentsOf: "missing.safetensors")
    }
  }
}
