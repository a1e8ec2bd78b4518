import XCTest

@testable import TensorEngine

/// Checks the gradients that `backward()` gives for `function` against central finite differences.
///
/// The scalar checked is `sum(function(inputs) · weights)` with fixed random weights, so every output element
/// contributes with its own upstream gradient. Differences are taken in Float32 with step `epsilon`; the
/// comparison allows `absolute + relative · |numeric|`.
func assertGradientsMatchFiniteDifferences(
  _ inputs: [Tensor], epsilon: Float = 1e-2, absolute: Float = 2e-3, relative: Float = 1e-2,
  file: StaticString = #filePath, line: UInt = #line, _ function: ([Tensor]) throws -> Tensor
) throws {
  var rng = RandomGenerator(seed: 99)
  let probe = try withoutGrad { try function(inputs) }
  let weights = rng.uniformArray(probe.count, in: -1..<1)

  func weightedSum() throws -> Double {
    let out = try withoutGrad { try function(inputs) }
    return zip(out.data, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
  }

  for input in inputs { input.grad = nil }
  let out = try function(inputs)
  try out.backward(seed: weights)

  for (which, input) in inputs.enumerated() where input.requiresGrad {
    let analytic = try XCTUnwrap(input.grad, "input \(which) got no gradient", file: file, line: line)
    for i in 0..<input.count {
      let saved = input.data[i]
      input.data[i] = saved + epsilon
      let plus = try weightedSum()
      input.data[i] = saved - epsilon
      let minus = try weightedSum()
      input.data[i] = saved
      let numeric = Float((plus - minus) / Double(2 * epsilon))
      if abs(analytic[i] - numeric) > absolute + relative * abs(numeric) {
        XCTFail(
          "input \(which) element \(i): backward \(analytic[i]) vs finite difference \(numeric)", file: file, line: line
        )
        return
      }
    }
  }
}

/// A leaf tensor of uniform values in `range`, optionally kept at least `gap` away from zero (for kinks like ReLU).
func randomTensor(
  _ shape: [Int], seed: UInt64, in range: Range<Float> = -1..<1, awayFromZero gap: Float = 0,
  requiresGrad: Bool = true
) -> Tensor {
  var rng = RandomGenerator(seed: seed)
  let values = (0..<shape.reduce(1, *)).map { _ -> Float in
    let v = rng.uniform(in: range)
    return abs(v) < gap ? (v < 0 ? -gap : gap) : v
  }
  return try! Tensor(values, shape: shape, requiresGrad: requiresGrad)
}

/// Asserts that `body` throws a `TensorError` whose message contains `fragment`.
func assertThrowsTensorError(
  _ fragment: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
) {
  do {
    try body()
    XCTFail("expected an error containing '\(fragment)'", file: file, line: line)
  } catch let error as TensorError {
    XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' lacks '\(fragment)'", file: file, line: line)
  } catch {
    XCTFail("unexpected error \(error)", file: file, line: line)
  }
}
