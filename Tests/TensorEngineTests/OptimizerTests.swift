import Foundation
import XCTest

@testable import TensorEngine

/// Adam, AMSGrad and AdamW against updates computed by hand with PyTorch's formulas; gradient clipping; the
/// warm-up and cosine learning-rate schedule against its closed form.
final class OptimizerTests: XCTestCase {
  /// Two steps of Adam on one value, written out: m, v, bias corrections, update.
  private func handAdam(
    _ p0: Double, grads: [Double], lr: Double, b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-8,
    weightDecay: Double = 0, amsgrad: Bool
  ) -> Double {
    var (p, m, v, vMax) = (p0, 0.0, 0.0, 0.0)
    for (t, g0) in grads.enumerated() {
      let step = Double(t + 1)
      let g = g0 + weightDecay * p
      m = b1 * m + (1 - b1) * g
      v = b2 * v + (1 - b2) * g * g
      vMax = max(vMax, v)
      let denom = (amsgrad ? vMax : v).squareRoot() / (1 - pow(b2, step)).squareRoot() + eps
      p -= lr / (1 - pow(b1, step)) * m / denom
    }
    return p
  }

  func testAdamAndAMSGradMatchHandComputation() throws {
    // The second gradient is smaller than the first, so AMSGrad's max differs from plain Adam.
    let grads: [[Float]] = [[0.5, -2.0, 3.0], [0.1, -0.1, 0.01], [-0.3, 0.2, 0.0]]
    for (amsgrad, weightDecay) in [(false, Float(0)), (true, 0), (true, 0.1)] {
      let p = try Tensor([1.0, -0.5, 0.25], shape: [3], requiresGrad: true)
      let adam = Adam(parameters: [("p", p)], learningRate: 0.01, weightDecay: weightDecay, amsgrad: amsgrad)
      for g in grads {
        p.grad = g
        adam.update()
      }
      for i in 0..<3 {
        let expected = handAdam(
          [1.0, -0.5, 0.25][i], grads: grads.map { Double($0[i]) }, lr: 0.01, weightDecay: Double(weightDecay),
          amsgrad: amsgrad)
        XCTAssertEqual(Double(p.data[i]), expected, accuracy: 1e-6, "amsgrad \(amsgrad), element \(i)")
      }
      XCTAssertEqual(adam.step, 3)
    }
  }

  func testStateRestoreContinuesIdentically() throws {
    let a = try Tensor([1, 2], shape: [2], requiresGrad: true)
    let b = try Tensor([1, 2], shape: [2], requiresGrad: true)
    let adamA = Adam(parameters: [("w", a)], learningRate: 0.1, amsgrad: true)
    a.grad = [0.3, -0.2]
    adamA.update()
    b.data = a.data
    let adamB = Adam(parameters: [("w", b)], learningRate: 0.1, amsgrad: true)
    let saved = adamA.state
    XCTAssertEqual(saved.moments.map(\.name), ["w.exp_avg", "w.exp_avg_sq", "w.max_exp_avg_sq"])
    try adamB.restore(
      step: saved.step, moments: Dictionary(uniqueKeysWithValues: saved.moments.map { ($0.name, $0.values) }))
    a.grad = [0.1, 0.4]
    b.grad = [0.1, 0.4]
    adamA.update()
    adamB.update()
    XCTAssertEqual(a.data, b.data)
    assertThrowsTensorError("missing optimiser state 'w.exp_avg'") { try adamB.restore(step: 1, moments: [:]) }
  }

  func testZeroGradAndParametersWithoutGradientsStayPut() {
    let p = try! Tensor([1, 2], shape: [2], requiresGrad: true)
    let adam = Adam(parameters: [("p", p)])
    p.grad = [1, 1]
    adam.zeroGrad()
    XCTAssertNil(p.grad)
    adam.update()
    XCTAssertEqual(p.data, [1, 2])
  }

  func testClipGradientNorm() {
    let p = try! Tensor([0, 0], shape: [2], requiresGrad: true)
    let q = try! Tensor([0], shape: [1], requiresGrad: true)
    p.grad = [3, 0]
    q.grad = [4]
    XCTAssertEqual(clipGradientNorm([p, q], maxNorm: 1), 5, accuracy: 1e-6)
    XCTAssertEqual(p.grad![0], 0.6, accuracy: 1e-5)
    XCTAssertEqual(q.grad![0], 0.8, accuracy: 1e-5)
    // Below the limit nothing changes.
    XCTAssertEqual(clipGradientNorm([p, q], maxNorm: 10), 1, accuracy: 1e-5)
    XCTAssertEqual(q.grad![0], 0.8, accuracy: 1e-5)
  }

  func testAdamWDecaysTheParametersApartFromTheGradient() throws {
    // torch.optim.AdamW: p ← p · (1 - lr · wd), then Adam's step with the plain gradient.
    let grads: [[Float]] = [[0.5, -2.0, 3.0], [0.1, -0.1, 0.01], [-0.3, 0.2, 0.0]]
    let start: [Double] = [1.0, -0.5, 0.25]
    for amsgrad in [false, true] {
      let p = try Tensor(start.map(Float.init), shape: [3], requiresGrad: true)
      let adamW = Adam.adamW(parameters: [("p", p)], learningRate: 0.01, weightDecay: 0.1, amsgrad: amsgrad)
      XCTAssertTrue(adamW.decoupledWeightDecay)
      for g in grads {
        p.grad = g
        adamW.update()
      }
      for i in 0..<3 {
        var (value, m, v, vMax) = (start[i], 0.0, 0.0, 0.0)
        for (t, g) in grads.map({ Double($0[i]) }).enumerated() {
          value *= 1 - 0.01 * 0.1
          m = 0.9 * m + 0.1 * g
          v = 0.999 * v + 0.001 * g * g
          vMax = max(vMax, v)
          let step = Double(t + 1)
          let denominator = (amsgrad ? vMax : v).squareRoot() / (1 - pow(0.999, step)).squareRoot() + 1e-8
          value -= 0.01 / (1 - pow(0.9, step)) * m / denominator
        }
        XCTAssertEqual(Double(p.data[i]), value, accuracy: 1e-6, "amsgrad \(amsgrad), element \(i)")
      }
      XCTAssertEqual(adamW.state.moments.map(\.name).prefix(2), ["p.exp_avg", "p.exp_avg_sq"], "Adam's names")
    }
  }

  func testParametersExemptFromWeightDecayTakeThePlainAdamStep() throws {
    let (decayed, exempt) = (
      try Tensor([1], shape: [1], requiresGrad: true), try Tensor([1], shape: [1], requiresGrad: true)
    )
    let adamW = Adam.adamW(
      parameters: [("w", decayed), ("b", exempt)], learningRate: 0.1, weightDecay: 0.5, exemptFromWeightDecay: ["b"])
    (decayed.grad, exempt.grad) = ([0.2], [0.2])
    adamW.update()
    // The first Adam step moves by the learning rate (m̂ / √v̂ = 1); the decay takes lr · wd = 5% first.
    XCTAssertEqual(exempt.data[0], 0.9, accuracy: 1e-6)
    XCTAssertEqual(decayed.data[0], 0.95 - 0.1, accuracy: 1e-6)
  }

  func testAdamWWithoutGradientsLeavesParametersUndecayed() {
    // As PyTorch, which skips parameters whose grad is None.
    let p = try! Tensor([1, 2], shape: [2], requiresGrad: true)
    Adam.adamW(parameters: [("p", p)], weightDecay: 0.5).update()
    XCTAssertEqual(p.data, [1, 2])
  }

  func testWarmupCosineScheduleFollowsItsClosedForm() {
    let schedule = WarmupCosineSchedule(peak: 3e-4, floor: 3e-5, warmupSteps: 10, totalSteps: 110)
    for step in [0, 4, 9, 10, 35, 60, 85, 109, 110, 500] {
      let expected: Double
      if step < 10 {
        expected = 3e-4 * Double(step + 1) / 10
      } else {
        let progress = min(Double(step - 10) / 100, 1)
        expected = 3e-5 + (3e-4 - 3e-5) * 0.5 * (1 + cos(Double.pi * progress))
      }
      XCTAssertEqual(Double(schedule.learningRate(atStep: step)), expected, accuracy: 1e-10, "step \(step)")
    }
    XCTAssertEqual(schedule.learningRate(atStep: 9), 3e-4, "the warm-up ends at the peak")
    XCTAssertEqual(schedule.learningRate(atStep: 60), (3e-4 + 3e-5) / 2, accuracy: 1e-10, "halfway down")
    XCTAssertEqual(schedule.learningRate(atStep: 1000), 3e-5, "the floor after the end")
    let noWarmup = WarmupCosineSchedule(peak: 1, warmupSteps: 0, totalSteps: 4)
    for (step, expected) in [Float(1), 0.853_553_4, 0.5, 0.146_446_6, 0].enumerated() {
      XCTAssertEqual(noWarmup.learningRate(atStep: step), expected, accuracy: 1e-6, "no warm-up, step \(step)")
    }
  }
}
