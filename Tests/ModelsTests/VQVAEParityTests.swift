import Foundation
import TensorEngine
import TestSupport
import XCTest

@testable import Models

/// The model against PyTorch: the fixtures hold a small VQ-VAE's parameters under the classic repo's names, an
/// input batch, and what PyTorch computed from them (z_e, indices, x_hat, loss terms, perplexity, gradients).
final class VQVAEParityTests: XCTestCase {
  private func model(from file: SafeTensors) throws -> VQVAE {
    var config = VQVAEConfiguration()
    config.inChannels = Int(file.metadata["in_channels"]!)!
    config.hiddens = Int(file.metadata["n_hiddens"]!)!
    config.residualHiddens = Int(file.metadata["n_residual_hiddens"]!)!
    config.residualLayers = Int(file.metadata["n_residual_layers"]!)!
    config.embeddings = Int(file.metadata["n_embeddings"]!)!
    config.embeddingDim = Int(file.metadata["embedding_dim"]!)!
    config.beta = Float(file.metadata["beta"]!)!
    var rng = RandomGenerator(seed: 0)
    let model = VQVAE(config, rng: &rng)
    try model.load(from: file)
    return model
  }

  private func checkParity(_ name: String) throws {
    let file = try fixture(name)
    let model = try model(from: file)
    assertClassicNames(model, file)
    let input = try Tensor(file.floats("input"), shape: file.entry("input")!.shape)
    let variance = Float(file.metadata["train_variance"]!)!

    let z = try withoutGrad { try model.encode(input).swappingFirstTwoAxes() }
    assertClose(z.data, try file.floats("z_e"), "\(name) z_e")
    let (total, reconstructionError, reconstruction, quantization) = try model.loss(input, dataVariance: variance)
    XCTAssertEqual(quantization.indices, try file.int64s("indices").map(Int.init), "\(name) indices")
    assertClose(reconstruction.data, try file.floats("x_hat"), "\(name) x_hat")
    assertClose(reconstructionError.data, try file.floats("recon_loss"), "\(name) recon_loss")
    assertClose(quantization.codebookLoss.data, try file.floats("codebook_loss"), "\(name) codebook_loss")
    assertClose(quantization.commitmentLoss.data, try file.floats("commitment_loss"), "\(name) commitment_loss")
    assertClose(total.data, try file.floats("loss"), "\(name) loss")
    assertClose([quantization.perplexity], try file.floats("perplexity"), "\(name) perplexity")

    try total.backward()
    try assertGradientsMatchFixture(model, file, name)
  }

  func testGrayModelMatchesPyTorch() throws { try checkParity("vqvae_small") }

  func testRGBModelMatchesPyTorch() throws { try checkParity("vqvae_small_rgb") }

  func testDecodingIndicesReproducesTheForwardPass() throws {
    let file = try fixture("vqvae_small")
    let model = try model(from: file)
    let input = try Tensor(file.floats("input"), shape: file.entry("input")!.shape)
    let indices = try model.encodeIndices(input)
    XCTAssertEqual(indices, try file.int64s("indices").map(Int.init))
    let decoded = try model.decode(indices: indices, batch: 2, height: 8, width: 8)
    let (reconstruction, _) = try withoutGrad { try model(input) }
    XCTAssertTrue(
      decoded.data == reconstruction.data, "decoding indices gives the training-path reconstruction bit for bit")
  }
}

/// Asserts that `model`'s parameters are named as the PyTorch module whose gradients (`grad.<name>`) `file` holds.
func assertClassicNames(_ model: Module, _ file: SafeTensors, line: UInt = #line) {
  XCTAssertEqual(
    Set(model.namedParameters.map(\.name)),
    Set(file.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) }),
    "parameter names match the classic module tree", line: line)
}

/// A PyTorch fixture of the test target (Tests/ModelsTests/Fixtures, copied from ../shared/fixtures).
func fixture(_ name: String) throws -> SafeTensors {
  let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"))
  return try SafeTensors.read(contentsOf: url.path)
}
