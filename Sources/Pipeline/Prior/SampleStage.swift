import Foundation

/// The fourth stage: a trained prior and the VQ-VAE that decodes its codes, found from what the user names.
public struct SampleStage {
  /// The prior's checkpoint file and its contents.
  public let priorPath: String
  public let prior: PriorCheckpoint
  /// Why the prior is not a final checkpoint (an interrupted run's latest), when it is not.
  public let priorNote: String?
  /// The VQ-VAE's checkpoint file, its run folder and its model.
  public let vqvaePath: String
  public let run: RunFolder
  public let vqvaeCheckpoint: TrainingCheckpoint
  public let vqvae: VQVAE

  /// Finds the prior (a prior folder, a run folder with `prior/`, a checkpoint file, or the newest run's) and the
  /// VQ-VAE (the one named, else the one whose latents the prior learnt from, else the newest run's).
  /// - Throws: `TrainingError` naming the folder or file that holds no usable checkpoint.
  public init(vqvae vqvaeTarget: String?, prior priorTarget: String?) throws {
    (priorPath, priorNote) = try PriorFolder.finalCheckpoint(priorTarget)
    prior = try PriorCheckpoint(contentsOf: priorPath)
    let recorded = prior.vqvaeCheckpoint.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
    (run, vqvaePath) = try RunFolder.finalCheckpoint(vqvaeTarget ?? recorded)
    vqvaeCheckpoint = try TrainingCheckpoint(contentsOf: vqvaePath)
    vqvae = try vqvaeCheckpoint.model()
  }

  /// Refuses `stage` when sampling and decoding `grids` grids at once (`batchName` says which flag sets them) will not
  /// fit in memory.
  /// - Throws: `TrainingError` naming `stage` and the flag.
  public func checkMemory(_ stage: String, grids: Int, batchName: String) throws {
    let (height, width) = prior.grid
    let shift = vqvae.configuration.downsamples
    var memory = MemoryEstimate()
    let priorFootprint = try Priors.footprint(
      kind: prior.kind, architecture: prior.architecture, height: height, width: width)
    memory.addBatch(priorFootprint, of: grids, batchName, training: false)
    memory.addBatch(
      vqvae.configuration.footprint(height: height << shift, width: width << shift), of: grids, batchName,
      training: false)
    try memory.check(stage)
  }

  /// `rows x columns` decoded samples of the prior's latent grid (see `SampleGrid`), and the seconds they took.
  public func sample(
    rows: Int, columns: Int, fixedClass: Int?, options: SamplingOptions, seed: UInt64
  ) throws -> (grid: SampleGrid, seconds: Double) {
    let count = rows * columns
    try checkMemory("sample", grids: count, batchName: "--grid \(rows)x\(columns)")
    let start = DispatchTime.now().uptimeNanoseconds
    let grid = try SampleGrid(
      prior: try prior.model(), vqvae: vqvae, rows: rows, columns: columns, fixedClass: fixedClass, options: options,
      seed: seed, grid: prior.grid)
    return (grid, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
  }
}
