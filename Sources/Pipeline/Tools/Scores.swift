import Foundation

/// The prior's negative log-likelihood of each of a set of code grids, in bits per image: how surprising the prior
/// finds each image. Low on images like its training data; an out-of-distribution detector by threshold.
public struct Scores: Sendable {
  /// Bits per image (the sum over the grid's positions of -log2 p(z_i | z_<i, class)).
  public let bitsPerImage: [Double]
  /// Which class each grid was scored under (nil: the classes were summed over, or the prior is unconditional).
  public let classes: [Int]?
  /// How the classes were chosen, for messages: `the images' labels`, `class 3`, `summed over the 10 classes`.
  public let classChoice: String

  /// Scores `grids` under `prior`. A class-conditional prior scores each grid under `fixedClass`, else its label,
  /// else p(z) = Σ_c p(c) p(z | c) with the classes equally likely (the likelihood of an unlabelled image).
  /// - Throws: `TrainingError` for a class or labels the prior has no class for, `TensorError` if the grids do not
  ///   fit it.
  public init(prior: any Prior, grids: CodeGrids, labels: [Int], fixedClass: Int?) throws {
    try requireClass(fixedClass, of: prior)
    let batch = PriorEvaluation.batchSize
    let scale = 1 / log(2.0)
    var bits: [Double] = []
    func score(_ classes: (Range<Int>) -> [Int]?) throws -> [Double] {
      var nats: [Double] = []
      for first in stride(from: 0, to: grids.count, by: batch) {
        let n = min(batch, grids.count - first)
        let size = grids.height * grids.width
        nats += try prior.negativeLogLikelihoods(
          Array(grids.indices[(first * size)..<((first + n) * size)]), batch: n, height: grids.height,
          width: grids.width, labels: classes(first..<(first + n)))
      }
      return nats
    }
    if prior.classes == 0 {
      (bits, classes, classChoice) = (try score { _ in nil }.map { $0 * scale }, nil, "unconditional prior")
    } else if let fixedClass {
      let nats = try score { Array(repeating: fixedClass, count: $0.count) }
      (bits, classes, classChoice) = (
        nats.map { $0 * scale }, Array(repeating: fixedClass, count: grids.count),
        "class \(fixedClass)"
      )
    } else if !labels.isEmpty {
      if let bad = labels.first(where: { !(0..<prior.classes).contains($0) }) {
        throw TrainingError(
          "label \(bad) of the images is not one of the prior's \(prior.classes) classes; pass --class")
      }
      (bits, classes, classChoice) = (try score { Array(labels[$0]) }.map { $0 * scale }, labels, "the images' labels")
    } else {
      // -log Σ_c (1/C) exp(-nll_c), computed from the largest term so that it cannot underflow.
      let perClass = try (0..<prior.classes).map { c in try score { Array(repeating: c, count: $0.count) } }
      bits = (0..<grids.count).map { n in
        let nll = perClass.map { $0[n] }
        let least = nll.min()!
        let sum = nll.reduce(0.0) { $0 + exp(least - $1) }
        return (least - log(sum / Double(prior.classes))) * scale
      }
      classes = nil
      classChoice = "summed over the \(prior.classes) classes"
    }
    bitsPerImage = bits
  }

  /// The class under which the prior finds each grid most likely: for completing images that have no label.
  /// - Throws: `TensorError` if the grids do not fit the prior.
  public static func likeliestClasses(prior: any Prior, grids: CodeGrids) throws -> [Int] {
    let perClass = try (0..<prior.classes).map { c in
      try Scores(prior: prior, grids: grids, labels: [], fixedClass: c).bitsPerImage
    }
    return (0..<grids.count).map { n in (0..<prior.classes).min { perClass[$0][n] < perClass[$1][n] }! }
  }

  /// The area under the ROC curve of telling `outside` from `inside` by a higher score: the chance that a random
  /// outside image scores above a random inside one (ties count half). 0.5 is chance, 1 a perfect detector.
  public static func auroc(inside: [Double], outside: [Double]) -> Double {
    guard !inside.isEmpty, !outside.isEmpty else { return .nan }
    // Mann–Whitney U from the ranks of the pooled, sorted scores; tied scores share their mean rank.
    let pooled = (inside.map { ($0, false) } + outside.map { ($0, true) }).sorted { $0.0 < $1.0 }
    var (rankSum, i) = (0.0, 0)
    while i < pooled.count {
      var j = i
      while j + 1 < pooled.count && pooled[j + 1].0 == pooled[i].0 { j += 1 }
      let rank = Double(i + j) / 2 + 1
      for k in i...j where pooled[k].1 { rankSum += rank }
      i = j + 1
    }
    let n = Double(outside.count)
    return (rankSum - n * (n + 1) / 2) / (n * Double(inside.count))
  }

  /// Histograms of sets of scores on shared bins, as lines of the fraction of each set per bin.
  public static func histogram(_ sets: [(name: String, bits: [Double])], title: String, bins: Int = 40) -> LinePlot {
    let all = sets.flatMap(\.bits).filter(\.isFinite)
    let (low, high) = (all.min() ?? 0, all.max() ?? 1)
    let width = max(high - low, 1e-9) / Double(bins)
    let centres = (0..<bins).map { low + (Double($0) + 0.5) * width }
    let series = sets.map { set in
      var counts = [Double](repeating: 0, count: bins)
      for b in set.bits where b.isFinite { counts[min(bins - 1, Int((b - low) / width))] += 1 }
      return PlotSeries(name: set.name, x: centres, y: counts.map { $0 / Double(max(set.bits.count, 1)) })
    }
    return LinePlot(
      title: title, xLabel: "bits per image under the prior (lines: fraction of images per bin)",
      series: series)
  }

  /// The scores as CSV: `image,name,label,class,bits_per_image,bits_per_latent`.
  public func csv(names: [String], labels: [Int], positions: Int) -> String {
    var lines = ["image,name,label,class,bits_per_image,bits_per_latent"]
    for n in bitsPerImage.indices {
      let label = labels.isEmpty ? "" : "\(labels[n])"
      let scored = classes.map { "\($0[n])" } ?? ""
      lines.append(
        "\(n),\(csvField(names[n])),\(label),\(scored),\(String(format: "%.4f", bitsPerImage[n])),"
          + String(format: "%.6f", bitsPerImage[n] / Double(positions)))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
