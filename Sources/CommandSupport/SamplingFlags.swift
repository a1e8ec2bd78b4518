import ArgumentParser
import Pipeline

/// How codes are drawn from a prior: class, temperature, top-k, top-p, guidance and seed, shared by the commands that sample.
public struct SamplingFlags: ParsableArguments {
  @Option(
    name: [.customLong("class"), .customLong("label")],
    help: ArgumentHelp(
      "The class of every image (default: sample gives each row a class; complete and inpaint take each image's "
        + "label, else its likeliest class).", valueName: "n"))
  public var fixedClass: Int?

  @Option(
    help: ArgumentHelp(
      "Divides the logits: < 1 sharper, > 1 more varied, 0 always the most likely code.", valueName: "t"))
  public var temperature: Float = 1

  @Option(
    name: .dashedAndUnderscored("top_k"),
    help: ArgumentHelp("Draw only from the k most likely codes at each position (default: all).", valueName: "k"))
  public var topK: Int?

  @Option(
    name: .dashedAndUnderscored("top_p"),
    help: ArgumentHelp(
      "Draw only from the smallest set of the likeliest codes whose probabilities add up to p, in (0, 1] "
        + "(default: all).", valueName: "p"))
  public var topP: Float?

  @Option(
    name: [.customLong("guidance"), .customLong("guidance-scale"), .customLong("guidance_scale")],
    help: ArgumentHelp(
      "Classifier-free guidance s: draw from the logits u + s (c - u), c with the class and u without; 1 plain "
        + "sampling, > 1 truer to the class and less varied, 0 ignores the class. Needs a transformer prior "
        + "trained with class_dropout > 0.", valueName: "s"))
  public var guidance: Float = 1

  @Option(help: ArgumentHelp("Seed of the sampler: the same seed gives the same codes.", valueName: "n"))
  public var seed: UInt64 = 0

  public init() {}

  public func validate() throws {
    guard temperature.isFinite, temperature >= 0 else {
      throw ValidationError("--temperature must be a number >= 0, got \(temperature)")
    }
    if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, got \(topK)") }
    if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
    guard guidance.isFinite, guidance >= 0 else {
      throw ValidationError("--guidance must be a number >= 0, got \(guidance)")
    }
  }

  /// The options of the prior's sampler.
  public var options: SamplingOptions {
    SamplingOptions(temperature: temperature, topK: topK, topP: topP, guidance: guidance)
  }
}
