import ArgumentParser

extension NameSpecification {
  /// `--batch-size` and the PyTorch repo's underscore spelling `--batch_size` (one name when they are the same),
  /// from the underscore spelling of a configuration key.
  public static func dashedAndUnderscored(_ key: String) -> NameSpecification {
    let dashed = String(key.map { $0 == "_" ? "-" : $0 })
    return dashed == key ? [.customLong(key)] : [.customLong(dashed), .customLong(key)]
  }
}
