import XCTest
@testable import Plotting

final class TicksTests: XCTestCase {
    func testLinearZeroToOneStepsByFifths() {
        let ticks = Ticks.linear(from: 0, to: 1)
        XCTAssertEqual(ticks.major.map(\.value), [0, 0.2, 0.4, 0.6, 0.8, 1])
        XCTAssertEqual(ticks.major.map(\.label), ["0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertTrue(ticks.minor.isEmpty)
    }

    func testLinearStepsAreOneTwoFive() {
        for (lo, hi) in [(0.0, 7.3), (-3.0, 41.0), (0.013, 0.0171), (1e6, 3.2e6), (-1e-5, 2e-5)] {
            let values = Ticks.linear(from: lo, to: hi).major.map(\.value)
            XCTAssertGreaterThanOrEqual(values.count, 2, "\(lo)…\(hi)")
            XCTAssertLessThanOrEqual(values.count, 11, "\(lo)…\(hi)")
            let step = values[1] - values[0]
            let mantissa = step / pow(10, floor(log10(step)))
            XCTAssertTrue([1, 2, 5].contains { abs(mantissa - $0) < 1e-6 }, "step \(step) for \(lo)…\(hi)")
            XCTAssertTrue(values.allSatisfy { $0 >= lo - 1e-12 && $0 <= hi + 1e-12 })
        }
    }

    func testLinearLabelStyles() {
        XCTAssertEqual(Ticks.linear(from: 0, to: 10_000).major.map(\.label), ["0", "2k", "4k", "6k", "8k", "10k"])
        XCTAssertEqual(Ticks.linear(from: 0, to: 5e-4).major.map(\.label), ["0", "1e-4", "2e-4", "3e-4", "4e-4", "5e-4"])
        XCTAssertEqual(Ticks.linear(from: -1, to: 1).major.map(\.label), ["\u{2212}1.0", "\u{2212}0.5", "0", "0.5", "1.0"])
        XCTAssertEqual(Ticks.linear(from: 0, to: 3e6, intervals: 3).major.map(\.label), ["0", "1M", "2M", "3M"])
    }

    func testLinearDegenerateRanges() {
        XCTAssertEqual(Ticks.linear(from: 2, to: 2).major.map(\.value), [2])
        XCTAssertTrue(Ticks.linear(from: .nan, to: 1).major.isEmpty)
        XCTAssertTrue(Ticks.linear(from: 0, to: .infinity).major.isEmpty)
        XCTAssertEqual(Ticks.linear(from: 1, to: 0).major.first?.value, 0)
    }

    func testLogGivesTheSixDecades() {
        let ticks = Ticks.log(from: 1e-3, to: 1e2)
        XCTAssertEqual(ticks.major.map(\.value), [1e-3, 1e-2, 1e-1, 1, 10, 100])
        XCTAssertEqual(ticks.major.map(\.label), ["10⁻³", "10⁻²", "10⁻¹", "10⁰", "10¹", "10²"])
        XCTAssertEqual(ticks.minor.count, 5 * 8)
        XCTAssertEqual(ticks.minor.first!, 2e-3, accuracy: 1e-15)
        XCTAssertEqual(ticks.minor.last!, 90, accuracy: 1e-12)
    }

    func testLogWithZeroOrNegativeEnds() {
        XCTAssertEqual(Ticks.log(from: 0, to: 100).major.map(\.value), [0.1, 1, 10, 100])
        XCTAssertEqual(Ticks.log(from: -5, to: 100).major.map(\.value), [0.1, 1, 10, 100])
        XCTAssertTrue(Ticks.log(from: -5, to: 0).major.isEmpty)
        XCTAssertTrue(Ticks.log(from: 1, to: .nan).major.isEmpty)
    }

    func testLogManyDecadesLabelsEveryFewth() {
        let ticks = Ticks.log(from: 1e-12, to: 1e12, maxLabels: 8)
        XCTAssertEqual(ticks.major.map(\.label), ["10⁻¹²", "10⁻⁸", "10⁻⁴", "10⁰", "10⁴", "10⁸", "10¹²"])
        XCTAssertEqual(ticks.minor.count, 25 - 7)
    }

    func testLogNarrowSpans() {
        XCTAssertEqual(Ticks.log(from: 0.03, to: 3).major.map(\.label), ["0.05", "0.1", "0.2", "0.5", "1", "2"])
        let narrow = Ticks.log(from: 2, to: 8)
        XCTAssertGreaterThanOrEqual(narrow.major.count, 3)
        XCTAssertTrue(narrow.major.allSatisfy { $0.value >= 2 && $0.value <= 8 })
    }

    func testNumberFormats() {
        XCTAssertEqual(NumberFormat.coordinate(12.345), "12.35")
        XCTAssertEqual(NumberFormat.coordinate(-0.001), "0")
        XCTAssertEqual(NumberFormat.coordinate(3), "3")
        XCTAssertEqual(NumberFormat.coordinate(-2.5), "-2.5")
        XCTAssertEqual(NumberFormat.coordinate(.nan), "0")
        XCTAssertEqual(NumberFormat.compact(9.996), "10")
        XCTAssertEqual(NumberFormat.compact(0.00123), "0.00123")
        XCTAssertEqual(NumberFormat.compact(0.000123), "1.23e-4")
        XCTAssertEqual(NumberFormat.compact(123_456), "123k")
        XCTAssertEqual(NumberFormat.compact(-1500), "\u{2212}1500")
        XCTAssertEqual(NumberFormat.withUncertainty(-1.9834, error: 0.0512), "\u{2212}1.98 ± 0.05")
        XCTAssertEqual(NumberFormat.withUncertainty(0.51234, error: 0.0134), "0.512 ± 0.013")
        XCTAssertEqual(NumberFormat.withUncertainty(1234, error: 56), "1230 ± 60")
        XCTAssertEqual(NumberFormat.powerOfTen(-12), "10⁻¹²")
    }
}
