import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import Models

/// After `backward()`: every parameter of `model` has the gradient that the PyTorch fixture `file` holds as
/// `grad.<name>` (`fixture` names the file in failures).
func assertGradientsMatchFixture(
  _ model: Module, _ file: SafeTensors, _ fixture: String, sourceFile: StaticString = #filePath, line: UInt = #line
) throws {
  for (parameterName, parameter) in model.namedParameters {
    assertClose(
      try XCTUnwrap(parameter.grad, "\(parameterName) got no gradient"), try file.floats("grad.\(parameterName)"),
      absolute: 1e-6, "\(fixture) grad.\(parameterName)", file: sourceFile, line: line)
  }
}

/// The errors every prior gives for grids and labels that do not fit it (a code outside the codebook is each
/// kind's own test): `model` is a class-conditional prior of K 4 and 2 classes, `kind` its name in messages.
func assertPriorNamesBadGridsAndLabels(_ model: any Prior, kind: String) {
  DataTestSupport.assertThrows(["\(kind): 3 indices for 1 grids of 2x2"]) {
    _ = try model.loss([0, 1, 2], batch: 1, height: 2, width: 2, labels: [0])
  }
  DataTestSupport.assertThrows(["class-conditional but no labels"]) {
    _ = try model.loss([0, 1, 2, 3], batch: 1, height: 2, width: 2, labels: nil)
  }
  DataTestSupport.assertThrows(["gatherRows: index 2 outside 0..<2"]) {
    _ = try model.loss([0, 1, 2, 3], batch: 1, height: 2, width: 2, labels: [2])
  }
}

/// A prior's cached sampler and the full-recompute loop that the tests hold it to.
protocol SamplerPair {
  func sample(
    count: Int, height: Int, width: Int, labels: [Int]?, given: GivenCodes?, options: SamplingOptions,
    rng: inout RandomGenerator
  ) throws -> [Int]
  func sampleByFullRecompute(
    count: Int, height: Int, width: Int, labels: [Int]?, given: GivenCodes?, options: SamplingOptions,
    rng: inout RandomGenerator
  ) throws -> [Int]
}

extension PriorSampler: SamplerPair {}
extension TransformerSampler: SamplerPair {}

/// Both samplers draw 4 grids of 6x5 (with `labels` for a conditional prior) under each of `options` (by default
/// plain, top-k and top-p): the same codes, from the same random numbers, and codes that vary.
func assertCachedSamplingMatchesFullRecompute(
  _ sampler: some SamplerPair, labels: [Int]?,
  options: [SamplingOptions] = [
    SamplingOptions(), SamplingOptions(temperature: 0.7, topK: 4), SamplingOptions(temperature: 1.2, topP: 0.8),
  ], file: StaticString = #filePath, line: UInt = #line
) throws {
  for options in options {
    var (fast, slow) = (RandomGenerator(seed: 11), RandomGenerator(seed: 11))
    let cached = try sampler.sample(
      count: 4, height: 6, width: 5, labels: labels, given: nil, options: options, rng: &fast)
    let reference = try sampler.sampleByFullRecompute(
      count: 4, height: 6, width: 5, labels: labels, given: nil, options: options, rng: &slow)
    XCTAssertEqual(cached, reference, "labels \(labels ?? []), \(options)", file: file, line: line)
    XCTAssertEqual(fast.state, slow.state, "both drew the same numbers", file: file, line: line)
    XCTAssertGreaterThan(Set(cached).count, 3, "the samples vary", file: file, line: line)
  }
}
