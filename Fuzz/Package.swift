// swift-tools-version:6.0
import PackageDescription

/// The fuzzing harness of the toolkit's file readers: one libFuzzer executable, `fuzz-readers`, that feeds each input
/// to the reader named by the environment variable `FUZZ_READER` (see Sources/FuzzReaders/Readers.swift). It is a
/// package of its own so that the toolkit's build and tests never see it; scripts/fuzz.sh builds it with libFuzzer
/// and AddressSanitizer (and says why with those flags) and runs it on the seeds in Corpus/.
///
/// libFuzzer brings its own `main`, so the harness is compiled as a library (`-parse-as-library`: no top-level code,
/// no `main` of Swift's own). SwiftPM accepts the unsafe flag because this package is the root of its build.
let package = Package(
  name: "vqvae-swift-fuzz",
  platforms: [.macOS(.v13)],
  dependencies: [
    // The toolkit, by path. Named, because a path dependency is otherwise known by its folder's name (the checkout's,
    // which varies).
    .package(name: "vqvae-swift", path: "..")
  ],
  targets: [
    .executableTarget(
      name: "fuzz-readers",
      dependencies: [
        .product(name: "TensorEngine", package: "vqvae-swift"),
        .product(name: "DataFiles", package: "vqvae-swift"),
        .product(name: "Pipeline", package: "vqvae-swift"),
      ],
      path: "Sources/FuzzReaders",
      swiftSettings: [.unsafeFlags(["-parse-as-library"])])
  ]
)
