import TensorEngine

/// The architecture of a VQ-VAE: the classic PyTorch repo's flags and defaults (`--n_hiddens 128` ...).
public struct VQVAEConfiguration: Equatable, Sendable {
  /// Image channels (1 for MNIST-style data, 3 for CIFAR-10).
  public var inChannels = 1
  /// Channels of the encoder and decoder (h); the outer convolutions use h/2.
  public var hiddens = 128
  /// Channels inside each residual layer.
  public var residualHiddens = 32
  /// Residual layers in each residual stack.
  public var residualLayers = 2
  /// Dimension D of each codebook vector.
  public var embeddingDim = 64
  /// Number K of codebook vectors.
  public var embeddings = 512
  /// Weight of the commitment term ||z_e - sg[e]||².
  public var beta: Float = 0.25
  /// Stride-2 stages in the encoder (and the decoder): the latent grid is the image divided by 2^downsamples.
  public var downsamples = 2

  public init() {}

  /// The latent grid of an image of `height x width`: each side divided by 2^downsamples.
  public func latentGrid(height: Int, width: Int) -> (height: Int, width: Int) {
    (height >> downsamples, width >> downsamples)
  }

  /// Checks that every size is usable, naming the offending setting.
  public func validate() throws {
    let sizes = [
      ("in_channels", inChannels), ("n_hiddens", hiddens), ("n_residual_hiddens", residualHiddens),
      ("embedding_dim", embeddingDim), ("n_embeddings", embeddings),
    ]
    for (name, value) in sizes where value < 1 { throw TensorError("\(name) must be at least 1, got \(value)") }
    guard hiddens >= 2, hiddens % 2 == 0 else { throw TensorError("n_hiddens must be even and >= 2, got \(hiddens)") }
    guard (1...6).contains(downsamples) else {
      throw TensorError("downsamples must be in 1...6, got \(downsamples)")
    }
    guard residualLayers >= 0 else { throw TensorError("n_residual_layers must be >= 0, got \(residualLayers)") }
    guard beta.isFinite, beta >= 0 else { throw TensorError("beta must be a non-negative number, got \(beta)") }
  }
}
