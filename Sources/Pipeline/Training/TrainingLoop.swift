import Foundation

/// How a training run ended.
public enum TrainingOutcome<Summary: Sendable>: Sendable {
  /// All updates are done; the final checkpoint and `summary.json` are written.
  case completed(Summary)
  /// Stopped on request at `update`; `checkpoint` holds that state.
  case interrupted(update: Int, checkpoint: String?)
  /// All updates are done on a rank other than the leader, which wrote the run's files.
  case joined(update: Int)
}

/// When the loop logs, evaluates and saves.
public struct TrainingSchedule: Sendable {
  /// Updates in the whole run.
  public var updates: Int
  /// Updates per line of training metrics.
  public var logInterval: Int
  /// Updates between test evaluations; 0 evaluates only at the end.
  public var evalEvery: Int
  /// Test batches per intermediate evaluation; nil uses the whole split (the final evaluation always does).
  public var evalBatches: Int?
  /// Updates between numbered checkpoints; 0 saves only the final one (and the best).
  public var saveEvery: Int
  /// Write a TensorBoard event file (`tb/`) beside `metrics.jsonl`.
  public var tensorBoard: Bool
}

/// A model being trained, as `TrainingLoop` sees it: the VQ-VAE's `Trainer` and the prior's `PriorTrainer`. The
/// stage owns the model, its optimiser, the data order and the pictures; the loop owns the update count, the
/// schedule, the metrics, the checkpoints, the stop signal and the exchange between the ranks of its group (every
/// rank runs the stage on its share of each batch; only the leader's writes files).
public protocol TrainingStage: AnyObject {
  /// One line of the stage's `metrics.jsonl`.
  associatedtype Record: MetricsLine
  /// What `summary.json` holds.
  associatedtype Summary: Sendable

  /// The loop that trains it.
  var loop: TrainingLoop<Record> { get }
  /// The lines a command prints before training: data, model, run folder.
  var introduction: [String] { get }
  /// The lines a command prints after training: the figures first, then where the files are.
  func report(_ summary: Summary) -> [String]
  /// The model, whose weights must stay finite for a checkpoint to be written.
  var module: Module { get }
  /// Its optimiser.
  var optimizer: Adam { get }
  /// Images (or grids) per update, over all ranks.
  var batchSize: Int { get }
  /// Before the first update of a fresh run (a k-means codebook start, say); every rank runs it alike.
  func prepare() throws
  /// Draws the next batch and returns the mean loss of this rank's share of it (`loop.group.share(of:)`), with
  /// gradients recorded.
  func loss() throws -> Tensor
  /// The step's figures that the ranks add up beside the gradients (code counts, hits), means weighted by the
  /// rank's share of the batch.
  func stepSums() -> [Float]
  /// How many figures `stepSums` gives.
  var stepSumsCount: Int { get }
  /// After the optimiser's step, with the batch's mean `loss` and `sums` over all ranks: upkeep (the codebook's)
  /// and the interval's running sums.
  func finishStep(loss: Float, sums: [Float], seconds: Double)
  /// The running interval as a training line at `update` (and, with `reset`, a fresh interval after it).
  func intervalRecord(update: Int, reset: Bool) -> Record
  /// The progress line of a training line.
  func progressLine(_ record: Record) -> String
  /// Evaluates the test split, the ranks sharing its batches: its metrics line, the loss that picks the best
  /// checkpoint, and a message.
  func evaluate(update: Int, maxBatches: Int?) throws -> (record: Record, loss: Double, message: String)
  /// Redraws the pictures after an evaluation (reconstructions, loss curves); the leader's alone.
  func drawPictures(update: Int, records: [Record]) throws
  /// The run's settings as one JSON object (`config.json`), which TensorBoard shows as text.
  var configurationJSON: String { get }
  /// The whole training state as a checkpoint file.
  func checkpoint(update: Int, wallSeconds: Double) -> SafeTensors
  /// After the final checkpoint: `summary.json` and the stage's closing pictures; the leader's alone.
  func finish(
    update: Int, wallSeconds: Double, test: Record, records: [Record], checkpointPath: String
  ) throws -> Summary
}

extension TrainingStage {
  /// What a stage's introduction says of a run that `--resume` starts again.
  public var restartNote: String { " (it stopped before its first checkpoint: starting again from update 0)" }

  /// Updates done so far.
  public var update: Int { loop.update }

  /// Where the loop shows progress; nil trains silently.
  public var reporter: ProgressReporter? {
    get { loop.reporter }
    set { loop.reporter = newValue }
  }

  /// Bytes each rank all-reduces per update: the gradients, the loss and `stepSums`.
  public var bytesExchangedPerUpdate: Int {
    4 * GradientExchange.floatsPerUpdate(parameters: optimizer.parameters, sums: stepSumsCount)
  }

  /// Trains to the end of the schedule (see `TrainingLoop.run`).
  public func run(stopRequested: () -> Bool = { false }) throws -> TrainingOutcome<Summary> {
    try loop.run(self, stopRequested: stopRequested)
  }
}

/// The one training loop: stop signal, batches, loss, finite check, backward, step, log, evaluate, checkpoint
/// (numbered, best by test loss, final), resume and summary, for every model.
public final class TrainingLoop<Record: MetricsLine> {
  /// Updates done so far.
  public private(set) var update: Int
  /// Where to show progress; nil trains silently.
  public var reporter: ProgressReporter?
  /// The processes training the model together; `ProcessGroup.single` for this one alone.
  public let group: ProcessGroup
  /// `metrics.jsonl`; nil on a rank other than the leader.
  public let metrics: MetricsLog<Record>?
  /// The TensorBoard event file (`tb/`), unless the run turned it off; nil on a rank other than the leader.
  public let events: EventFile?
  private let exchange: GradientExchange
  let schedule: TrainingSchedule
  public let folder: OutputFolder
  /// The stage's command, which resumes this run (for messages).
  public let resumeCommand: String
  /// Wall time of the run's earlier sessions.
  let earlierWallSeconds: Double
  /// The newest checkpoint on disk, the state a NaN loss falls back to.
  private(set) var lastCheckpoint: (path: String, update: Int)?
  /// The lowest test loss seen, whose state is `checkpoints/best.safetensors`.
  private(set) var bestLoss: Double?

  /// A loop at the start of a run, or at `resumed`'s checkpoint (whose metrics lines after it are dropped), on
  /// `group`'s ranks; the leader opens the files.
  /// - Throws: `TrainingError` if `metrics.jsonl` cannot be written.
  public init(
    schedule: TrainingSchedule, folder: OutputFolder, resumeCommand: String, resumed: TrainingState? = nil,
    group: ProcessGroup = .single
  ) throws {
    (self.schedule, self.folder, self.resumeCommand, self.group) = (schedule, folder, resumeCommand, group)
    exchange = GradientExchange(group: group)
    update = resumed?.update ?? 0
    earlierWallSeconds = resumed?.wallSeconds ?? 0
    lastCheckpoint = resumed.map { ($0.path, $0.update) }
    bestLoss = try resumed.flatMap { _ in try TrainingState.bestLoss(in: folder) }
    guard group.isLeader else {
      (metrics, events) = (nil, nil)
      return
    }
    metrics = try MetricsLog(path: folder.metricsPath, keepingThrough: resumed?.update)
    do {
      events =
        schedule.tensorBoard
        ? try EventFile(folder: folder.tensorBoardPath, keepingThrough: resumed?.update) : nil
    } catch {
      throw TrainingError("\(error)")
    }
  }

  /// Logs a line of metrics: to `metrics.jsonl`, and each of its figures to TensorBoard as the scalar
  /// `<split>/<key>` at its update.
  private func log(_ record: Record) throws {
    guard let metrics else { return }
    try metrics.append(record)
    let scalars = record.fields.sorted { $0.key < $1.key }.compactMap { key, value -> (String, Double)? in
      guard key != "update" else { return nil }
      switch value {
      case .integer(let number): return ("\(record.split)/\(key)", Double(number))
      case .number(let number) where number.isFinite: return ("\(record.split)/\(key)", number)
      default: return nil
      }
    }
    do { try events?.scalars(scalars, step: record.update) } catch { throw TrainingError("\(error)") }
  }

  /// Shows the PNG at `path`, just drawn, in TensorBoard's images as `tag` at the current update.
  /// - Throws: `FileError` if the picture cannot be read back or the event file cannot be written.
  public func logPicture(tag: String, path: String) throws {
    guard let events else { return }
    let (width, height, channels) = try readPNGHeader(path: path)
    try events.image(
      tag: tag, png: try FileIO.read(path), width: width, height: height, channels: channels, step: update)
  }

  /// Trains `stage` to `schedule.updates`, then evaluates the whole test split, writes the final checkpoint and
  /// lets the stage write its summary. Every rank of `group` runs it in step: the leader's weights are broadcast
  /// at the start (and after `prepare`), each update all-reduces the gradients once, and all ranks stop together.
  /// - Parameter stopRequested: polled before every update; when it returns true (on any rank), the state is saved
  ///   as `<model>-<update>.safetensors` and the run returns `.interrupted`.
  /// - Throws: `TrainingError` if the loss or the weights stop being finite (the update is named; no checkpoint is
  ///   written after the last good one) or a file cannot be written.
  public func run<Stage: TrainingStage>(
    _ stage: Stage, stopRequested: () -> Bool = { false }
  ) throws -> TrainingOutcome<Stage.Summary> where Stage.Record == Record {
    let sessionStart = now()
    func wallSeconds() -> Double { earlierWallSeconds + now() - sessionStart }
    let total = schedule.updates
    guard stage.batchSize >= group.size else {
      throw TrainingError(
        "batch_size \(stage.batchSize) is smaller than the \(group.size) processes sharing each batch; use at least "
          + "one image per process")
    }
    let parameters = stage.module.parameters
    exchange.broadcast(parameters: parameters)
    // A run resumed from a checkpoint, even one saved at update 0 (Ctrl-C during setup), was prepared before it
    // (and its event file holds its settings).
    if lastCheckpoint == nil {
      try stage.prepare()
      exchange.broadcast(parameters: parameters)
      do {
        // Pretty-printed, one setting a line, as TensorBoard's text tab shows it.
        let settings = try JSONSerialization.jsonObject(with: Data(stage.configurationJSON.utf8))
        let pretty = try JSONSerialization.data(
          withJSONObject: settings, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try events?.text(
          tag: "settings", markdown: "```json\n\(String(decoding: pretty, as: UTF8.self))\n```", step: update)
      } catch {
        throw TrainingError("\(error)")
      }
    }

    let weight = Float(group.share(of: stage.batchSize).count) / Float(stage.batchSize)
    var spent = TimeSplit(start: sessionStart, firstUpdate: update)
    while update < total {
      if group.any(stopRequested()) {
        if lastCheckpoint?.update != update {
          try save(stage, to: folder.checkpointPath(update: update), wallSeconds())
        }
        return .interrupted(update: update, checkpoint: lastCheckpoint?.path)
      }
      let stepStart = now()
      stage.optimizer.zeroGrad()
      let localLoss = try stage.loss()
      try localLoss.backward()
      var sums = stage.stepSums()
      let loss = exchange.exchange(
        parameters: stage.optimizer.parameters, weight: weight, loss: localLoss.scalarValue, sums: &sums)
      guard loss.isFinite else {
        throw divergence("update \(update + 1): the loss is \(loss), not a finite number")
      }
      stage.optimizer.update()
      stage.finishStep(loss: loss, sums: sums, seconds: now() - stepStart)
      update += 1
      spent.updates += now() - stepStart

      let logged = update % schedule.logInterval == 0 || update == total
      let record = stage.intervalRecord(update: update, reset: logged)
      reporter?.status(stage.progressLine(record), final: update == total)
      if logged {
        try log(record)
        reporter?.logged(stage.progressLine(record))
      }
      if schedule.evalEvery > 0 && update % schedule.evalEvery == 0 && update < total {
        let (_, loss) = try spent.time(\.evaluations) { try evaluate(stage, maxBatches: schedule.evalBatches) }
        spent.time(\.pictures) { drawPictures(stage) }
        try spent.time(\.checkpoints) { try keepIfBest(stage, loss: loss, wallSeconds: wallSeconds()) }
      }
      if schedule.saveEvery > 0 && update % schedule.saveEvery == 0 && update < total {
        try spent.time(\.checkpoints) { try save(stage, to: folder.checkpointPath(update: update), wallSeconds()) }
      }
    }

    // The weights are saved before any picture is drawn, so that a picture that cannot be written loses nothing.
    let (test, loss) = try spent.time(\.evaluations) { try evaluate(stage, maxBatches: nil) }
    let finalPath = folder.checkpointPath(update: nil)
    try spent.time(\.checkpoints) {
      try save(stage, to: finalPath, wallSeconds())
      try keepIfBest(stage, loss: loss, wallSeconds: wallSeconds())
    }
    guard let metrics else { return .joined(update: update) }
    let summary = try spent.time(\.pictures) {
      drawPictures(stage)
      return try stage.finish(
        update: update, wallSeconds: wallSeconds(), test: test, records: metrics.records, checkpointPath: finalPath)
    }
    reporter?.message(spent.line(through: update, end: now()))
    return .completed(summary)
  }

  /// Redraws the stage's pictures. They show the run but are not its state: one that cannot be written (a full
  /// disk, say) is a warning, and training goes on.
  private func drawPictures<Stage: TrainingStage>(_ stage: Stage) where Stage.Record == Record {
    guard let metrics else { return }
    do { try stage.drawPictures(update: update, records: metrics.records) } catch {
      reporter?.message("warning: the pictures of update \(update) were not drawn: \(error)")
    }
  }

  /// Evaluates the test split (its first `maxBatches` batches, or all of it) and logs it.
  private func evaluate<Stage: TrainingStage>(
    _ stage: Stage, maxBatches: Int?
  ) throws -> (record: Record, loss: Double) where Stage.Record == Record {
    let (record, loss, message) = try stage.evaluate(update: update, maxBatches: maxBatches)
    try log(record)
    reporter?.message(message)
    return (record, loss)
  }

  /// Writes `checkpoints/best.safetensors` when `loss` is the lowest test loss so far.
  private func keepIfBest<Stage: TrainingStage>(_ stage: Stage, loss: Double, wallSeconds: Double) throws {
    guard loss.isFinite, loss < bestLoss ?? .infinity else { return }
    try write(stage, to: folder.bestCheckpointPath, wallSeconds, testLoss: loss)
    bestLoss = loss
  }

  private func save<Stage: TrainingStage>(_ stage: Stage, to path: String, _ wallSeconds: Double) throws {
    try write(stage, to: path, wallSeconds, testLoss: nil)
    lastCheckpoint = (path, update)
  }

  private func write<Stage: TrainingStage>(
    _ stage: Stage, to path: String, _ wallSeconds: Double, testLoss: Double?
  ) throws {
    // A finite loss can still come with a NaN gradient; never let such weights replace a good checkpoint.
    guard stage.module.parameters.allSatisfy({ $0.data.allSatisfy(\.isFinite) }) else {
      throw divergence("update \(update): the weights are no longer finite numbers")
    }
    guard group.isLeader else { return }
    var file = stage.checkpoint(update: update, wallSeconds: wallSeconds)
    file.metadata["test_loss"] = testLoss.map { "\($0)" }
    do { try file.write(to: path) } catch { throw TrainingError("cannot save the checkpoint: \(error)") }
  }

  /// The error for a run whose numbers stopped being finite (`what` says where), pointing at the last good checkpoint.
  private func divergence(_ what: String) -> TrainingError {
    let fallback =
      lastCheckpoint.map {
        "The last good checkpoint, \($0.path) (update \($0.update)), is kept; resume from it with \(resumeCommand) "
          + "--resume \(folder.path) and a lower --learning-rate."
      } ?? "No checkpoint was saved before it; start again with a lower --learning-rate."
    return TrainingError("\(what); training stopped. \(fallback)")
  }

}

/// Seconds on the monotonic clock.
private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

/// Where a session's wall time went: the updates against the evaluations, checkpoints and pictures around them,
/// which a benchmark of one step leaves out.
private struct TimeSplit {
  let start: Double
  /// The update the session started at (0, or a resumed run's).
  let firstUpdate: Int
  var updates = 0.0
  var evaluations = 0.0
  var checkpoints = 0.0
  /// The pictures, and the summary with the closing ones.
  var pictures = 0.0

  init(start: Double, firstUpdate: Int) { (self.start, self.firstUpdate) = (start, firstUpdate) }

  /// Runs `body`, adding its wall time to `part`.
  mutating func time<R>(_ part: WritableKeyPath<TimeSplit, Double>, _ body: () throws -> R) rethrows -> R {
    let begin = now()
    defer { self[keyPath: part] += now() - begin }
    return try body()
  }

  /// `time: 5000 updates 4m32s (54.4 ms each), test evaluations 8.1 s, checkpoints 0.2 s, pictures 0.4 s, the rest
  /// 1.3 s (start, logging)`.
  func line(through update: Int, end: Double) -> String {
    let count = update - firstUpdate
    let rest = end - start - updates - evaluations - checkpoints - pictures
    return String(
      format: "time: %d updates %@ (%.1f ms each), test evaluations %.1f s, checkpoints %.1f s, pictures %.1f s, "
        + "the rest %.1f s (start, logging)", count, ProgressReporter.duration(updates),
      1000 * updates / Double(max(count, 1)), evaluations, checkpoints, pictures, rest)
  }
}
