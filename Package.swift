// swift-tools-version:6.0
import PackageDescription

/// What every stage's executable is built on.
let stage: [Target.Dependency] = [
  "VQVAE", "CommandSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
]

let package = Package(
  name: "vqvae-swift",
  platforms: [.macOS(.v13)],
  products: [
    .library(name: "TensorEngine", targets: ["TensorEngine"]),
    .library(name: "VQVAE", targets: ["VQVAE"]),
    .executable(name: "vqvae-bench", targets: ["VQVAEBench"]),
    .executable(name: "vqvae-train", targets: ["VQVAETrain"]),
    .executable(name: "extract-latents", targets: ["ExtractLatents"]),
    .executable(name: "gated-pixelcnn", targets: ["GatedPixelCNNTrain"]),
    .executable(name: "sample", targets: ["Sample"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // C libraries from Debian's packages (see scripts/setup.sh).
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

    // Tensors, reverse-mode autodiff, ops, layers, optimisers, RNG, safetensors.
    .target(name: "TensorEngine", dependencies: ["CBLAS"]),
    // The VQ-VAE toolkit: models, datasets, file formats, training helpers.
    .target(name: "VQVAE", dependencies: ["TensorEngine", "CPNG", "CZlib"]),

    .executableTarget(
      name: "VQVAEBench",
      dependencies: [
        "TensorEngine", "VQVAE", "CBLAS", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    // What the executables share: flag spellings, stopping on Ctrl-C.
    .target(
      name: "CommandSupport", dependencies: ["VQVAE", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    // One thin executable per stage of the pipeline.
    .executableTarget(name: "VQVAETrain", dependencies: stage),
    .executableTarget(name: "ExtractLatents", dependencies: stage),
    .executableTarget(name: "GatedPixelCNNTrain", dependencies: stage),
    .executableTarget(name: "Sample", dependencies: stage),

    .testTarget(
      name: "TensorEngineTests", dependencies: ["TensorEngine"], resources: [.copy("Fixtures")]),
    .testTarget(name: "VQVAETests", dependencies: ["VQVAE"], resources: [.copy("Fixtures")]),
  ]
)
