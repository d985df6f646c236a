import XCTest
@testable import NeuralNet

final class TensorShapeTests: XCTestCase {
    func testCountAndDescription() {
        XCTAssertEqual(TensorShape(16, 14, 14).count, 3136)
        XCTAssertEqual(TensorShape(10).description, "10x1x1")
    }
}
