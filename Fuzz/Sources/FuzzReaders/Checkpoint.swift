import Foundation
import Pipeline

extension Readers {
  /// `safetensors`: the input is a safetensors file. `SafeTensors(bytes:source:)` parses it and every tensor is
  /// read back; one that has an `update` in its `__metadata__` is then read as a checkpoint, as far as it goes
  /// without building a model: `TrainingState`, then as a VQ-VAE checkpoint (its `config` metadata into the
  /// training settings, checked as `extract-latents` and `sample` check them; the data order and the codebook's
  /// generator as `vqvae-train --resume` restores them) and as a prior checkpoint (its grid, architecture and
  /// `config` as `sample` and `gated-pixelcnn --resume` read them; its data order).
  static let safetensors = Reader(name: "safetensors") { bytes in
    guard let file = attempt("SafeTensors(bytes:)", { try SafeTensors(bytes: bytes, source: "fuzz.safetensors") })
    else { return }
    for name in file.names {
      switch file.entry(name)?.dtype {
      case .float32: attempt("floats(\(name))") { try file.floats(name) }
      case .int64: attempt("int64s(\(name))") { try file.int64s(name) }
      case nil: fatalError("fuzz-readers: '\(name)' is listed but has no entry")
      }
    }
    guard file.metadata["update"] != nil else { return }
    let path = Scratch.path("safetensors/checkpoints/vqvae.safetensors")
    Scratch.write(bytes, to: path)
    guard let state = attempt("TrainingState", { try TrainingState(contentsOf: path, kind: "vqvae-train") }) else {
      return
    }
    // A training split as large as the saved data order, as a resumed run on the same data has.
    let count = max(file.entry("data.order")?.shape.first ?? 1, 1)
    if let checkpoint = attempt("TrainingCheckpoint", { try TrainingCheckpoint(state: state) }) {
      _ = checkpoint.configuration.values
      attempt("TrainingCheckpoint.codebookGenerator") { try checkpoint.codebookGenerator() }
      if var sampler = attempt("TrainingCheckpoint.sampler", { try checkpoint.sampler(count: count) }) {
        drawBatches(&sampler)
      }
    }
    if let prior = attempt("PriorCheckpoint", { try PriorCheckpoint(state: state) }) {
      _ = (prior.kind, prior.grid, prior.latents, prior.vqvaeCheckpoint, prior.settings?.values)
      if var sampler = attempt("PriorCheckpoint.sampler", { try prior.state.sampler(count: count) }) {
        drawBatches(&sampler)
      }
    }
  }

  /// Draws two batches of 3, as the first updates of a resumed run do.
  static func drawBatches(_ sampler: inout BatchSampler) {
    var indices = [Int](repeating: 0, count: 3)
    sampler.next(into: &indices)
    sampler.next(into: &indices)
  }
}
