import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What this process may allocate, and the check every size read from a file or a flag goes through before
/// anything is allocated or created: a size past it is refused with the estimate and the limit in the message, rather
/// than ending in "failed to allocate" after a run folder was made.
public enum MemoryBudget {
  /// Bytes this process may use: the smallest of the machine's memory, its cgroup's limit and `RLIMIT_AS`.
  public static let bytes: Double = {
    var limits = [Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))]
    for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
      if let text = try? String(contentsOfFile: file, encoding: .utf8),
        let value = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), value > 0
      {
        limits.append(value)
      }
    }
    var limit = rlimit()
    if getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0 && limit.rlim_cur != rlim_t.max {
      limits.append(Double(limit.rlim_cur))
    }
    return limits.min()!
  }()

  /// The process's peak resident set size so far (VmHWM) in MiB, from /proc/self/status; nil where there is no /proc.
  public static func peakResidentMiB() -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
      let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return nil }
    return kib / 1024
  }

  /// Resets the kernel's peak-RSS mark (VmHWM) to the current RSS, so the next reading covers only what follows.
  public static func resetPeakResident() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
  }

  /// "; peak memory 148 MiB" for a command's last line, or nothing where the peak cannot be read.
  public static var peakNote: String {
    peakResidentMiB().map { String(format: "; peak memory %.0f MiB", $0) } ?? ""
  }

  /// "this machine has 24 GiB" (or the cgroup's or rlimit's figure, whichever binds).
  public static var describedLimit: String { "this machine has \(format(bytes))" }

  /// nil when `bytes` fit in the budget; otherwise "needs 32 GiB for <what>; this machine has 24 GiB".
  /// Pass sizes as `Double` products, which cannot overflow the way `Int` ones trap.
  public static func shortfall(_ needed: Double, for what: String) -> String? {
    needed <= bytes ? nil : "needs \(format(needed)) for \(what); \(describedLimit)"
  }

  /// A byte count for people: `512 B`, `3.2 MiB`, `24 GiB`, `2.1e+06 TiB`.
  public static func format(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var (value, unit) = (bytes, 0)
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    let number =
      value >= 1e6
      ? String(format: "%.1e", value)
      : value >= 100 || unit == 0 || value == value.rounded()
        ? "\(Int(value.rounded()))" : String(format: "%.1f", value)
    return "\(number) \(units[unit])"
  }
}
