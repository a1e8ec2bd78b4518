import Foundation

/// One file reader under test: its name (the value of `FUZZ_READER`) and what it does with one input. A thrown error
/// is the right answer to a bad file (`Readers.attempt` catches it); only a trap, an abort, a sanitizer report, a
/// timeout or running out of memory is a finding.
struct Reader: Sendable {
  /// The `FUZZ_READER` value that selects it, also the name of its folder in Corpus/.
  let name: String
  /// Reads one input: writes it where the reader looks, calls the reader and looks at what it returns.
  let read: @Sendable ([UInt8]) -> Void
}

/// The readers, one per file: IDXImages.swift, IDXLabels.swift, CIFAR10Batch.swift, PNGImage.swift, NPYArray.swift,
/// LatentBlockFolder.swift, Checkpoint.swift, ConfigFiles.swift and EventFiles.swift.
enum Readers {
  static let all: [Reader] = [idxImages, idxLabels, cifar10, png, npy, latentBlock, safetensors, config, events]

  /// The reader that `FUZZ_READER` names; an unknown or missing name stops the process with the list.
  static let selected: Reader = {
    let name = ProcessInfo.processInfo.environment["FUZZ_READER"] ?? ""
    guard let reader = all.first(where: { $0.name == name }) else {
      let known = all.map(\.name).joined(separator: ", ")
      FileHandle.standardError.write(Data("fuzz-readers: set FUZZ_READER to one of \(known) (got '\(name)')\n".utf8))
      exit(2)
    }
    return reader
  }()

  /// `FUZZ_VERBOSE=1` prints what each step made of each input, to check that the seeds are valid files:
  /// `FUZZ_VERBOSE=1 FUZZ_READER=png fuzz-readers Fuzz/Corpus/png/*`.
  static let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] == "1"

  /// Runs one step of a reader, `what` (the call it makes); its error, the right answer to a bad file, becomes nil.
  @discardableResult
  static func attempt<Value>(_ what: String, _ step: () throws -> Value) -> Value? {
    do {
      let value = try step()
      if verbose { print("fuzz-readers: \(what): ok") }
      return value
    } catch {
      if verbose { print("fuzz-readers: \(what): \(error)") }
      return nil
    }
  }
}

/// libFuzzer's entry point: one input to the selected reader. libFuzzer provides `main`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if Readers.verbose { print("fuzz-readers: \(Readers.selected.name): \(size) bytes") }
  Readers.selected.read(bytes)
  return 0
}
