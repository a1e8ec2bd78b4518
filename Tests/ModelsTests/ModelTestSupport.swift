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
