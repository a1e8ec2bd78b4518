import ArgumentParser
import XCTest

@testable import CommandSupport

/// The sampling flags reach the prior's options, in both spellings, and bad values are refused naming the flag.
final class SamplingFlagsTests: XCTestCase {
  func testTopPInEitherSpellingReachesTheSamplingOptions() throws {
    XCTAssertEqual(try SamplingFlags.parse(["--top-p", "0.9"]).options.topP, 0.9)
    XCTAssertEqual(try SamplingFlags.parse(["--top_p", "0.5", "--top-k", "20"]).options.topP, 0.5)
    XCTAssertNil(try SamplingFlags.parse([]).options.topP, "all codes by default")
  }

  func testTopPOutsideZeroToOneIsRefusedNamingTheFlag() {
    for bad in ["0", "1.5", "-0.1"] {
      XCTAssertThrowsError(try SamplingFlags.parse(["--top-p=\(bad)"])) {
        XCTAssertTrue(SamplingFlags.message(for: $0).contains("--top-p must be in (0, 1]"), "\($0)")
      }
    }
  }
}
