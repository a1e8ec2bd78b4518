import Foundation

/// What every checkpoint of a training run holds, whatever the model, as one safetensors file:
///
/// the weights under the model's PyTorch-style names, Adam's moments (`optimizer.<param>.exp_avg`, `.exp_avg_sq`,
/// `.max_exp_avg_sq`, each in its parameter's shape) and step (`optimizer.step`), the data order's generator
/// (`rng.state`, its four state words as I64 bit patterns) and position (`data.order`, `data.position`,
/// `data.epoch`), and in `__metadata__` the `update` and the run's `wall_seconds` so far (and `test_loss` in
/// `best.safetensors`). A stage adds its own tensors and metadata. Restoring all of it continues a run bit for bit.
public struct TrainingState: Sendable {
  /// The file this was read from.
  public let path: String
  /// Updates done when it was saved.
  public let update: Int
  /// Training wall time of the run up to this checkpoint, over all its sessions.
  public let wallSeconds: Double
  /// The file's tensors and metadata.
  public let file: SafeTensors

  /// The shared part of a checkpoint; the caller adds its own tensors and metadata.
  static func file(
    module: Module, optimizer: Adam, sampler: BatchSampler, update: Int, wallSeconds: Double,
    metadata: [String: String]
  ) -> SafeTensors {
    var file = SafeTensors(
      metadata: metadata.merging(["update": "\(update)", "wall_seconds": "\(wallSeconds)"]) { $1 })
    for (name, tensor) in module.namedParameters { file.add(name, floats: tensor.data, shape: tensor.shape) }
    let shapes = Dictionary(uniqueKeysWithValues: optimizer.parameters.map { ($0.name, $0.tensor.shape) })
    let state = optimizer.state
    for (name, values) in state.moments {
      // "<param>.exp_avg": the parameter's name is everything before the last dot.
      let parameter = String(name[..<(name.lastIndex(of: ".") ?? name.endIndex)])
      file.add("optimizer.\(name)", floats: values, shape: shapes[parameter] ?? [values.count])
    }
    file.add("optimizer.step", int64s: [Int64(state.step)], shape: [])
    file.add("rng.state", int64s: sampler.rng.state.map { Int64(bitPattern: $0) }, shape: [4])
    file.add("data.order", int64s: sampler.order.map { Int64($0) }, shape: [sampler.order.count])
    file.add("data.position", int64s: [Int64(sampler.position)], shape: [])
    file.add("data.epoch", int64s: [Int64(sampler.epoch)], shape: [])
    return file
  }

  /// Reads a checkpoint's file and its `update`.
  /// - Throws: `TrainingError` naming the file if it is unreadable or has no `update`.
  public init(contentsOf path: String, kind: String) throws {
    do {
      file = try SafeTensors.read(contentsOf: path)
    } catch {
      throw TrainingError("cannot read the checkpoint: \(error)")
    }
    guard let update = file.metadata["update"].flatMap({ Int($0) }), update >= 0 else {
      throw TrainingError("\(path): not a \(kind) checkpoint (its __metadata__ lacks a valid update)")
    }
    (self.path, self.update) = (path, update)
    // A duration, or none (0) when the file holds no usable one.
    wallSeconds =
      file.metadata["wall_seconds"].flatMap { Double($0) }.flatMap { $0.isFinite && $0 >= 0 ? $0 : nil } ?? 0
  }

  /// Loads the weights into `module`.
  /// - Throws: `TrainingError` naming the file and the first missing or mis-shaped tensor.
  public func loadWeights(into module: Module) throws {
    do { try module.load(from: file) } catch { throw TrainingError("\(path): \(error)") }
  }

  /// Loads the weights into `module` and the moments and step into `optimizer`.
  /// - Throws: `TrainingError` naming the file and the first missing or mis-shaped tensor.
  public func restore(module: Module, optimizer: Adam) throws {
    try loadWeights(into: module)
    do {
      var moments: [String: [Float]] = [:]
      for name in file.names where name.hasPrefix("optimizer.") && name != "optimizer.step" {
        moments[String(name.dropFirst("optimizer.".count))] = try file.floats(name)
      }
      try optimizer.restore(step: Int(try scalar("optimizer.step")), moments: moments)
    } catch {
      throw TrainingError("\(path): \(error)")
    }
  }

  /// The data order and its generator as they were, for a training split of `count` items.
  /// - Throws: `TrainingError` if they are missing or do not fit `count` (another dataset or train_limit).
  public func sampler(count: Int) throws -> BatchSampler {
    do {
      return try BatchSampler(
        count: count, epoch: Int(try scalar("data.epoch")), order: try file.int64s("data.order").map { Int($0) },
        position: Int(try scalar("data.position")), rng: try generator("rng.state"))
    } catch {
      throw TrainingError("\(path): \(error)")
    }
  }

  /// The generator whose four state words are the tensor `name`.
  public func generator(_ name: String) throws -> RandomGenerator {
    do {
      return try RandomGenerator(state: file.int64s(name).map { UInt64(bitPattern: $0) })
    } catch {
      throw TrainingError("\(path): \(error)")
    }
  }

  private func scalar(_ name: String) throws -> Int64 {
    let values = try file.int64s(name)
    guard values.count == 1 else { throw TrainingError("'\(name)' holds \(values.count) values, expected 1") }
    return values[0]
  }

  /// The test loss recorded in `folder`'s `best.safetensors`; nil when there is none.
  static func bestLoss(in folder: OutputFolder) throws -> Double? {
    guard FileManager.default.fileExists(atPath: folder.bestCheckpointPath) else { return nil }
    let best = try TrainingState(contentsOf: folder.bestCheckpointPath, kind: folder.checkpointName)
    return best.file.metadata["test_loss"].flatMap { Double($0) }
  }
}

extension OutputFolder {
  /// The checkpoint with the most updates: the numbered `<name>-<update>.safetensors` tell by their name, the
  /// final `<name>.safetensors` is opened to tell; nil when the run stopped before its first checkpoint.
  /// - Throws: `TrainingError` naming a checkpoint that cannot be read.
  public func latestCheckpoint() throws -> TrainingState? {
    let prefix = checkpointName + "-"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsPath)) ?? []
    let numbered = entries.compactMap { name -> Int? in
      guard name.hasPrefix(prefix) && name.hasSuffix(".safetensors") else { return nil }
      return Int(name.dropFirst(prefix.count).dropLast(".safetensors".count))
    }
    var latest = try numbered.max().map {
      try TrainingState(contentsOf: checkpointPath(update: $0), kind: checkpointName)
    }
    if entries.contains("\(checkpointName).safetensors") {
      let final = try TrainingState(contentsOf: checkpointPath(update: nil), kind: checkpointName)
      if final.update >= latest?.update ?? 0 { latest = final }
    }
    return latest
  }
}
