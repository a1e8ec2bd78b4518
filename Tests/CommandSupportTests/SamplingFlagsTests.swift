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

  func testGuidanceInEachSpellingReachesTheSamplingOptions() throws {
    XCTAssertEqual(try SamplingFlags.parse(["--guidance", "3"]).options.guidance, 3)
    XCTAssertEqual(try SamplingFlags.parse(["--guidance-scale", "1.5"]).options.guidance, 1.5)
    XCTAssertEqual(try SamplingFlags.parse(["--guidance_scale", "0"]).options.guidance, 0)
    XCTAssertFalse(try SamplingFlags.parse([]).options.isGuided, "plain conditional sampling by default")
  }

  func testNegativeOrNonFiniteGuidanceIsRefusedNamingTheFlag() {
    for bad in ["-1", "nan", "inf"] {
      XCTAssertThrowsError(try SamplingFlags.parse(["--guidance=\(bad)"])) {
        XCTAssertTrue(SamplingFlags.message(for: $0).contains("--guidance must be a number >= 0"), "\($0)")
      }
    }
  }
}
