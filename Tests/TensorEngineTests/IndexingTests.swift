import XCTest

@testable import TensorEngine

final class IndexingTests: XCTestCase {
  /// The nearest row by brute force over 300 columns (blocks of 128, 128 and 44 columns: runs of 16 and tails),
  /// with a repeated row whose ties must go to its first copy.
  func testNearestRowsMatchesBruteForce() throws {
    var table = randomTensor([7, 3], seed: 1, requiresGrad: false)
    var rows = table.data
    rows.replaceSubrange(15..<18, with: rows[3..<6])  // row 5 = row 1
    table = try Tensor(rows, shape: [7, 3])
    let n = 300
    let pointValues = randomTensor([3, n], seed: 2, requiresGrad: false).data
    // The last column sits exactly on row 1 (and so on its copy, row 5).
    var points = pointValues
    for c in 0..<3 { points[c * n + n - 1] = rows[3 + c] }
    let nearest = try table.nearestRows(toColumnsOf: try Tensor(points, shape: [3, n]))
    let expected = (0..<n).map { column in
      (0..<7).min { a, b in
        func distance(_ j: Int) -> Float {
          (0..<3).reduce(0) { $0 + pow(points[$1 * n + column] - rows[j * 3 + $1], 2) }
        }
        return distance(a) < distance(b) || (distance(a) == distance(b) && a < b)
      }!
    }
    XCTAssertEqual(nearest, expected)
    XCTAssertEqual(nearest[n - 1], 1, "a tie goes to the first row")
    XCTAssertTrue(nearest.contains { $0 != nearest[0] }, "the points do not all share one row")
    XCTAssertEqual(try table.nearestRows(toColumnsOf: try Tensor([Float](), shape: [3, 0])), [])
  }
}
