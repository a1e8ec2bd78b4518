// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "vqvae-swift",
  platforms: [.macOS(.v13)],
  products: [
    .library(name: "TensorEngine", targets: ["TensorEngine"]),
    .library(name: "VQVAE", targets: ["VQVAE"]),
    .executable(name: "vqvae-bench", targets: ["VQVAEBench"]),
    .executable(name: "vqvae-train", targets: ["VQVAETrain"]),
    .executable(name: "extract-latents", targets: ["ExtractLatents"]),
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

    .executableTarget(
      name: "VQVAETrain",
      dependencies: ["VQVAE", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

    .executableTarget(
      name: "ExtractLatents",
      dependencies: ["VQVAE", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

    .testTarget(
      name: "TensorEngineTests", dependencies: ["TensorEngine"], resources: [.copy("Fixtures")]),
    .testTarget(name: "VQVAETests", dependencies: ["VQVAE"], resources: [.copy("Fixtures")]),
  ]
)
