import CMPI
import Foundation
import TensorEngine

/// The processes that train one model together: MPI's world when `mpirun` started this process, else this process
/// alone. Every rank holds the whole model and takes its share of every batch; the ranks sum their gradients and the
/// step's statistics once per update (see `GradientExchange`). Rank 0 is the leader: it alone writes the run folder
/// and prints.
public final class ProcessGroup: Sendable {
  /// This process's place in the group, 0 for the leader.
  public let rank: Int
  /// Processes in the group.
  public let size: Int
  /// Processes of the group on this machine, which share its cores.
  public let localSize: Int
  private let usesMPI: Bool

  private init(rank: Int, size: Int, localSize: Int, usesMPI: Bool) {
    (self.rank, self.size, self.localSize, self.usesMPI) = (rank, size, localSize, usesMPI)
  }

  /// This process alone: every collective is the identity.
  public static let single = ProcessGroup(rank: 0, size: 1, localSize: 1, usesMPI: false)

  /// Whether `mpirun` started this process: Open MPI puts the world's size in every rank's environment.
  public static var launchedByMPI: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

  /// Joins MPI's world when `mpirun` started this process (else `single`, and MPI is never touched). A rank's engine
  /// threads default to this machine's cores divided among its ranks (`OMP_NUM_THREADS` still wins). Call once,
  /// before the first collective; `finish` or `abort` must end a joined group.
  public static func join() -> ProcessGroup {
    guard launchedByMPI else { return .single }
    var (rank, size): (Int32, Int32) = (0, 1)
    // Open MPI's default error handler ends the whole job with its own message, so the calls' codes need no check.
    _ = cmpi_init(&rank, &size)
    let environment = ProcessInfo.processInfo.environment
    let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? Int(size)
    let group = ProcessGroup(rank: Int(rank), size: Int(size), localSize: max(1, local), usesMPI: true)
    if group.size > 1 && environment["OMP_NUM_THREADS"] == nil && environment["OPENBLAS_NUM_THREADS"] == nil {
      EngineThreads.count = max(1, ProcessInfo.processInfo.activeProcessorCount / group.localSize)
    }
    return group
  }

  /// Whether this process writes the run's files and prints its progress.
  public var isLeader: Bool { rank == 0 }

  /// This rank's contiguous share of `count` items (a batch's images): the first `count % size` ranks take one more.
  public func share(of count: Int) -> Range<Int> {
    let (base, extra) = count.quotientAndRemainder(dividingBy: size)
    let start = rank * base + min(rank, extra)
    return start..<(start + base + (rank < extra ? 1 : 0))
  }

  /// Sums `values` over the ranks, in place: every rank gets the same sums.
  public func sum(_ values: inout [Float]) {
    guard usesMPI else { return }
    values.withUnsafeMutableBufferPointer { buffer in
      Self.inChunks(buffer.count) { cmpi_sum_floats(buffer.baseAddress! + $0, Int32($1)) }
    }
  }

  /// Sums `values` over the ranks, in place.
  public func sum(_ values: inout [Double]) {
    guard usesMPI else { return }
    values.withUnsafeMutableBufferPointer { buffer in
      Self.inChunks(buffer.count) { cmpi_sum_doubles(buffer.baseAddress! + $0, Int32($1)) }
    }
  }

  /// Whether `flag` holds on any rank (a stop request, say), so that every rank decides the same.
  public func any(_ flag: Bool) -> Bool {
    guard usesMPI else { return flag }
    var value: Int32 = flag ? 1 : 0
    _ = cmpi_max_int(&value)
    return value != 0
  }

  /// Runs `body` on the leader first and then, once it has returned, on the other ranks (work that must happen once,
  /// such as a download, which the others then find done). An error on the leader ends the job before they start.
  public func leaderFirst<T>(_ body: () throws -> T) rethrows -> T {
    if !isLeader { _ = any(false) }
    let result = try body()
    if isLeader { _ = any(false) }
    return result
  }

  /// Overwrites `values` on every rank with the leader's.
  public func broadcast(_ values: inout [Float]) {
    guard usesMPI else { return }
    values.withUnsafeMutableBytes { bytes in
      Self.inChunks(bytes.count) { cmpi_broadcast_bytes(bytes.baseAddress! + $0, Int32($1), 0) }
    }
  }

  /// Leaves MPI after the last collective (every rank must call it); nothing for `single`.
  public func finish() {
    if usesMPI { _ = cmpi_finalize() }
  }

  /// Ends every rank of the job at once (after this rank has printed why); exits with `code` alone.
  public func abort(code: Int32) -> Never {
    if usesMPI { cmpi_abort(code) }
    exit(code)
  }

  /// Runs `call(offset, count)` over `0..<total` in pieces that MPI's 32-bit counts can hold.
  private static func inChunks(_ total: Int, _ call: (Int, Int) -> Int32) {
    let piece = 1 << 30
    for offset in stride(from: 0, to: total, by: piece) { _ = call(offset, min(piece, total - offset)) }
  }
}
