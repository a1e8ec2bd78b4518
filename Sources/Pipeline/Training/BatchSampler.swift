/// Training batches as shuffled epochs without replacement: each epoch is a fresh permutation from the run's seeded
/// generator. Batches run on across an epoch's end, so every batch has the same size even when the epoch is not a
/// multiple of it. Its whole state (order, position, generator) goes into checkpoints, so a resumed run draws the
/// same batches as an uninterrupted one.
public struct BatchSampler: Sendable {
  /// The number of images sampled from.
  public let count: Int
  /// Epochs started so far (1 during the first epoch, 0 before any batch).
  public private(set) var epoch = 0
  /// The current epoch's permutation (empty before the first batch).
  public private(set) var order: [Int] = []
  /// How many images of `order` have been handed out.
  public private(set) var position = 0
  /// The generator that draws the permutations.
  public private(set) var rng: RandomGenerator

  /// A sampler at the start of its first epoch.
  public init(count: Int, rng: RandomGenerator) {
    precondition(count > 0, "BatchSampler: need at least one image")
    self.count = count
    self.rng = rng
  }

  /// A sampler restored from a saved state.
  /// - Throws: `TrainingError` if the state does not describe a permutation of `0..<count` and a position in it.
  public init(count: Int, epoch: Int, order: [Int], position: Int, rng: RandomGenerator) throws {
    guard order.isEmpty || order.count == count else {
      throw TrainingError(
        "the saved data order covers \(order.count) images but the training split has \(count); resume with the "
          + "same dataset and train_limit")
    }
    var seen = [Bool](repeating: false, count: order.count)
    for index in order {
      guard index >= 0 && index < count && !seen[index] else {
        throw TrainingError("the saved data order is not a permutation of 0..<\(count)")
      }
      seen[index] = true
    }
    guard epoch >= 0, position >= 0, position <= order.count else {
      throw TrainingError("the saved data position \(position) (epoch \(epoch)) is out of range")
    }
    (self.count, self.epoch, self.order, self.position, self.rng) = (count, epoch, order, position, rng)
  }

  /// Fills `indices` (all of it) with the next images' indices, starting a new epoch when the current one runs out.
  public mutating func next(into indices: inout [Int]) {
    for slot in indices.indices {
      if position == order.count {
        order = rng.permutation(count)
        position = 0
        epoch += 1
      }
      indices[slot] = order[position]
      position += 1
    }
  }
}
