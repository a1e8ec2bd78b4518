import ArgumentParser
import Foundation
import Pipeline

/// `--mirror`: where datasets are downloaded from.
public struct MirrorFlags: ParsableArguments {
  @Option(
    name: .customLong("mirror"),
    help: ArgumentHelp(
      "A base URL to download from instead of the official mirrors; give it again for more, tried in turn "
        + "(default: $\(Downloader.mirrorVariable), else the official ones).", valueName: "url"))
  public var mirrors: [String] = []

  public init() {}

  /// A downloader from these mirrors that shows its progress.
  public var downloader: Downloader {
    let downloader = Downloader(mirrors: mirrors)
    downloader.reporter = ProgressReporter()
    return downloader
  }
}

/// `--download` and `--mirror`: fetch a dataset that is not there, as torchvision's `download=True` does.
public struct DownloadFlags: ParsableArguments {
  @Flag(
    help: ArgumentHelp(
      "Download the dataset (MNIST, FASHION_MNIST, CIFAR10) into --data-dir when it is not there: verified by "
        + "SHA-256, resumed if cut."))
  public var download = false

  @OptionGroup public var mirrors: MirrorFlags

  public init() {}
}
