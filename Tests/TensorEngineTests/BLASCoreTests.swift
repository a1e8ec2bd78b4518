import Foundation
import TestSupport
import XCTest

@testable import TensorEngine

/// The choice of OpenBLAS core: the CPU-feature ladder, when an old pick is replaced and when it is left alone, the
/// re-execution through vqvae-bench, and the same product on every core this machine runs.
final class BLASCoreTests: XCTestCase {
  private let avx512: Set<String> = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]

  func testTheFeaturesGiveTheBestCore() {
    XCTAssertNil(BLASCore.best(for: ["sse3", "ssse3"]))
    XCTAssertEqual(BLASCore.best(for: ["avx"]), "Sandybridge")
    XCTAssertEqual(BLASCore.best(for: ["avx", "avx2", "fma"]), "Haswell")
    XCTAssertEqual(BLASCore.best(for: ["avx", "avx2"]), "Sandybridge", "AVX2 without FMA is not Haswell")
    XCTAssertEqual(BLASCore.best(for: avx512), "SkylakeX")
    XCTAssertEqual(BLASCore.best(for: avx512.union(["avx512_bf16", "avx512_fp16"])), "Cooperlake")
    XCTAssertEqual(BLASCore.best(for: avx512.subtracting(["avx512vl"])), "Haswell")
  }

  func testAnOldPickIsReplacedUnlessTheUserOrAnEarlierRunChose() {
    // The Xeon of the issue: OpenBLAS 0.3.21 does not know the model and falls back to Prescott.
    XCTAssertEqual(BLASCore.replacement(for: "Prescott", flags: avx512, environment: [:]), "SkylakeX")
    XCTAssertEqual(
      BLASCore.replacement(for: "Haswell", flags: avx512.union(["avx512_bf16"]), environment: [:]), "Cooperlake")
    XCTAssertEqual(BLASCore.replacement(for: "Nehalem", flags: ["avx", "avx2", "fma"], environment: [:]), "Haswell")
    XCTAssertNil(
      BLASCore.replacement(for: "Zen", flags: ["avx", "avx2", "fma"], environment: [:]), "Zen is Haswell's rank")
    XCTAssertNil(BLASCore.replacement(for: "Cooperlake", flags: avx512, environment: [:]), "never a step down")
    XCTAssertNil(BLASCore.replacement(for: "Prescott", flags: avx512, environment: ["OPENBLAS_CORETYPE": "Prescott"]))
    XCTAssertNil(BLASCore.replacement(for: "Prescott", flags: avx512, environment: [BLASCore.fallbackMarker: "x"]))
    XCTAssertNil(BLASCore.replacement(for: "ARMV8", flags: avx512, environment: [:]), "other architectures")
    XCTAssertNil(BLASCore.replacement(for: "Prescott", flags: [], environment: [:]), "no flags read")
  }

  func testThisMachinesFlagsAreRead() throws {
    guard FileManager.default.fileExists(atPath: "/proc/cpuinfo") else { throw XCTSkip("no /proc/cpuinfo") }
    #if arch(x86_64)
      XCTAssertTrue(BLASCore.cpuFlags().isSuperset(of: ["sse", "sse2"]), "every x86-64 CPU has SSE2")
    #endif
  }

  /// vqvae-bench --check-blas under `environment`: the core it ran, its one-line summary and its product's sum.
  private func benchCheck(_ environment: [String: String]) throws -> (core: String, summary: String, sum: Double) {
    let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    let bench = directory.appendingPathComponent("vqvae-bench")
    guard FileManager.default.isExecutableFile(atPath: bench.path) else {
      throw XCTSkip("vqvae-bench is not built beside the tests (\(bench.path))")
    }
    let process = Process()
    process.executableURL = bench
    process.arguments = ["--check-blas"]
    process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OPENBLAS_") }
      .merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let lines = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)
    let fields = Dictionary(
      uniqueKeysWithValues: (lines.first ?? "").split(separator: " ").map {
        let pair = $0.split(separator: "=")
        return (String(pair[0]), String(pair.last ?? ""))
      })
    return (fields["core"] ?? "", lines.count > 1 ? String(lines[1]) : "", Double(fields["sum"] ?? "") ?? .nan)
  }

  func testEveryCoreThisMachineRunsGivesTheSameProduct() throws {
    let flags = BLASCore.cpuFlags()
    let cores = ["Prescott"] + BLASCore.ladder.filter { $0.needs.isSubset(of: flags) }.map(\.core)
    let reference = try benchCheck(["OPENBLAS_CORETYPE": "Prescott"])
    XCTAssertEqual(reference.core, "Prescott")
    for core in cores {
      let check = try benchCheck(["OPENBLAS_CORETYPE": core])
      XCTAssertEqual(check.core.lowercased(), core.lowercased())
      XCTAssertEqual(check.sum, reference.sum, accuracy: 1e-5 * 1000, "\(core) against Prescott")
    }
  }

  func testAnOldCoreIsReplacedByReExecuting() throws {
    guard let best = BLASCore.best(for: BLASCore.cpuFlags()) else { throw XCTSkip("this CPU has no AVX") }
    let check = try benchCheck(["OPENBLAS_CORETYPE": "Prescott", BLASCore.simulatedFallback: "1"])
    XCTAssertEqual(check.core.lowercased(), best.lowercased())
    XCTAssertTrue(check.summary.contains("OpenBLAS picked Prescott"), check.summary)
    let own = try benchCheck(["OPENBLAS_CORETYPE": "Prescott"])
    XCTAssertEqual(own.core, "Prescott", "a user's OPENBLAS_CORETYPE wins")
    XCTAssertTrue(own.summary.contains("(OPENBLAS_CORETYPE)"), own.summary)
  }

  func testTheSummaryCountsTheEngineThreadsInWords() throws {
    let one = try benchCheck(["OMP_NUM_THREADS": "1"])
    XCTAssertTrue(one.summary.hasSuffix(", 1 engine thread"), one.summary)
    let two = try benchCheck(["OMP_NUM_THREADS": "2"])
    XCTAssertTrue(two.summary.hasSuffix(", 2 engine threads"), two.summary)
  }
}
