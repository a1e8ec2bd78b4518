import TensorEngine

/// The VQ-VAE of van den Oord et al. (2017): encoder, 1x1 pre-quantization conv to D channels, vector quantizer,
/// decoder. Parameter names follow the classic PyTorch repo's `VQVAE` module tree.
public final class VQVAE: Module {
  public let configuration: VQVAEConfiguration
  public let encoder: Encoder
  public let preQuantization: Conv2D
  public let quantizer: VectorQuantizer
  public let decoder: Decoder

  /// A freshly initialised model (PyTorch's default initialisation; codebook uniform(-1/K, 1/K)).
  public init(_ configuration: VQVAEConfiguration, rng: inout RandomGenerator) {
    self.configuration = configuration
    encoder = Encoder(configuration, rng: &rng)
    preQuantization = Conv2D(configuration.hiddens, configuration.embeddingDim, kernelSize: 1, rng: &rng)
    quantizer = VectorQuantizer(
      count: configuration.embeddings, dimension: configuration.embeddingDim, beta: configuration.beta, rng: &rng)
    decoder = Decoder(configuration, rng: &rng)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("encoder", encoder.namedParameters) + prefixed("pre_quantization_conv", preQuantization.namedParameters)
      + prefixed("vector_quantization", quantizer.namedParameters) + prefixed("decoder", decoder.namedParameters)
  }

  /// The encoder's continuous output z_e of NCHW images `[B, C, H, W]`, channel-major: `[D, B, h, w]` with the
  /// latent grid `h x w` of `configuration.latentGrid`.
  public func encode(_ images: Tensor) throws -> Tensor {
    guard images.rank == 4, images.shape[1] == configuration.inChannels else {
      throw TensorError("VQVAE: expected [B, \(configuration.inChannels), H, W] images, got \(images.shape)")
    }
    let factor = 1 << configuration.downsamples
    guard images.shape[2] % factor == 0, images.shape[3] % factor == 0, images.shape[2] >= factor,
      images.shape[3] >= factor
    else {
      throw TensorError(
        "VQVAE: \(images.shape[2])x\(images.shape[3]) images do not halve \(configuration.downsamples) times "
          + "(downsamples); each side must be a multiple of \(factor)")
    }
    return try preQuantization(try encoder(try images.swappingFirstTwoAxes()))
  }

  /// One pass: encode, quantize, decode. The reconstruction is NCHW, like the images.
  public func callAsFunction(_ images: Tensor) throws -> (reconstruction: Tensor, quantization: Quantization) {
    let quantization = try quantizer(try encode(images))
    return (try decoder(quantization.straightThrough).swappingFirstTwoAxes(), quantization)
  }

  /// The training loss: reconstruction MSE divided by the data variance, plus the quantizer's loss.
  public func loss(_ images: Tensor, dataVariance: Float) throws -> (
    total: Tensor, reconstructionError: Tensor, reconstruction: Tensor, quantization: Quantization
  ) {
    let (reconstruction, quantization) = try self(images)
    let reconstructionError = try meanSquaredError(reconstruction, images) / dataVariance
    return (try reconstructionError + quantization.loss, reconstructionError, reconstruction, quantization)
  }

  /// The code-index grid of each image (no gradients recorded), `[B · h · w]` row-major.
  public func encodeIndices(_ images: Tensor) throws -> [Int] {
    try withoutGrad {
      let z = try encode(images)
      return try quantizer.nearestCodes(try z.reshaped([z.shape[0], z.count / z.shape[0]]))
    }
  }

  /// NCHW images decoded from code-index grids of `height x width` (no gradients recorded).
  /// - Throws: `TensorError` if an index is outside the codebook or the count does not fill the grids.
  public func decode(indices: [Int], batch: Int, height: Int, width: Int) throws -> Tensor {
    guard indices.count == batch * height * width else {
      throw TensorError("VQVAE.decode: \(indices.count) indices for \(batch) grids of \(height)x\(width)")
    }
    return try withoutGrad {
      try decoder(try quantizer.lookup(indices, batch: batch, height: height, width: width)).swappingFirstTwoAxes()
    }
  }
}
