import Foundation
import TestSupport
import XCTest

/// The modules' imports point one way: engine <- models, data files <- pipeline <- command support <- executables.
/// The compiler enforces what Package.swift declares; this test keeps Package.swift from drifting upward.
final class LayeringTests: XCTestCase {
  /// Every module of ours and the modules of ours it may import (system modules are always allowed).
  static let allowed: [String: Set<String>] = [
    "TensorEngine": ["CBLAS"],
    "Models": ["TensorEngine"],
    "DataFiles": ["TensorEngine", "CPNG", "CZlib", "SwiftProtobuf"],
    "Pipeline": ["TensorEngine", "Models", "DataFiles", "CMPI", "Crypto"],
    "CommandSupport": ["TensorEngine", "Models", "DataFiles", "Pipeline", "ArgumentParser"],
    "VQVAETrain": executable,
    "ExtractLatents": executable,
    "GatedPixelCNNTrain": executable,
    "Sample": executable,
    "VQVAETools": executable,
    "VQVAEBench": executable.union(["CBLAS"]),
  ]
  /// An executable sits on top: it may import every layer of ours.
  static let executable: Set<String> = [
    "TensorEngine", "Models", "DataFiles", "Pipeline", "CommandSupport", "ArgumentParser",
  ]
  static let system: Set<String> = [
    "Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Darwin", "Dispatch", "Synchronization",
  ]

  /// One line per import under `sources` (a `Sources/` folder) that is not allowed.
  static func violations(under sources: URL) throws -> (imports: Int, violations: [String]) {
    var (count, violations) = (0, [String]())
    for module in try FileManager.default.contentsOfDirectory(atPath: sources.path) {
      let folder = sources.appendingPathComponent(module)
      guard let walker = FileManager.default.enumerator(atPath: folder.path) else { continue }
      for case let file as String in walker where file.hasSuffix(".swift") {
        let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
        for line in text.split(separator: "\n") {
          // `import X`, `@testable import X`, `@_exported import X`.
          let words = line.split(separator: " ")
          guard let position = words.firstIndex(of: "import"), position + 1 < words.count,
            words[..<position].allSatisfy({ $0.hasPrefix("@") })
          else { continue }
          let imported = String(words[position + 1])
          count += 1
          if system.contains(imported) { continue }
          guard let allowed = allowed[module] else {
            violations.append("Sources/\(module) is not in LayeringTests.allowed: say which modules it may import")
            break
          }
          if !allowed.contains(imported) {
            violations.append("Sources/\(module)/\(file) imports \(imported), which is not below \(module)")
          }
        }
      }
    }
    return (count, violations)
  }

  func testEveryModuleImportsOnlyTheLayersBelowIt() throws {
    let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Sources")
    let (imports, violations) = try Self.violations(under: sources)
    XCTAssertGreaterThan(imports, 50, "the walk found too few imports to be reading \(sources.path)")
    XCTAssertEqual(violations, [])
  }

  func testAnUpwardImportIsReported() throws {
    let sources = URL(fileURLWithPath: try DataTestSupport.makeTemporaryFolder())
    let models = sources.appendingPathComponent("Models/VQVAE")
    try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
    try "import Foundation\n@testable import Pipeline\nimport TensorEngine\n".write(
      to: models.appendingPathComponent("Encoder.swift"), atomically: true, encoding: .utf8)
    let (imports, violations) = try Self.violations(under: sources)
    XCTAssertEqual(imports, 3)
    XCTAssertEqual(violations, ["Sources/Models/VQVAE/Encoder.swift imports Pipeline, which is not below Models"])
  }
}
