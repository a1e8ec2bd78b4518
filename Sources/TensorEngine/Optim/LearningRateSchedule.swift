import Foundation

/// A learning rate that rises linearly from near zero to `peak` over `warmupSteps` updates, then follows half a
/// cosine down to `floor` at `totalSteps`, and stays there: the schedule GPT-style transformers are trained with.
///
/// For update `step` (0 for the first): `peak · (step + 1) / warmupSteps` while `step < warmupSteps`; after that,
/// with `progress = (step - warmupSteps) / (totalSteps - warmupSteps)` clamped to [0, 1],
/// `floor + (peak - floor) · (1 + cos(π · progress)) / 2`.
public struct WarmupCosineSchedule: Equatable, Sendable {
  /// The rate at the end of the warm-up.
  public var peak: Float
  /// The rate the decay ends at.
  public var floor: Float
  /// Updates of linear warm-up; 0 starts at `peak`.
  public var warmupSteps: Int
  /// The update at which the decay reaches `floor`.
  public var totalSteps: Int

  /// - Precondition: `0 <= warmupSteps <= totalSteps` and `0 <= floor <= peak`.
  public init(peak: Float, floor: Float = 0, warmupSteps: Int, totalSteps: Int) {
    precondition(
      warmupSteps >= 0 && warmupSteps <= totalSteps,
      "WarmupCosineSchedule: need 0 <= warmupSteps (\(warmupSteps)) <= totalSteps (\(totalSteps))")
    precondition(floor >= 0 && floor <= peak, "WarmupCosineSchedule: need 0 <= floor (\(floor)) <= peak (\(peak))")
    (self.peak, self.floor, self.warmupSteps, self.totalSteps) = (peak, floor, warmupSteps, totalSteps)
  }

  /// The learning rate of update `step`, counted from 0.
  public func learningRate(atStep step: Int) -> Float {
    if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
    let decaySteps = totalSteps - warmupSteps
    let progress = decaySteps > 0 ? min(max(Double(step - warmupSteps) / Double(decaySteps), 0), 1) : 1
    return floor + (peak - floor) * Float((1 + cos(Double.pi * progress)) / 2)
  }
}
