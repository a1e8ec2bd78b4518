import Foundation

/// One line of the benchmark table.
struct BenchmarkRow: Encodable {
  let name: String
  let detail: String
  let medianMilliseconds: Double
  let minimumMilliseconds: Double
  let repetitions: Int
  /// Achieved GFLOP/s, when the row's work is counted in FLOPs.
  let gflops: Double?
  /// Raw cblas_sgemm GFLOP/s on the same GEMM shapes (conv rows).
  let gemmGflops: Double?
  /// Peak resident memory while this row ran: the process's peak, reset before the row; then, in the report, that
  /// of a fresh process running the row alone.
  var peakResidentMiB: Double? = nil

  /// Conv GFLOP/s over raw GEMM GFLOP/s: how much of the BLAS rate survives im2col, permutes and bias.
  var gemmEfficiency: Double? {
    guard let gflops, let gemmGflops, gemmGflops > 0 else { return nil }
    return gflops / gemmGflops
  }

  enum CodingKeys: String, CodingKey {
    case name, detail, repetitions, gflops
    case medianMilliseconds = "median_ms"
    case minimumMilliseconds = "min_ms"
    case gemmGflops = "gemm_gflops"
    case gemmEfficiency = "gemm_efficiency"
    case peakResidentMiB = "peak_rss_mib"
  }

  func encode(to encoder: Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encode(detail, forKey: .detail)
    try container.encode(medianMilliseconds, forKey: .medianMilliseconds)
    try container.encode(minimumMilliseconds, forKey: .minimumMilliseconds)
    try container.encode(repetitions, forKey: .repetitions)
    try container.encodeIfPresent(gflops, forKey: .gflops)
    try container.encodeIfPresent(gemmGflops, forKey: .gemmGflops)
    try container.encodeIfPresent(gemmEfficiency, forKey: .gemmEfficiency)
    try container.encodeIfPresent(peakResidentMiB, forKey: .peakResidentMiB)
  }
}

/// Wall-clock times of `body` in milliseconds after `warmup` untimed runs, and more until `warmupMilliseconds` have
/// passed.
func measure(repetitions: Int, warmup: Int = 2, warmupMilliseconds: Double = 0, _ body: () throws -> Void) rethrows
  -> [Double]
{
  let start = DispatchTime.now().uptimeNanoseconds
  var runs = 0
  while runs < warmup || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 < warmupMilliseconds {
    try body()
    runs += 1
  }
  return try (0..<repetitions).map { _ in
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
  }
}

extension Array where Element == Double {
  /// The middle value (mean of the two middle values for an even count).
  var median: Double {
    let sorted = self.sorted()
    guard !sorted.isEmpty else { return .nan }
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }
}

/// Prints the rows as an aligned text table.
func printTable(_ rows: [BenchmarkRow], peakRSS: Double?) {
  func format(_ value: Double?, _ digits: Int) -> String {
    value.map { String(format: "%.\(digits)f", $0) } ?? "-"
  }
  let header = ["benchmark", "shape", "median ms", "min ms", "GFLOP/s", "GEMM GFLOP/s", "of GEMM", "peak MiB"]
  let lines =
    [header]
    + rows.map {
      [
        $0.name, $0.detail, format($0.medianMilliseconds, 2), format($0.minimumMilliseconds, 2), format($0.gflops, 1),
        format($0.gemmGflops, 1), $0.gemmEfficiency.map { String(format: "%.0f%%", $0 * 100) } ?? "-",
        format($0.peakResidentMiB, 0),
      ]
    }
  let widths = header.indices.map { column in lines.map { $0[column].count }.max()! }
  for (index, line) in lines.enumerated() {
    let cells = line.enumerated().map { column, cell in
      let pad = String(repeating: " ", count: widths[column] - cell.count)
      return column < 2 ? cell + pad : pad + cell
    }
    print(cells.joined(separator: "  "))
    if index == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
  }
  print("peak RSS of the whole process: \(format(peakRSS, 1)) MiB")
}
