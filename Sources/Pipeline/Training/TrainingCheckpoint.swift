import Foundation

/// A run's whole state at one update, as one safetensors file.
///
/// Model weights under the model's PyTorch-style names (`encoder.conv_stack.0.weight` ...), beside them Adam's
/// moments (`optimizer.<param>.exp_avg`, `.exp_avg_sq`, `.max_exp_avg_sq`, each in its parameter's shape) and step
/// (`optimizer.step`), the generator's four state words (`rng.state`, UInt64 bit patterns as I64) and the data order
/// (`data.order`, `data.position`, `data.epoch`). `__metadata__` holds the configuration as a JSON string (`config`),
/// the `update` and the run's `wall_seconds` so far. Restoring all of it continues a run bit for bit.
public struct TrainingCheckpoint: Sendable {
  /// The file this was read from.
  public let path: String
  /// Updates done when it was saved.
  public let update: Int
  /// The run's configuration at that point (with `in_channels`).
  public let configuration: TrainingConfiguration
  /// Training wall time of the run up to this checkpoint, over all its sessions.
  public let wallSeconds: Double
  private let file: SafeTensors

  /// Writes a checkpoint atomically (temporary file, then rename), so a crash never leaves half a file.
  /// - Parameter configurationJSON: the run's configuration as one JSON object (`config.json`'s content).
  public static func write(
    to path: String, update: Int, model: VQVAE, optimizer: Adam, sampler: BatchSampler,
    codebookRNG: RandomGenerator, configurationJSON: String, wallSeconds: Double
  ) throws {
    var file = SafeTensors(metadata: [
      "config": configurationJSON, "update": "\(update)", "wall_seconds": "\(wallSeconds)",
    ])
    for (name, tensor) in model.namedParameters { file.add(name, floats: tensor.data, shape: tensor.shape) }
    let shapes = Dictionary(uniqueKeysWithValues: optimizer.parameters.map { ($0.name, $0.tensor.shape) })
    let state = optimizer.state
    for (name, values) in state.moments {
      // "<param>.exp_avg": the parameter's name is everything before the last dot.
      let parameter = String(name[..<(name.lastIndex(of: ".") ?? name.endIndex)])
      file.add("optimizer.\(name)", floats: values, shape: shapes[parameter] ?? [values.count])
    }
    file.add("optimizer.step", int64s: [Int64(state.step)], shape: [])
    for buffer in model.quantizer.namedBuffers {
      file.add("vector_quantization.\(buffer.name)", floats: buffer.values, shape: buffer.shape)
    }
    file.add("rng.state", int64s: sampler.rng.state.map { Int64(bitPattern: $0) }, shape: [4])
    file.add("rng.codebook_state", int64s: codebookRNG.state.map { Int64(bitPattern: $0) }, shape: [4])
    file.add("data.order", int64s: sampler.order.map { Int64($0) }, shape: [sampler.order.count])
    file.add("data.position", int64s: [Int64(sampler.position)], shape: [])
    file.add("data.epoch", int64s: [Int64(sampler.epoch)], shape: [])
    do { try file.write(to: path) } catch { throw TrainingError("cannot save the checkpoint: \(error)") }
  }

  /// Reads a checkpoint written by `write`.
  /// - Throws: `TrainingError` naming the file if it is unreadable or lacks the metadata.
  public init(contentsOf path: String) throws {
    do {
      file = try SafeTensors.read(contentsOf: path)
    } catch {
      throw TrainingError("cannot read the checkpoint: \(error)")
    }
    guard let json = file.metadata["config"], let update = file.metadata["update"].flatMap({ Int($0) }) else {
      throw TrainingError("\(path): not a vqvae-train checkpoint (its __metadata__ lacks config or update)")
    }
    var configuration = TrainingConfiguration()
    try configuration.apply(json: Data(json.utf8), source: "\(path) (__metadata__ config)")
    self.path = path
    self.update = update
    self.configuration = configuration
    wallSeconds = file.metadata["wall_seconds"].flatMap { Double($0) } ?? 0
  }

  /// Loads the weights into `model` and the moments and step into `optimizer` (both built from `configuration`).
  /// - Throws: `TrainingError` naming the file and the first missing or mis-shaped tensor.
  public func restore(model: VQVAE, optimizer: Adam) throws {
    try loadWeights(into: model)
    do {
      var buffers: [String: [Float]] = [:]
      for name in ["cluster_size", "embed_avg"] where file.entry("vector_quantization.\(name)") != nil {
        buffers[name] = try file.floats("vector_quantization.\(name)")
      }
      try model.quantizer.restoreBuffers(buffers)
      var moments: [String: [Float]] = [:]
      for name in file.names where name.hasPrefix("optimizer.") && name != "optimizer.step" {
        moments[String(name.dropFirst("optimizer.".count))] = try file.floats(name)
      }
      try optimizer.restore(step: Int(try scalar("optimizer.step")), moments: moments)
    } catch {
      throw TrainingError("\(path): \(error)")
    }
  }

  /// A model of the checkpoint's architecture with its weights, for encoding, decoding and sampling.
  /// - Throws: `TrainingError` naming the file and the first missing or mis-shaped tensor.
  public func model() throws -> VQVAE {
    var rng = RandomGenerator(seed: 0)
    let model = VQVAE(configuration.model, rng: &rng)
    try loadWeights(into: model)
    return model
  }

  private func loadWeights(into model: Module) throws {
    do {
      try model.load(from: file)
    } catch {
      throw TrainingError("\(path): \(error)")
    }
  }

  /// The data order and generator as they were, for a training split of `count` images.
  /// - Throws: `TrainingError` if they are missing or do not fit `count` (another dataset or train_limit).
  public func sampler(count: Int) throws -> BatchSampler {
    do {
      let rng = try RandomGenerator(state: file.int64s("rng.state").map { UInt64(bitPattern: $0) })
      return try BatchSampler(
        count: count, epoch: Int(try scalar("data.epoch")), order: try file.int64s("data.order").map { Int($0) },
        position: Int(try scalar("data.position")), rng: rng)
    } catch {
      throw TrainingError("\(path): \(error)")
    }
  }

  /// The codebook's generator as it was; nil for checkpoints written before it was saved.
  public func codebookGenerator() throws -> RandomGenerator? {
    guard file.entry("rng.codebook_state") != nil else { return nil }
    do {
      return try RandomGenerator(state: file.int64s("rng.codebook_state").map { UInt64(bitPattern: $0) })
    } catch {
      throw TrainingError("\(path): \(error)")
    }
  }

  private func scalar(_ name: String) throws -> Int64 {
    let values = try file.int64s(name)
    guard values.count == 1 else { throw TrainingError("'\(name)' holds \(values.count) values, expected 1") }
    return values[0]
  }
}
