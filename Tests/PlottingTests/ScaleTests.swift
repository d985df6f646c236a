import XCTest
@testable import Plotting

final class ScaleTests: XCTestCase {
    func testLogSkipsValuesItCannotShow() {
        XCTAssertNil(Scale.log.transform(0))
        XCTAssertNil(Scale.log.transform(-1))
        XCTAssertNil(Scale.log.transform(.infinity))
        XCTAssertNil(Scale.linear.transform(.nan))
        XCTAssertEqual(Scale.log.transform(1000), 3)
        let span = Axis(scale: .log, padding: 0).span(covering: [-3, 0, 0.01, 10, .nan])
        XCTAssertEqual(span.lowerBound, -2, accuracy: 1e-12)
        XCTAssertEqual(span.upperBound, 1, accuracy: 1e-12)
    }

    func testFixedEndsOverrideAndNonPositiveLogEndsAreIgnored() {
        let linear = Axis(scale: .linear, min: 0, max: 5).span(covering: [1, 2, 30])
        XCTAssertEqual(linear, 0...5)
        let log = Axis(scale: .log, min: 0, max: 1000, padding: 0).span(covering: [0.1, 10])
        XCTAssertEqual(log.lowerBound, -1, accuracy: 1e-12)
        XCTAssertEqual(log.upperBound, 3, accuracy: 1e-12)
    }

    func testDegenerateDataGiveUsableSpans() {
        XCTAssertEqual(Axis().span(covering: []), 0...1)
        XCTAssertEqual(Axis(scale: .log).span(covering: [-1, .nan]), 0...1)
        XCTAssertEqual(Axis(padding: 0).span(covering: [0, 0]), -1...1)
        let equal = Axis().span(covering: [5, 5, 5])
        XCTAssertEqual(equal.lowerBound, 4.5, accuracy: 1e-12)
        XCTAssertEqual(equal.upperBound, 5.5, accuracy: 1e-12)
        let log = Axis(scale: .log).span(covering: [100, 100])
        XCTAssertEqual(log, 1.5...2.5)
        let lowerOnly = Axis(min: 3).span(covering: [1, 2])
        XCTAssertLessThan(lowerOnly.lowerBound, lowerOnly.upperBound)
    }
}
