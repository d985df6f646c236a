import XCTest
import CSGDCore
@testable import Datasets

/// Reads the real Fashion-MNIST files when Debian's dataset-fashion-mnist
/// is installed; skipped otherwise.
final class FashionMNISTTests: XCTestCase {
    func testDebianFilesLoad() throws {
        let probe = DatasetSpec.fashionMNISTDirectory + "/train-images-idx3-ubyte.gz"
        try XCTSkipUnless(DataFile.isRegularFile(probe), "dataset-fashion-mnist is not installed")
        let train = try DatasetSpec.fashionMNIST.load(split: .train)
        let test = try DatasetSpec.fashionMNIST.load(split: .test)
        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual(test.count, 10_000)
        for d in [train, test] {
            XCTAssertEqual([d.channels, d.height, d.width, d.classes], [1, 28, 28, 10])
            XCTAssertEqual(d.images.count, d.count * 784)
        }
        // Balanced classes, as published: 6000 and 1000 a class.
        XCTAssertEqual(train.classCounts, [Int](repeating: 6000, count: 10))
        XCTAssertEqual(test.classCounts, [Int](repeating: 1000, count: 10))
        XCTAssertEqual(train.labels[0], 9)        // the first training image is an ankle boot
        // Pixels in [0, 1]: the first 100 images reach both ends.
        let head = train.images[0..<(100 * 784)]
        XCTAssertEqual(head.max(), 1)
        XCTAssertEqual(head.min(), 0)
    }
}
