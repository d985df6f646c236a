import XCTest
import CSGDCore
@testable import Datasets

final class DatasetSpecTests: XCTestCase {
    func testNamesAndDefaults() throws {
        XCTAssertEqual(try DatasetSpec.parse("fashion-mnist"), .fashionMNIST)
        XCTAssertEqual(try DatasetSpec.parse(" Fashion-MNIST "), .fashionMNIST)
        XCTAssertEqual(try DatasetSpec.parse("mnist"), .mnist)
        XCTAssertEqual(try DatasetSpec.parse("cifar-10"), .cifar10)
        XCTAssertEqual(DatasetSpec.fashionMNIST.defaultDirectory, "/usr/share/datasets/fashion-mnist")
        XCTAssertEqual(DatasetSpec.fashionMNIST.debianPackage, "dataset-fashion-mnist")
        XCTAssertNil(DatasetSpec.mnist.defaultDirectory)
        XCTAssertNil(DatasetSpec.cifar10.debianPackage)
        XCTAssertEqual(DatasetSpec.cifar10.sampleShape.channels, 3)
        XCTAssertEqual(DatasetSpec.fashionMNIST.classes, 10)
        XCTAssertEqual(DatasetSpec.idxFileNames(.test).images, "t10k-images-idx3-ubyte")
        XCTAssertEqual(DatasetSpec.cifar10.description, "cifar10")
    }

    func testBadNames() {
        assertOneLineError(["dataset 'imagenet' is not known (expected one of: fashion-mnist, mnist, cifar10, synthetic)"]) {
            try DatasetSpec.parse("imagenet")
        }
        assertOneLineError(["dataset 'mnist': takes no options (got 'n=3')"]) { try DatasetSpec.parse("mnist:n=3") }
        assertOneLineError(["dataset '' is not known"]) { try DatasetSpec.parse("") }
        XCTAssertEqual(try DatasetSpec.parse("fashion_mnist"), .fashionMNIST)
        XCTAssertEqual(try DatasetSpec.parse("CIFAR10"), .cifar10)
    }

    func testDatasetHelpers() throws {
        let d = try DatasetSpec.parse("synthetic:n=12,classes=4,shape=1x2x2").load(split: .train)
        let p = d.prefix(5)
        XCTAssertEqual(p.count, 5)
        XCTAssertEqual(p.images, Array(d.images[0..<20]))
        XCTAssertEqual(d.prefix(100).count, 12)
        let s = d.subset([7, 2])
        XCTAssertEqual(s.labels, [d.labels[7], d.labels[2]])
        XCTAssertEqual(Array(s.images[4..<8]), Array(d.images[8..<12]))
        XCTAssertEqual(d.classCounts, [3, 3, 3, 3])
    }
}
