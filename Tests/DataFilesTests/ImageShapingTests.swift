import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import DataFiles

/// Images shaped as they load: the area resize against hand computations, FOLDER's crop and resize, and MNIST's
/// padding turned off.
final class ImageShapingTests: FolderTestCase {
  func testHalvingAveragesEachTwoByTwoBlock() {
    let pixels: [UInt8] = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150]
    let resized = AreaResize.squared(pixels, width: 4, height: 4, channels: 1, size: 2)
    XCTAssertEqual(resized, [25, 45, 105, 125])
  }

  func testThreeToTwoWeighsThePixelsByCoverage() {
    // Output pixel 0 covers input 0 and half of input 1: (0 + 0.5 · 90) / 1.5 = 30; pixel 1: (45 + 180) / 1.5 = 150.
    let taps = AreaResize.weights(from: 3, to: 2)
    XCTAssertEqual(taps.map { $0.map(\.index) }, [[0, 1], [1, 2]])
    let row: [UInt8] = [0, 90, 180]
    let image = row + row + row
    XCTAssertEqual(AreaResize.squared(image, width: 3, height: 3, channels: 1, size: 2), [30, 150, 30, 150])
  }

  func testTheLongerSideIsCroppedAroundTheCentreAndChannelsStayApart() {
    // A 4x2 RGB image: the centre 2x2 (columns 1 and 2) is kept, at its own size.
    let pixels = (0..<(4 * 2 * 3)).map { UInt8($0) }
    let kept = AreaResize.squared(pixels, width: 4, height: 2, channels: 3, size: 2)
    XCTAssertEqual(kept, [3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19, 20])
  }

  func testFolderImagesOfDifferentSizesLoadAtTheAskedSize() throws {
    for (index, (width, height)) in [(40, 30), (20, 20), (17, 33)].enumerated() {
      let pixels = DataTestSupport.bytes(width * height * 3, seed: UInt64(index))
      try FileManager.default.createDirectory(atPath: "\(folder)/cls\(index % 2)", withIntermediateDirectories: true)
      try writePNG(
        path: "\(folder)/cls\(index % 2)/\(index).png", pixels: pixels, width: width, height: height, channels: 3)
    }
    DataTestSupport.assertThrows(["all images must have the same size"]) { _ = try ImageFolder.load(folder) }
    let dataset = try ImageFolder.load(folder, size: 16)
    XCTAssertEqual([dataset.count, dataset.channels, dataset.height, dataset.width], [3, 3, 16, 16])
    XCTAssertEqual(dataset.labels, [0, 0, 1])
  }
}
