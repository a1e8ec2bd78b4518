/// New images: code-index grids drawn from the prior, decoded by the VQ-VAE, tiled into one picture.
public struct SampleGrid {
  /// The class of each image (nil for an unconditional prior).
  public let labels: [Int]?
  /// The sampled grids of codes, image after image, each row-major.
  public let indices: [Int]
  /// The decoded images, `rows x columns`, in torchvision's `make_grid` layout.
  public let image: ImageGrid

  /// Samples `rows · columns` latent grids of `grid` codes and decodes them.
  /// - Parameters:
  ///   - fixedClass: the class of every image; nil gives a conditional prior's rows the classes in turn (row r shows
  ///     class r mod classes).
  ///   - seed: the generator's seed; the same seed gives the same picture.
  /// - Throws: `TrainingError` if the prior and the VQ-VAE disagree on K or the class is out of range.
  public init(
    prior: any Prior, vqvae: VQVAE, rows: Int, columns: Int, fixedClass: Int? = nil,
    options: SamplingOptions = SamplingOptions(), seed: UInt64, grid: (height: Int, width: Int)
  ) throws {
    let (height, width) = grid
    let classes = prior.classes
    try requireOneCodebook(prior: prior, vqvae: vqvae)
    try requireClass(fixedClass, of: prior)
    let count = rows * columns
    labels = classes > 0 ? (0..<count).map { fixedClass ?? ($0 / columns) % classes } : nil
    var rng = RandomGenerator(seed: seed)
    indices = try prior.sample(
      count: count, height: height, width: width, labels: labels, options: options, rng: &rng)
    let images = try vqvae.decode(indices: indices, batch: count, height: height, width: width)
    let (channels, imageHeight, imageWidth) = (images.shape[1], images.shape[2], images.shape[3])
    image = ImageGrid(
      images: images.data, count: count, channels: channels, height: imageHeight, width: imageWidth, nrow: columns)
  }
}

/// Refuses a prior and a VQ-VAE that disagree on K: the prior's codes would index another codebook.
/// - Throws: `TrainingError` saying which VQ-VAE to use.
func requireOneCodebook(prior: any Prior, vqvae: VQVAE) throws {
  guard prior.codes == vqvae.configuration.embeddings else {
    throw TrainingError(
      "the prior models \(prior.codes) codes but the VQ-VAE's codebook has "
        + "\(vqvae.configuration.embeddings); use the VQ-VAE whose latents the prior was trained on")
  }
}

/// Refuses a `--class` that the prior has no class for.
/// - Throws: `TrainingError` naming the flag.
func requireClass(_ fixedClass: Int?, of prior: any Prior) throws {
  guard let fixedClass else { return }
  guard prior.classes > 0 else { throw TrainingError("--class \(fixedClass): the prior is not class-conditional") }
  guard (0..<prior.classes).contains(fixedClass) else {
    throw TrainingError("--class must be in 0..<\(prior.classes) (the prior's classes), got \(fixedClass)")
  }
}
