import Foundation

/// What a stage will allocate, from the sizes of its models and batches, checked against `MemoryBudget` before
/// anything is allocated or created: a size from a flag, a config file, a checkpoint or `latents.json` that cannot
/// fit is refused with the estimate and the limit, and no run folder is left half-made.
public struct MemoryEstimate: Sendable {
  /// Each part, in bytes.
  public private(set) var items: [(what: String, bytes: Double)] = []

  public init() {}

  /// The whole estimate, in bytes.
  public var total: Double { items.reduce(0) { $0 + $1.bytes } }

  /// Adds `bytes` for `what`.
  public mutating func add(_ what: String, bytes: Double) { items.append((what, bytes)) }

  /// Adds the weights of a model of `footprint`; when `training`, with their gradients and Adam's moments (amsgrad's
  /// maximum too).
  public mutating func addWeights(_ footprint: Footprint, training: Bool) {
    for part in footprint.parameters {
      if training {
        add("\(part.what) with gradients and Adam's moments", bytes: 5 * 4 * part.floats)
      } else {
        add(part.what, bytes: 4 * part.floats)
      }
    }
  }

  /// Adds the activations of `batch` items at once through a model of `footprint` (`batchName` says which setting
  /// sets it); run forward only, about half of what training keeps for its backward pass.
  public mutating func addBatch(_ footprint: Footprint, of batch: Int, _ batchName: String, training: Bool) {
    add(
      "the activations of a batch (\(batchName) \(batch))",
      bytes: (training ? 4 : 2) * footprint.activationsPerItem * Double(batch))
  }

  /// Refuses training a model of `footprint` on batches of `batch` (`batchName` says which setting) when its weights,
  /// gradients, Adam's moments and a batch's activations will not fit in memory.
  /// - Throws: `TrainingError` naming `stage`, as `check` does.
  public static func checkTraining(_ stage: String, _ footprint: Footprint, batch: Int, batchName: String) throws {
    var memory = MemoryEstimate()
    memory.addWeights(footprint, training: true)
    memory.addBatch(footprint, of: batch, batchName, training: true)
    try memory.check(stage)
  }

  /// Refuses building a model of `footprint` for inference when its weights alone will not fit in memory.
  /// - Throws: `TrainingError` naming `what`, as `check` does.
  public static func checkWeights(_ what: String, _ footprint: Footprint) throws {
    var memory = MemoryEstimate()
    memory.addWeights(footprint, training: false)
    try memory.check(what)
  }

  /// Refuses a stage that will not fit in memory.
  /// - Throws: `TrainingError("<stage> needs about 4.0 TiB of memory, 4.0 TiB of it for <the largest part>; this
  ///   machine has 24 GiB")`.
  public func check(_ stage: String) throws {
    guard total > MemoryBudget.bytes, let largest = items.max(by: { $0.bytes < $1.bytes }) else {
      return
    }
    throw TrainingError(
      "\(stage) needs about \(MemoryBudget.format(total)) of memory, \(MemoryBudget.format(largest.bytes)) of it for "
        + "\(largest.what); \(MemoryBudget.describedLimit)")
  }
}
