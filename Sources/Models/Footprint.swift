import TensorEngine

/// How much memory a model takes, known from its sizes before it is built, so that a size read from a file or a
/// flag is refused with a figure rather than ending in "failed to allocate". Counts are in floats and held as
/// `Double`, whose products of any sizes cannot trap the way `Int` ones do.
public struct Footprint: Sendable {
  /// The parameters, in named parts (the largest one is what an error names).
  public var parameters: [(what: String, floats: Double)]
  /// Floats one item (an image, a grid) of a training batch keeps from the forward pass for the backward pass.
  public var activationsPerItem: Double

  /// All parameters.
  public var parameterFloats: Double { parameters.reduce(0) { $0 + $1.floats } }
}

extension VQVAEConfiguration {
  /// The footprint of a VQ-VAE on `height x width` images.
  public func footprint(height: Int, width: Int) -> Footprint {
    let (c, h, r, l) = (Double(inChannels), Double(hiddens), Double(residualHiddens), Double(residualLayers))
    let (d, k, n) = (Double(embeddingDim), Double(embeddings), Double(downsamples))
    // Encoder and decoder alike: 4x4 stride-2 convolutions (c to h/2, h/2 to h/2 ..., h/2 to h) and a residual
    // stack (3x3 h to r, 1x1 r to h); the encoder's 3x3 h to h, the 1x1 to D and the decoder's 3x3 from D.
    let stack = 2 * (8 * c * h + 8 * h * h + 4 * h * h * max(n - 2, 0) + l * 10 * h * r) + 9 * h * h + 10 * h * d
    let pixels = Double(height) * Double(width)
    let positions = pixels / Double(1 << (2 * downsamples))
    return Footprint(
      parameters: [
        ("the codebook (n_embeddings \(embeddings) x embedding_dim \(embeddingDim))", k * d),
        (
          "the encoder and decoder (n_hiddens \(hiddens), n_residual_hiddens \(residualHiddens), n_residual_layers "
            + "\(residualLayers))", stack
        ),
      ],
      // Measured: about h floats per pixel at full resolution for the layers, plus the distances of each latent
      // position to all K codes; the factor leaves room for im2col buffers.
      activationsPerItem: 1.5 * (h + 2 * c) * pixels + positions * (2 * k + 4 * d))
  }
}

extension PriorConfiguration {
  /// The footprint of a gated PixelCNN on `height x width` grids.
  public func footprint(height: Int, width: Int) -> Footprint {
    let (k, d, n, classes, hidden) = (
      Double(codes), Double(dim), Double(layers), Double(self.classes), Double(headHidden)
    )
    let positions = Double(height) * Double(width)
    let head = hidden > 0 ? d * hidden + hidden * k : d * k
    return Footprint(
      parameters: [
        (
          "the code embedding and the head (n_embeddings \(codes), dim \(dim), head_hidden \(headHidden))", k * d + head
        ),
        // Each gated layer: vertical and horizontal stacks to 2d, the vertical-to-horizontal link, the 1x1 out.
        ("the gated layers (n_layers \(layers) x dim \(dim))", n * (24 * d * d + 8 * d)),
        ("the class embeddings (n_classes \(self.classes) x n_layers \(layers) x 2 dim)", classes * n * 2 * d),
      ],
      // Measured: 7 to 17 floats per channel and layer at each position (the more, the smaller the grid), plus the
      // logits and their gradients.
      activationsPerItem: positions * (12 * d * n + 4 * k + 3 * hidden))
  }
}

extension TransformerConfiguration {
  /// The footprint of a transformer prior on `height x width` grids.
  public func footprint(height: Int, width: Int) -> Footprint {
    let (k, d, n, heads) = (Double(codes), Double(dim), Double(layers), Double(self.heads))
    // The class (or start) tokens, and the class embedding added at every position when conditional.
    let starts = Double(classRows) + Double(classes > 0 ? classRows : 0)
    let positions = Double(height) * Double(width)
    return Footprint(
      parameters: [
        (
          "the code, class and position embeddings and the head (n_embeddings \(codes), n_classes \(classes), "
            + "max_positions \(maxPositions), dim \(dim))", (k + starts + Double(maxPositions)) * d + d * k + k + 2 * d
        ),
        // Each block: qkv 3d² + 3d, proj d² + d, the MLP 8d² + 5d, two layer norms 4d.
        ("the transformer blocks (n_layers \(layers) x dim \(dim))", n * (12 * d * d + 13 * d)),
      ],
      // Counted from the graph a block keeps: about 25 floats per channel and position (the normalised inputs, q, k
      // and v before and after the heads' permutation, the MLP's 4d twice, the residual sums), a log-sum-exp per
      // head, and the 4d of dropout's masks and outputs; plus the logits, their softmax and their gradients.
      activationsPerItem: positions * (n * (29 * d + heads) + 4 * d + 4 * k))
  }
}
