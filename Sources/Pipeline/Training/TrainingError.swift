/// A training run that cannot start or go on: a bad setting, an unusable run folder, a diverged loss.
/// The message names the flag, key, file or update at fault.
public struct TrainingError: Error, CustomStringConvertible, Equatable, Sendable {
  /// What went wrong, and where useful what to do about it.
  public let message: String

  /// Creates an error with the given message.
  public init(_ message: String) { self.message = message }

  public var description: String { message }
}
