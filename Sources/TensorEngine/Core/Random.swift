import Foundation

/// A seeded xoshiro256** generator: fast, and the same seed gives the same stream on every run and machine.
/// Its whole state is four words (`state`), saved in checkpoints so a resumed run continues the same stream.
public struct RandomGenerator: RandomNumberGenerator, Sendable {
  /// The generator's state; restore it to continue a saved stream.
  public var state: [UInt64]

  /// Seeds the state through SplitMix64, as xoshiro's authors recommend.
  public init(seed: UInt64) {
    var x = seed
    state = (0..<4).map { _ in
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  /// Restores a saved state. - Throws: `TensorError` unless it is four words, not all zero.
  public init(state: [UInt64]) throws {
    guard state.count == 4, state.contains(where: { $0 != 0 }) else {
      throw TensorError("RandomGenerator: a state is four words, not all zero; got \(state)")
    }
    self.state = state
  }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    let result = ((state[1] &* 5) << 7 | (state[1] &* 5) >> 57) &* 9
    let t = state[1] << 17
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    state[3] = state[3] << 45 | state[3] >> 19
    return result
  }

  /// A uniform float in [0, 1) with 24 random bits.
  public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

  /// A uniform float in `range`.
  public mutating func uniform(in range: Range<Float>) -> Float {
    range.lowerBound + (range.upperBound - range.lowerBound) * uniform()
  }

  /// A standard normal sample (Box-Muller, in Double).
  public mutating func normal() -> Float {
    let u1 = (Double(next() >> 11) + 1) * 0x1p-53  // in (0, 1]: log never sees 0
    let u2 = Double(next() >> 11) * 0x1p-53
    return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
  }

  /// An integer uniform in `0..<upperBound` (unbiased).
  public mutating func integer(below upperBound: Int) -> Int { Int.random(in: 0..<upperBound, using: &self) }

  /// A random permutation of `0..<count` (Fisher-Yates).
  public mutating func permutation(_ count: Int) -> [Int] {
    var values = Array(0..<count)
    for i in stride(from: count - 1, to: 0, by: -1) { values.swapAt(i, integer(below: i + 1)) }
    return values
  }

  /// An index drawn with probability proportional to `weights` (non-negative, not all zero). Falls back to the
  /// last positive weight when rounding leaves the draw past the end.
  public mutating func categorical(_ weights: UnsafeBufferPointer<Float>) -> Int {
    var total: Double = 0
    for w in weights { total += Double(w) }
    let target = Double(uniform()) * total
    var cumulative: Double = 0
    var last = 0
    for (i, w) in weights.enumerated() where w > 0 {
      cumulative += Double(w)
      last = i
      if target < cumulative { return i }
    }
    return last
  }

  /// `count` uniform floats in `range`.
  public mutating func uniformArray(_ count: Int, in range: Range<Float>) -> [Float] {
    (0..<count).map { _ in uniform(in: range) }
  }

  /// `count` normal floats with the given mean and standard deviation.
  public mutating func normalArray(_ count: Int, mean: Float = 0, standardDeviation: Float = 1) -> [Float] {
    (0..<count).map { _ in mean + standardDeviation * normal() }
  }
}
