import ArgumentParser
import CBLAS
import Foundation
import TensorEngine

/// `vqvae-bench`: times the engine and the pipeline's stages and prints a table (or JSON).
@main
struct VQVAEBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vqvae-bench",
    abstract: "Time the engine's kernels and the pipeline's stages; print ms, GFLOP/s and peak memory.",
    discussion: """
      Rows: conv.<layer> (forward + backward of each VQ-VAE convolution at batch 32, with the raw sgemm rate of the
      same GEMM shapes); vqvae.train_step.b<batch>.<channels>x32x32 (one Adam step of the default VQ-VAE);
      vqvae.encode.10000 and vqvae.decode.100 (extract-latents' and sample's VQ-VAE passes);
      pixelcnn.train_step.b<batch> (one Adam step of the default prior); pixelcnn.sample.100 (100 grids of 8x8);
      transformer.train_step.b32 (one AdamW step of the transformer prior, K 512, dim 256, 8 layers, 8 heads, dropout
      0.1); transformer.sample.100 (100 grids of 8x8 with the key/value-cached sampler).
      Run in release: swift run -c release vqvae-bench
      """)

  @Flag(help: "Print {\"rows\": [...], \"peak_rss_mib\": N} instead of a table.")
  var json = false

  @Option(help: "Only rows whose name starts with one of these comma-separated prefixes (default: all).")
  var rows: String?

  @Option(help: "Timed repetitions per row, after 2 warm-up runs.")
  var repetitions = 20

  @Option(help: "Engine threads (default: one per core, or OMP_NUM_THREADS).")
  var threads: Int?

  @Flag(help: .hidden)
  var memoryInThisProcess = false

  @Flag(help: "Print the OpenBLAS core and a checksum of one fixed sgemm (to compare cores), and exit.")
  var checkBLAS = false

  func validate() throws {
    guard repetitions > 0 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
  }

  func run() throws {
    BLASCore.selectBestCore()
    if let threads { EngineThreads.count = threads }
    if checkBLAS { return print(blasCheck()) }
    let prefixes = rows?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
    func wanted(_ group: String) -> Bool {
      prefixes.map { $0.contains { $0.hasPrefix(group) || group.hasPrefix($0) } } ?? true
    }

    var results: [BenchmarkRow] = []
    if wanted("conv.") { results += try convolutionRows(batch: 32, repetitions: repetitions) }
    for (batch, channels) in [(32, 3), (32, 1), (128, 1)] where wanted("vqvae.train_step.b\(batch).\(channels)x32x32") {
      results.append(try trainStepRow(batch: batch, channels: channels, repetitions: batch > 32 ? 10 : repetitions))
    }
    if wanted("vqvae.encode.10000") { results.append(try encodeRow(repetitions: 3)) }
    if wanted("vqvae.decode.100") { results.append(try decodeRow(repetitions: repetitions)) }
    for batch in [32, 128] where wanted("pixelcnn.train_step.b\(batch)") {
      results.append(try pixelCNNTrainStepRow(batch: batch, repetitions: batch > 32 ? 10 : repetitions))
    }
    if wanted("pixelcnn.sample.100") { results.append(try pixelCNNSampleRow(repetitions: 3)) }
    if wanted("transformer.train_step.b32") {
      results.append(try transformerTrainStepRow(batch: 32, repetitions: min(repetitions, 10)))
    }
    if wanted("transformer.sample.100") { results.append(try transformerSampleRow(repetitions: 3)) }
    if let prefixes { results = results.filter { row in prefixes.contains { row.name.hasPrefix($0) } } }
    if !memoryInThisProcess {
      for index in results.indices where results[index].peakResidentMiB != nil {
        results[index].peakResidentMiB = try freshProcessPeakMiB(row: results[index].name)
      }
    }

    let peak = MemoryBudget.peakResidentMiB()
    if json {
      struct Report: Encodable {
        let rows: [BenchmarkRow]
        let peak_rss_mib: Double?
        let threads: Int
        let blas_core: String
        let blas: String
      }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      let data = try encoder.encode(
        Report(
          rows: results, peak_rss_mib: peak, threads: EngineThreads.count, blas_core: BLASCore.current,
          blas: BLASCore.summary))
      print(String(decoding: data, as: UTF8.self))
    } else {
      print("vqvae-bench: \(results.count) rows, \(repetitions) repetitions each; \(BLASCore.summary)")
      printTable(results, peakRSS: peak)
    }
  }
}

/// A row's peak resident memory measured as the PyTorch reference measures its own: in a fresh process that runs
/// only that row (its 2 warm-up and up to 18 timed steps), so that what earlier rows left in the heap does not count.
private func freshProcessPeakMiB(row: String) throws -> Double? {
  let child = Process()
  child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
  child.arguments = [
    "--rows", row, "--repetitions", "18", "--threads", "\(EngineThreads.count)", "--json", "--memory-in-this-process",
  ]
  let output = Pipe()
  child.standardOutput = output
  try child.run()
  let data = output.fileHandleForReading.readDataToEndOfFile()
  child.waitUntilExit()
  struct Report: Decodable {
    struct Row: Decodable { let peak_rss_mib: Double? }
    let rows: [Row]
  }
  guard child.terminationStatus == 0, let report = try? JSONDecoder().decode(Report.self, from: data) else {
    FileHandle.standardError.write(Data("vqvae-bench: the fresh process measuring \(row)'s memory failed\n".utf8))
    throw ExitCode.failure
  }
  return report.rows.first?.peak_rss_mib ?? nil
}

/// `core=<name> sum=<x> max=<y>`: one 192 x 160 x 224 sgemm of fixed inputs, summed, so that the same product can be
/// compared across OpenBLAS cores (`OPENBLAS_CORETYPE`).
private func blasCheck() -> String {
  let (m, n, k) = (192, 160, 224)
  var rng = RandomGenerator(seed: 11)
  let a = rng.uniformArray(m * k, in: -1..<1)
  let b = rng.uniformArray(k * n, in: -1..<1)
  var c = [Float](repeating: 0, count: m * n)
  cblas_sgemm(
    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c,
    Int32(n))
  let sum = c.reduce(0.0) { $0 + Double($1) }
  let largest = c.map { abs($0) }.max() ?? 0
  return "core=\(BLASCore.current) sum=\(sum) max=\(largest)\n\(BLASCore.summary)"
}
