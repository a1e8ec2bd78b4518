import CBLAS
import Foundation

/// Which of OpenBLAS's kernel sets ("cores") runs the GEMMs. Debian's OpenBLAS is a DYNAMIC_ARCH build that picks
/// its core from the CPU model when the library loads; on a CPU model newer than the library it falls back to an old
/// core (Prescott's SSE3 kernels run sgemm at a sixth of SkylakeX's speed on an AVX-512 Xeon). `selectBestCore` checks
/// the pick against the CPU's features, as the kernel reports them from CPUID, and when OpenBLAS fell behind it
/// re-executes the process with `OPENBLAS_CORETYPE` naming the best core for those features: the variable is read only
/// when the library loads. A user's own `OPENBLAS_CORETYPE` always wins.
public enum BLASCore {
  /// The x86-64 cores asked for, weakest first, each with the CPU flags (`/proc/cpuinfo` spelling) its kernels use.
  static let ladder: [(core: String, needs: Set<String>)] = [
    ("Sandybridge", ["avx"]),
    ("Haswell", ["avx", "avx2", "fma"]),
    ("SkylakeX", ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]),
    ("Cooperlake", ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx512_bf16"]),
  ]

  /// How OpenBLAS's x86-64 core names (as `openblas_get_corename` spells them, any case) rank on the same ladder:
  /// 0 below AVX, then the index in `ladder` plus 1. Cores missing here (other architectures, newer names) are
  /// left alone.
  static let ranks: [String: Int] = [
    "prescott": 0, "core2": 0, "penryn": 0, "dunnington": 0, "nehalem": 0, "atom": 0, "opteron": 0,
    "barcelona": 0, "bobcat": 0, "sandybridge": 1, "bulldozer": 1, "piledriver": 1, "steamroller": 1,
    "excavator": 1, "haswell": 2, "zen": 2, "skylakex": 3, "cooperlake": 4, "sapphirerapids": 4,
  ]

  /// The variable that marks a process this selection re-executed, holding the core OpenBLAS had picked.
  static let fallbackMarker = "VQVAE_OPENBLAS_PICKED"
  /// Set to 1 with `OPENBLAS_CORETYPE` naming an old core, it makes the selection treat that core as OpenBLAS's own
  /// pick, so that the fallback path can be tried on a CPU that OpenBLAS knows (the tests do).
  static let simulatedFallback = "VQVAE_SIMULATE_BLAS_FALLBACK"

  /// The core OpenBLAS runs (`Haswell`, `SkylakeX`, `Cooperlake` ...).
  public static var current: String { String(cString: openblas_get_corename()) }

  /// The best core of `ladder` whose flags `flags` all has; nil below AVX.
  static func best(for flags: Set<String>) -> String? {
    ladder.last { $0.needs.isSubset(of: flags) }?.core
  }

  /// The core to ask OpenBLAS for instead of `picked`, or nil to keep it: when the user set `OPENBLAS_CORETYPE`,
  /// when this process was already re-executed, when `picked` is not on the ladder, or when it ranks as high as the
  /// best core `flags` allow.
  static func replacement(for picked: String, flags: Set<String>, environment: [String: String]) -> String? {
    guard environment["OPENBLAS_CORETYPE"] == nil, environment[fallbackMarker] == nil,
      let rank = ranks[picked.lowercased()], let best = best(for: flags),
      let bestRank = ladder.firstIndex(where: { $0.core == best }).map({ $0 + 1 }), rank < bestRank
    else { return nil }
    return best
  }

  /// The CPU's feature flags, from the first `flags` line of `/proc/cpuinfo` (empty where there is none).
  static func cpuFlags() -> Set<String> {
    guard let bytes = try? FileIO.read("/proc/cpuinfo") else { return [] }
    let text = String(decoding: bytes, as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
    return Set(line.split(separator: ":").last.map { $0.split(separator: " ").map(String.init) } ?? [])
  }

  /// Before the first GEMM: when OpenBLAS picked a core older than the CPU allows, re-executes this process with
  /// `OPENBLAS_CORETYPE` set to the better one (the same arguments; nothing has run yet). Returns when nothing is to
  /// be done or the re-execution fails.
  public static func selectBestCore() {
    var environment = ProcessInfo.processInfo.environment
    if environment.removeValue(forKey: simulatedFallback) == "1" {
      environment["OPENBLAS_CORETYPE"] = nil
      unsetenv(simulatedFallback)
    }
    let picked = current
    guard let better = replacement(for: picked, flags: cpuFlags(), environment: environment) else { return }
    setenv("OPENBLAS_CORETYPE", better, 1)
    setenv(fallbackMarker, picked, 1)
    let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
    execv("/proc/self/exe", arguments)
    // Only a failed exec gets here: go on with OpenBLAS's own pick.
    unsetenv("OPENBLAS_CORETYPE")
  }

  /// One line for a command's header: `OpenBLAS core Cooperlake, 2 engine threads`, saying when the core was chosen
  /// over OpenBLAS's own pick or by the user.
  public static var summary: String {
    let environment = ProcessInfo.processInfo.environment
    let origin =
      environment[fallbackMarker].map { " (OpenBLAS picked \($0) for this CPU model; its features allow more)" }
      ?? (environment["OPENBLAS_CORETYPE"] != nil ? " (OPENBLAS_CORETYPE)" : "")
    let threads = EngineThreads.count
    return "OpenBLAS core \(current)\(origin), \(threads) engine thread\(threads == 1 ? "" : "s")"
  }
}
