// swift-tools-version:6.0
import PackageDescription

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

/// The engine, the models, the data files and the pipeline are compiled with optimisation in debug builds too, so
/// that `swift run vqvae-train` trains at release speed (a debug build ran its numeric loops 10-100x slower); the
/// command code stays unoptimised for the debugger. SwiftPM accepts unsafe flags in a root package: a package that
/// depends on this one by version must build it in release.
let optimised: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

/// What every stage's executable is built on.
let stage: [Target.Dependency] = ["Pipeline", "CommandSupport", argumentParser]

let package = Package(
  name: "vqvae-swift",
  platforms: [.macOS(.v13)],
  products: [
    .library(name: "TensorEngine", targets: ["TensorEngine"]),
    .library(name: "Models", targets: ["Models"]),
    .library(name: "DataFiles", targets: ["DataFiles"]),
    .library(name: "Pipeline", targets: ["Pipeline"]),
    .executable(name: "vqvae-bench", targets: ["VQVAEBench"]),
    .executable(name: "vqvae-train", targets: ["VQVAETrain"]),
    .executable(name: "extract-latents", targets: ["ExtractLatents"]),
    .executable(name: "gated-pixelcnn", targets: ["GatedPixelCNNTrain"]),
    .executable(name: "sample", targets: ["Sample"]),
    .executable(name: "vqvae-tools", targets: ["VQVAETools"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
  ],
  targets: [
    // C libraries from Debian's packages (see scripts/setup.sh).
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
    // Open MPI, for training over several processes (`mpirun`); never initialised without it.
    .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),

    // The layers, each importing only the ones above it (Tests/PipelineTests/LayeringTests.swift checks this).
    // Tensors, reverse-mode autodiff, ops, layers, optimisers, RNG, safetensors.
    .target(name: "TensorEngine", dependencies: ["CBLAS"], swiftSettings: optimised),
    // Encoder, decoder, quantizer, codebook, priors and their samplers: tensors in, tensors out, no files.
    .target(name: "Models", dependencies: ["TensorEngine"], swiftSettings: optimised),
    // Datasets (IDX, CIFAR-10, image folders), PNG, pictures, .npy, the LATENT_BLOCK and TensorBoard event files
    // (their messages generated from TensorBoard/tensorboard.proto by scripts/generate-protos.sh).
    .target(
      name: "DataFiles",
      dependencies: ["TensorEngine", "CPNG", "CZlib", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
      exclude: ["TensorBoard/tensorboard.proto"], swiftSettings: optimised),
    // Settings, run folders, checkpoints, the training loop (over MPI's ranks too) and the four stages.
    .target(
      name: "Pipeline",
      dependencies: ["Models", "DataFiles", "CMPI", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: optimised),
    // What the executables share: option groups, flag spellings, stopping on Ctrl-C.
    .target(name: "CommandSupport", dependencies: ["Pipeline", argumentParser]),

    // One thin executable per stage of the pipeline.
    .executableTarget(name: "VQVAETrain", dependencies: stage),
    .executableTarget(name: "ExtractLatents", dependencies: stage),
    .executableTarget(name: "GatedPixelCNNTrain", dependencies: stage),
    .executableTarget(name: "Sample", dependencies: stage),
    // What a trained run is used for beyond the four stages: reconstruct, encode, decode, complete, score, ...
    .executableTarget(name: "VQVAETools", dependencies: stage),
    .executableTarget(name: "VQVAEBench", dependencies: ["Pipeline", "CBLAS", argumentParser]),

    // One test target per module; TestSupport holds the helpers they share (temporary folders, python3).
    .target(name: "TestSupport", dependencies: ["CZlib"], path: "Tests/TestSupport"),
    .testTarget(name: "TensorEngineTests", dependencies: ["TensorEngine", "TestSupport"], resources: [.copy("Fixtures")]),
    .testTarget(name: "ModelsTests", dependencies: ["Models", "TestSupport"], resources: [.copy("Fixtures")]),
    .testTarget(name: "DataFilesTests", dependencies: ["DataFiles", "TestSupport"]),
    .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "TestSupport"]),
    .testTarget(name: "CommandSupportTests", dependencies: ["CommandSupport", "TestSupport"]),
  ]
)
