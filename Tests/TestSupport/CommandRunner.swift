import Foundation
import XCTest

/// Runs the toolkit's own executables (`vqvae-train`, `sample` ...) as a user does, from the build folder the tests
/// were built into, so that tests can assert exit codes, messages, signals and kills.
/// (`collected` is shared with the pipe's reader thread under `lock`.)
public final class CommandRunner: @unchecked Sendable {
  /// The running process.
  public let process = Process()
  private let output = Pipe()
  private var collected = Data()
  private let lock = NSLock()

  /// Starts `command` with `arguments` in `directory`, with `environment` added to the tests'; its stdout and
  /// stderr are collected together. With `ranks`, `mpirun` starts that many copies of it on this machine.
  public init(
    _ command: String, _ arguments: [String], in directory: String? = nil, environment added: [String: String] = [:],
    ranks: Int? = nil
  ) throws {
    let build = (CommandLine.arguments[0] as NSString).deletingLastPathComponent
    let executable = (build as NSString).appendingPathComponent(command)
    if let ranks {
      process.executableURL = URL(fileURLWithPath: Self.mpirun)
      process.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", executable] + arguments
    } else {
      process.executableURL = URL(fileURLWithPath: executable)
      process.arguments = arguments
    }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    var environment = ProcessInfo.processInfo.environment.merging(added) { $1 }
    // The crash reporter would add its own lines (and time) to a failure.
    environment["SWIFT_BACKTRACE"] = "enable=no"
    process.environment = environment
    process.standardOutput = output
    process.standardError = output
    output.fileHandleForReading.readabilityHandler = { [weak self] handle in
      let data = handle.availableData
      guard let self else { return }
      self.lock.lock()
      self.collected.append(data)
      self.lock.unlock()
    }
    try process.run()
  }

  /// What the command has printed so far.
  public var text: String {
    lock.lock()
    defer { lock.unlock() }
    return String(decoding: collected, as: UTF8.self)
  }

  /// Waits until `condition` holds (polled every 10 ms) or `seconds` pass; returns whether it held.
  @discardableResult
  public static func wait(seconds: Double = 60, until condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if condition() { return true }
      usleep(10_000)
    }
    return condition()
  }

  /// Waits for the command to end; returns its exit status (128 + the signal's number when a signal ended it).
  @discardableResult
  public func finish() -> Int32 {
    process.waitUntilExit()
    output.fileHandleForReading.readabilityHandler = nil
    let rest = output.fileHandleForReading.readDataToEndOfFile()
    lock.lock()
    collected.append(rest)
    lock.unlock()
    return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
  }

  /// Open MPI's launcher, from Debian's `openmpi-bin` (scripts/setup.sh installs it).
  public static let mpirun = "/usr/bin/mpirun"

  /// Runs `command` to its end (see `init`): its exit status and output.
  public static func run(
    _ command: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
    ranks: Int? = nil
  ) throws -> (status: Int32, output: String) {
    let runner = try CommandRunner(command, arguments, in: directory, environment: environment, ranks: ranks)
    let status = runner.finish()
    return (status, runner.text)
  }
}
