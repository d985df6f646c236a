import XCTest
@testable import Reproduce

/// Quantiles against NumPy's default (linear interpolation), least-squares
/// slopes against exact lines and a known noisy case.
final class StatisticsTests: XCTestCase {
    func testQuantilesInterpolateBetweenOrderStatistics() {
        let xs: [Double] = [4, 1, 3, 2, 5]
        XCTAssertEqual(Statistics.quantile(xs, 0), 1)
        XCTAssertEqual(Statistics.quantile(xs, 1), 5)
        XCTAssertEqual(Statistics.median(xs), 3)
        XCTAssertEqual(Statistics.quantile(xs, 0.1), 1.4, accuracy: 1e-12)   // numpy.quantile([1,2,3,4,5], 0.1)
        XCTAssertEqual(Statistics.quantile(xs, 0.9), 4.6, accuracy: 1e-12)
        XCTAssertEqual(Statistics.quantile([2, 8], 0.25), 3.5, accuracy: 1e-12)
        XCTAssertTrue(Statistics.quantile([], 0.5).isNaN)
        XCTAssertEqual(Statistics.mean([1, 2, 6]), 3)
    }

    func testExactLineHasZeroErrorAndRSquaredOne() throws {
        let x = (0..<10).map(Double.init)
        let fit = try XCTUnwrap(Statistics.fitLine(x: x, y: x.map { 3 - 0.5 * $0 }))
        XCTAssertEqual(fit.slope, -0.5, accuracy: 1e-12)
        XCTAssertEqual(fit.intercept, 3, accuracy: 1e-12)
        XCTAssertEqual(fit.slopeStandardError, 0, accuracy: 1e-12)
        XCTAssertEqual(fit.rSquared, 1, accuracy: 1e-12)
        XCTAssertEqual(fit.points, 10)
    }

    func testNoisyLineMatchesTheClosedForm() throws {
        // y = 1 + 2x + (−1, +1, −1, +1, −1): Sxx = 10, slope = 2 + Σ(x−x̄)e/Sxx = 2 + 0 = 2.
        let x: [Double] = [0, 1, 2, 3, 4], e: [Double] = [-1, 1, -1, 1, -1]
        let fit = try XCTUnwrap(Statistics.fitLine(x: x, y: zip(x, e).map { 1 + 2 * $0 + $1 }))
        XCTAssertEqual(fit.slope, 2, accuracy: 1e-12)
        // Residual SS: Σe² − (Σ(x−x̄)e)²/Sxx − n·ē² = 5 − 0 − 5·0.04 = 4.8; se = √(4.8/3/10).
        XCTAssertEqual(fit.slopeStandardError, (4.8 / 3 / 10).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(fit.slopeHalfWidth95, 3.182 * (4.8 / 3 / 10).squareRoot(), accuracy: 1e-9)
    }

    func testPowerLawRecoversTheExponentAndSkipsNonPositive() throws {
        let x: [Double] = [0, 1e-3, 1e-2, 1e-1, 1, -5]
        let fit = try XCTUnwrap(Statistics.fitPowerLaw(x: x, y: x.map { 7 * pow($0, -1.75) }))
        XCTAssertEqual(fit.slope, -1.75, accuracy: 1e-9)
        XCTAssertEqual(fit.points, 4)
        XCTAssertNil(Statistics.fitLine(x: [1, 1, 1], y: [1, 2, 3]), "every x equal: no slope")
        XCTAssertNil(Statistics.fitLine(x: [1, 2], y: [1, 2]), "two points: no interval")
    }

    func testStudentTQuantiles() {
        XCTAssertEqual(Statistics.studentT975(degrees: 1), 12.706)
        XCTAssertEqual(Statistics.studentT975(degrees: 10), 2.228)
        XCTAssertEqual(Statistics.studentT975(degrees: 60), 2.000, accuracy: 0.002)   // table: 2.000
        XCTAssertEqual(Statistics.studentT975(degrees: 1000), 1.962, accuracy: 0.001)
    }
}
