import DataFiles

extension Readers {
  /// `events`: the input is a TensorBoard event file left in a run's `tb/` folder, read back by `EventFile` as a
  /// resumed run reads it (its records parsed and decoded, the ones up to the checkpoint kept and rewritten), then
  /// appended to.
  static let events = Reader(name: "events") { bytes in
    let folder = Scratch.folder("events/tb")
    Scratch.write(bytes, to: "\(folder)/events.out.tfevents.1.fuzz")
    guard let file = attempt("EventFile(keepingThrough: 5)", { try EventFile(folder: folder, keepingThrough: 5) })
    else { return }
    attempt("EventFile.scalars") { try file.scalars([("train/loss", 1)], step: 6) }
  }
}
