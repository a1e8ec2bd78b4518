import ArgumentParser
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
      same GEMM shapes). Run in release: swift run -c release vqvae-bench
      """)

  @Flag(help: "Print {\"rows\": [...], \"peak_rss_mib\": N} instead of a table.")
  var json = false

  @Option(help: "Only rows whose name starts with one of these comma-separated prefixes (default: all).")
  var rows: String?

  @Option(help: "Timed repetitions per row, after 2 warm-up runs.")
  var repetitions = 20

  @Option(help: "OpenBLAS threads (default: OpenBLAS's own choice, one per core).")
  var threads: Int?

  func validate() throws {
    guard repetitions > 0 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
  }

  func run() throws {
    if let threads { setBLASThreadCount(threads) }
    let prefixes = rows?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
    func wanted(_ group: String) -> Bool {
      prefixes.map { $0.contains { $0.hasPrefix(group) || group.hasPrefix($0) } } ?? true
    }

    var results: [BenchmarkRow] = []
    if wanted("conv.") { results += try convolutionRows(batch: 32, repetitions: repetitions) }
    if let prefixes { results = results.filter { row in prefixes.contains { row.name.hasPrefix($0) } } }

    let peak = peakResidentMiB()
    if json {
      struct Report: Encodable {
        let rows: [BenchmarkRow]
        let peak_rss_mib: Double?
        let blas_threads: Int
      }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      let data = try encoder.encode(Report(rows: results, peak_rss_mib: peak, blas_threads: blasThreadCount))
      print(String(decoding: data, as: UTF8.self))
    } else {
      print("vqvae-bench: \(results.count) rows, \(repetitions) repetitions each, OpenBLAS threads \(blasThreadCount)")
      printTable(results, peakRSS: peak)
    }
  }
}
