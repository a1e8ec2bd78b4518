import XCTest

@testable import TensorEngine

/// A small conv autoencoder trained end to end with the engine: it must overfit a fixed batch, and the same seed
/// must give the same weights bit for bit.
final class TrainingIntegrationTests: XCTestCase {
  private final class TinyAutoencoder: Module {
    let down: Conv2D
    let middle: Conv2D
    let up: ConvTranspose2D

    init(rng: inout RandomGenerator) {
      down = Conv2D(1, 8, kernelSize: 4, stride: 2, padding: 1, rng: &rng)
      middle = Conv2D(8, 8, kernelSize: 3, padding: 1, rng: &rng)
      up = ConvTranspose2D(8, 1, kernelSize: 4, stride: 2, padding: 1, rng: &rng)
    }

    var namedParameters: [(name: String, tensor: Tensor)] {
      prefixed("down", down.namedParameters) + prefixed("middle", middle.namedParameters)
        + prefixed("up", up.namedParameters)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
      let h = try down(x).relu()
      return try up(try middle(h) + h).tanh()
    }
  }

  private func train(seed: UInt64, steps: Int) throws -> (first: Float, last: Float, weights: [Float]) {
    var rng = RandomGenerator(seed: seed)
    let model = TinyAutoencoder(rng: &rng)
    let batch = try Tensor(rng.uniformArray(4 * 8 * 8, in: -0.8..<0.8), shape: [1, 4, 8, 8])
    let adam = Adam(parameters: model.namedParameters, learningRate: 1e-2, amsgrad: true)
    var losses: [Float] = []
    for _ in 0..<steps {
      adam.zeroGrad()
      let loss = try meanSquaredError(try model(batch), batch)
      try loss.backward()
      adam.update()
      losses.append(loss.scalarValue)
    }
    return (losses[0], losses.suffix(10).min()!, model.parameters.flatMap(\.data))
  }

  func testSmallConvNetOverfitsAFixedBatch() throws {
    let run = try train(seed: 11, steps: 400)
    XCTAssertLessThan(run.last, run.first / 100, "loss \(run.first) -> \(run.last)")
  }

  func testSameSeedGivesBitwiseSameWeights() throws {
    let a = try train(seed: 5, steps: 20)
    let b = try train(seed: 5, steps: 20)
    XCTAssertEqual(a.weights.map(\.bitPattern), b.weights.map(\.bitPattern))
    let c = try train(seed: 6, steps: 20)
    XCTAssertNotEqual(a.weights, c.weights)
  }
}
