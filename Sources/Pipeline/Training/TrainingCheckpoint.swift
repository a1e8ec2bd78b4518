import Foundation

/// A VQ-VAE run's whole state at one update: the shared `TrainingState` (weights, Adam, data order, update, wall
/// time), the EMA codebook's statistics (`vector_quantization.cluster_size`, `.embed_avg`), the codebook upkeep's
/// generator (`rng.codebook_state`) and the configuration as a JSON string (`config` in `__metadata__`).
public struct TrainingCheckpoint: Sendable {
  /// What every checkpoint holds.
  public let state: TrainingState
  /// The run's configuration at that point (with `in_channels`).
  public let configuration: TrainingConfiguration
  /// The file this was read from.
  public var path: String { state.path }
  /// Updates done when it was saved.
  public var update: Int { state.update }
  /// Training wall time of the run up to this checkpoint, over all its sessions.
  public var wallSeconds: Double { state.wallSeconds }

  /// The checkpoint file of a run's state.
  /// - Parameter configurationJSON: the run's configuration as one JSON object (`config.json`'s content).
  static func file(
    update: Int, model: VQVAE, optimizer: Adam, sampler: BatchSampler, codebookRNG: RandomGenerator,
    configurationJSON: String, wallSeconds: Double
  ) -> SafeTensors {
    var file = TrainingState.file(
      module: model, optimizer: optimizer, sampler: sampler, update: update, wallSeconds: wallSeconds,
      metadata: ["config": configurationJSON])
    for buffer in model.quantizer.namedBuffers {
      file.add("vector_quantization.\(buffer.name)", floats: buffer.values, shape: buffer.shape)
    }
    file.add("rng.codebook_state", int64s: codebookRNG.state.map { Int64(bitPattern: $0) }, shape: [4])
    return file
  }

  /// Reads a checkpoint written by a vqvae-train run.
  /// - Throws: `TrainingError` naming the file if it is unreadable or lacks the metadata.
  public init(contentsOf path: String) throws {
    try self.init(state: TrainingState(contentsOf: path, kind: "vqvae-train"))
  }

  /// The VQ-VAE checkpoint of a state read by `TrainingState`.
  /// - Throws: `TrainingError` naming the file if it lacks the configuration or a recorded setting is out of range.
  public init(state: TrainingState) throws {
    guard let json = state.file.metadata["config"] else {
      throw TrainingError("\(state.path): not a vqvae-train checkpoint (its __metadata__ lacks config)")
    }
    var configuration = TrainingConfiguration()
    try configuration.apply(json: Data(json.utf8), source: "\(state.path) (__metadata__ config)")
    // Sizes from a file are checked before any model is built from them.
    try configuration.validate()
    do { try configuration.model.validate() } catch {
      throw TrainingError("\(state.path) (__metadata__ config): \(error)")
    }
    (self.state, self.configuration) = (state, configuration)
  }

  /// Loads the weights and codebook statistics into `model` and the moments and step into `optimizer` (both built
  /// from `configuration`).
  /// - Throws: `TrainingError` naming the file and the first missing or mis-shaped tensor.
  public func restore(model: VQVAE, optimizer: Adam) throws {
    try state.restore(module: model, optimizer: optimizer)
    do {
      var buffers: [String: [Float]] = [:]
      for name in ["cluster_size", "embed_avg"] where state.file.entry("vector_quantization.\(name)") != nil {
        buffers[name] = try state.file.floats("vector_quantization.\(name)")
      }
      try model.quantizer.restoreBuffers(buffers)
    } catch {
      throw TrainingError("\(path): \(error)")
    }
  }

  /// A model of the checkpoint's architecture with its weights, for encoding, decoding and sampling.
  /// - Throws: `TrainingError` naming the file and the first missing or mis-shaped tensor, or a model too large for
  ///   memory.
  public func model() throws -> VQVAE {
    try MemoryEstimate.checkWeights(
      "\(path) (__metadata__ config): the model", configuration.model.footprint(height: 0, width: 0))
    var rng = RandomGenerator(seed: 0)
    let model = VQVAE(configuration.model, rng: &rng)
    try state.loadWeights(into: model)
    return model
  }

  /// The data order and generator as they were, for a training split of `count` images.
  /// - Throws: `TrainingError` if they are missing or do not fit `count` (another dataset or train_limit).
  public func sampler(count: Int) throws -> BatchSampler { try state.sampler(count: count) }

  /// The codebook's generator as it was; nil for checkpoints written before it was saved.
  public func codebookGenerator() throws -> RandomGenerator? {
    state.file.entry("rng.codebook_state") == nil ? nil : try state.generator("rng.codebook_state")
  }
}
