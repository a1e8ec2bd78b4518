import Foundation

/// One line of the prior's `metrics.jsonl`: the averages over one log interval of training, or one evaluation of
/// the test split.
public struct PriorMetricsRecord: MetricsLine, Equatable {
  /// `"train"` or `"test"`.
  public var split: String
  /// Updates done when the line was written.
  public var update: Int
  /// The epoch the update belongs to (1 during the first pass over the training grids).
  public var epoch: Int
  /// Mean cross-entropy per latent, in nats.
  public var loss: Double
  /// The same in bits: the negative log-likelihood per latent.
  public var bitsPerLatent: Double { loss / log(2) }
  /// How often the most likely code is the right one.
  public var accuracy: Double
  /// Training speed over the interval (training lines only).
  public var updatesPerSecond: Double?

  public init(
    split: String, update: Int, epoch: Int, loss: Double, accuracy: Double, updatesPerSecond: Double? = nil
  ) {
    (self.split, self.update, self.epoch, self.loss, self.accuracy) = (split, update, epoch, loss, accuracy)
    self.updatesPerSecond = updatesPerSecond
  }

  public var fields: [String: ConfigValue] {
    var fields: [String: ConfigValue] = [
      "split": .string(split), "update": .integer(update), "epoch": .integer(epoch), "loss": .rounded(loss),
      "bits_per_latent": .rounded(bitsPerLatent), "accuracy": .rounded(accuracy),
    ]
    if let updatesPerSecond { fields["updates_per_s"] = .rounded(updatesPerSecond) }
    return fields
  }

  public init(fields: MetricsFields) throws {
    self.init(
      split: try fields.string("split"), update: try fields.integer("update"), epoch: try fields.integer("epoch"),
      loss: try fields.figure("loss"), accuracy: try fields.figure("accuracy"),
      updatesPerSecond: try fields.optionalFigure("updates_per_s"))
  }

  /// `update 120/3750 (epoch 1/2)  4.6312 bits/latent  accuracy 0.312  5.8 upd/s  ETA 10m06s`.
  func progressLine(total: Int, epochs: Int) -> String {
    String(
      format: "update %d/%d (epoch %d/%d)  %.4f bits/latent  accuracy %.3f", update, total, epoch, epochs,
      bitsPerLatent, accuracy) + ProgressReporter.speed(updatesPerSecond, remaining: total - update)
  }
}

/// The prior's likelihood of a set of grids, computed with gradients off.
public struct PriorEvaluation: Sendable {
  /// Grids per forward pass.
  public static let batchSize = 250
  /// Grids evaluated.
  public let grids: Int
  /// Mean cross-entropy per latent, in nats.
  public let loss: Double
  /// How often the most likely code is the right one.
  public let accuracy: Double
  /// The negative log-likelihood in bits per latent (log2 K for a uniform guess).
  public var bitsPerLatent: Double { loss / log(2) }

  /// Evaluates `model` on `split` (its first `maxBatches` batches, or all of it); the ranks of `group` take every
  /// `group.size`-th batch each and add up their sums.
  /// - Throws: `TensorError` if the grids or labels do not fit the model.
  public init(
    model: any Prior, split: LatentSplit, height: Int, width: Int, maxBatches: Int? = nil,
    group: ProcessGroup = .single
  ) throws {
    let size = height * width
    // A batch holds at least one grid, so more batches than grids change nothing (and cannot overflow).
    let count = min(split.count, Self.batchSize * min(maxBatches ?? split.count, split.count))
    // The loss sum and the hits.
    var sums = [0.0, 0.0]
    try withoutGrad {
      for (batch, start) in stride(from: 0, to: count, by: Self.batchSize).enumerated()
      where batch % group.size == group.rank {
        let n = min(Self.batchSize, count - start)
        let indices = Array(split.indices[(start * size)..<((start + n) * size)])
        let labels = split.labels.isEmpty ? nil : Array(split.labels[start..<(start + n)])
        let (loss, logits) = try model.loss(indices, batch: n, height: height, width: width, labels: labels)
        sums[0] += Double(loss.scalarValue) * Double(n * size)
        sums[1] += Double(topOneHits(channelMajorLogits: logits, targets: indices))
      }
    }
    group.sum(&sums)
    grids = count
    loss = sums[0] / Double(count * size)
    accuracy = sums[1] / Double(count * size)
  }

  /// The evaluation as a `metrics.jsonl` line of the test split.
  func record(update: Int, epoch: Int) -> PriorMetricsRecord {
    PriorMetricsRecord(split: "test", update: update, epoch: epoch, loss: loss, accuracy: accuracy)
  }
}

/// How many positions' most likely code (the argmax of `[K, positions...]` logits) is the target.
func topOneHits(channelMajorLogits logits: Tensor, targets: [Int]) -> Int {
  let (classes, positions) = (logits.shape[0], logits.count / logits.shape[0])
  var best = [Float](repeating: -.infinity, count: positions)
  var choice = [Int](repeating: 0, count: positions)
  logits.data.withUnsafeBufferPointer { x in
    for c in 0..<classes {
      let row = c * positions
      for p in 0..<positions where x[row + p] > best[p] { (best[p], choice[p]) = (x[row + p], c) }
    }
  }
  return zip(choice, targets).filter { $0 == $1 }.count
}
