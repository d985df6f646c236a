import XCTest
@testable import Datasets

final class DatasetTests: XCTestCase {
    func testSampleSizeAndCount() {
        let d = Dataset(name: "t", channels: 1, height: 2, width: 3, classes: 2, images: [Float](repeating: 0, count: 12), labels: [0, 1])
        XCTAssertEqual(d.count, 2)
        XCTAssertEqual(d.sampleSize, 6)
    }
}
