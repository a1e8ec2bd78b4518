import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import Models

/// The VQ-VAE at other image sizes: `downsamples` stride-2 stages on each side, PyTorch's Sequential indices, and
/// a latent grid that follows the image.
final class VQVAEShapeTests: XCTestCase {
  private func model(downsamples: Int, inChannels: Int = 3) -> VQVAE {
    var configuration = VQVAEConfiguration()
    (configuration.inChannels, configuration.hiddens, configuration.residualHiddens) = (inChannels, 8, 4)
    (configuration.embeddingDim, configuration.embeddings, configuration.downsamples) = (4, 16, downsamples)
    var rng = RandomGenerator(seed: 3)
    return VQVAE(configuration, rng: &rng)
  }

  /// Each parameter's shape by name.
  private func shapes(_ vqvae: VQVAE) -> [String: [Int]] {
    Dictionary(uniqueKeysWithValues: vqvae.namedParameters.map { ($0.name, $0.tensor.shape) })
  }

  func testTwoStagesKeepTheClassicNamesAndShapes() {
    let shapes = shapes(model(downsamples: 2))
    XCTAssertEqual(shapes["encoder.conv_stack.0.weight"], [4, 3, 4, 4])
    XCTAssertEqual(shapes["encoder.conv_stack.2.weight"], [8, 4, 4, 4])
    XCTAssertEqual(shapes["encoder.conv_stack.4.weight"], [8, 8, 3, 3])
    XCTAssertNotNil(shapes["encoder.conv_stack.5.stack.0.res_block.1.weight"])
    XCTAssertEqual(shapes["decoder.inverse_conv_stack.2.weight"], [8, 4, 4, 4])
    XCTAssertEqual(shapes["decoder.inverse_conv_stack.4.weight"], [4, 3, 4, 4])
  }

  func testThreeStagesAddAHalfWidthStageOnEachSide() throws {
    let vqvae = model(downsamples: 3)
    let shapes = shapes(vqvae)
    XCTAssertEqual(shapes["encoder.conv_stack.0.weight"], [4, 3, 4, 4])
    XCTAssertEqual(shapes["encoder.conv_stack.2.weight"], [4, 4, 4, 4])
    XCTAssertEqual(shapes["encoder.conv_stack.4.weight"], [8, 4, 4, 4])
    XCTAssertEqual(shapes["encoder.conv_stack.6.weight"], [8, 8, 3, 3])
    XCTAssertNotNil(shapes["encoder.conv_stack.7.stack.0.res_block.1.weight"])
    XCTAssertEqual(shapes["decoder.inverse_conv_stack.2.weight"], [8, 4, 4, 4])
    XCTAssertEqual(shapes["decoder.inverse_conv_stack.4.weight"], [4, 4, 4, 4])
    XCTAssertEqual(shapes["decoder.inverse_conv_stack.6.weight"], [4, 3, 4, 4])

    // 64x48 images: an 8x6 grid, and a reconstruction of the image's shape.
    let images = try Tensor(
      DataTestSupport.bytes(2 * 3 * 64 * 48, seed: 1).map { Float($0) / 128 - 1 }, shape: [2, 3, 64, 48])
    XCTAssertEqual(try vqvae.encode(images).shape, [4, 2, 8, 6])
    XCTAssertEqual(try vqvae(images).reconstruction.shape, [2, 3, 64, 48])
    let codes = try vqvae.encodeIndices(images)
    XCTAssertEqual(codes.count, 2 * 8 * 6)
    XCTAssertEqual(try vqvae.decode(indices: codes, batch: 2, height: 8, width: 6).shape, [2, 3, 64, 48])
    XCTAssertTrue(vqvae.configuration.latentGrid(height: 64, width: 48) == (8, 6))
  }

  func testOneStageGoesStraightToTheHiddenWidth() throws {
    let vqvae = model(downsamples: 1, inChannels: 1)
    let shapes = shapes(vqvae)
    XCTAssertEqual(shapes["encoder.conv_stack.0.weight"], [8, 1, 4, 4])
    XCTAssertEqual(shapes["decoder.inverse_conv_stack.2.weight"], [8, 1, 4, 4])
    XCTAssertEqual(try vqvae.encode(Tensor(zeros: [1, 1, 28, 28])).shape, [4, 1, 14, 14])
  }

  func testImagesThatDoNotHalveEnoughTimesAreRefusedNamingTheSetting() {
    DataTestSupport.assertThrows(["28x28", "downsamples", "multiple of 8"]) {
      _ = try self.model(downsamples: 3, inChannels: 1).encode(Tensor(zeros: [1, 1, 28, 28]))
    }
  }
}
