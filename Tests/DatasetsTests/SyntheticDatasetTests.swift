import XCTest
import CSGDCore
@testable import Datasets

final class SyntheticDatasetTests: XCTestCase {
    func testDefaults() throws {
        let spec = try DatasetSpec.parse("synthetic")
        XCTAssertEqual(spec.description, "synthetic:n=2000,classes=10,shape=1x28x28,seed=1,noise=0.3")
        let a = try spec.load(split: .train)
        XCTAssertEqual(a.count, 2000)
        XCTAssertEqual([a.channels, a.height, a.width, a.classes], [1, 28, 28, 10])
        XCTAssertEqual(a.classCounts, [Int](repeating: 200, count: 10))
        guard case let .synthetic(s) = spec else { return XCTFail() }
        XCTAssertEqual(s.effectiveTestCount, 400)
    }

    func testDeterminismPerSeed() throws {
        let spec = try DatasetSpec.parse("synthetic:n=300,test=60")
        let a = try spec.load(split: .train)
        XCTAssertTrue(a.images.allSatisfy { $0 >= 0 && $0 <= 1 })
        let b = try DatasetSpec.parse("synthetic:n=300,test=60").load(split: .train, directory: "/ignored")
        XCTAssertEqual(a.images, b.images)
        XCTAssertEqual(a.labels, b.labels)
        let test = try spec.load(split: .test)
        XCTAssertEqual(test.count, 60)
        XCTAssertNotEqual(Array(test.images[0..<784]), Array(a.images[0..<784]))
        let other = try DatasetSpec.parse("synthetic:n=300,seed=2").load(split: .train)
        XCTAssertNotEqual(other.images, a.images)
    }

    func testOptions() throws {
        let s = try DatasetSpec.parse("synthetic:n=50, classes=3,shape=3x8x5,seed=9,test=7,noise=0")
        XCTAssertEqual(s.description, "synthetic:n=50,classes=3,shape=3x8x5,seed=9,test=7,noise=0.0")
        XCTAssertEqual(try DatasetSpec.parse(s.description), s)
        let d = try s.load(split: .train)
        XCTAssertEqual([d.count, d.channels, d.height, d.width, d.classes], [50, 3, 8, 5, 3])
        XCTAssertEqual(try s.load(split: .test).count, 7)
        // With no noise, samples of one class are identical and classes differ.
        let size = d.sampleSize
        XCTAssertEqual(Array(d.images[0..<size]), Array(d.images[(3 * size)..<(4 * size)]))
        XCTAssertNotEqual(Array(d.images[0..<size]), Array(d.images[size..<(2 * size)]))
    }

    /// Nearest class mean on the training split classifies the test split:
    /// the patterns are learnable.
    func testNearestMeanClassifierLearnsIt() throws {
        let spec = try DatasetSpec.parse("synthetic:n=500,test=200")
        let train = try spec.load(split: .train), test = try spec.load(split: .test)
        let s = train.sampleSize
        var means = [Float](repeating: 0, count: 10 * s)
        for i in 0..<train.count {
            for j in 0..<s { means[Int(train.labels[i]) * s + j] += train.images[i * s + j] / 50 }
        }
        var correct = 0
        for i in 0..<test.count {
            var best = (0, Float.infinity)
            for c in 0..<10 {
                var dist: Float = 0
                for j in 0..<s { let t = test.images[i * s + j] - means[c * s + j]; dist += t * t }
                if dist < best.1 { best = (c, dist) }
            }
            if best.0 == Int(test.labels[i]) { correct += 1 }
        }
        XCTAssertGreaterThan(correct, 190)
    }

    func testBadOptions() {
        assertOneLineError(["dataset 'synthetic': option 'size' is not known (allowed: n, classes, shape, seed, test, noise)"]) {
            try DatasetSpec.parse("synthetic:size=3")
        }
        assertOneLineError(["dataset 'synthetic': n = 0 must be positive"]) { try DatasetSpec.parse("synthetic:n=0") }
        assertOneLineError(["dataset 'synthetic': shape = '28x28' is not CxHxW"]) { try DatasetSpec.parse("synthetic:shape=28x28") }
        assertOneLineError(["dataset 'synthetic': classes = 300 exceeds 256"]) { try DatasetSpec.parse("synthetic:classes=300") }
        assertOneLineError(["dataset 'synthetic': option 'n' needs a value (n=…)"]) { try DatasetSpec.parse("synthetic:n") }
        assertOneLineError(["dataset 'synthetic': option 'n' is given twice"]) { try DatasetSpec.parse("synthetic:n=1,n=2") }
        assertOneLineError(["dataset 'synthetic': noise = -1 must be non-negative"]) { try DatasetSpec.parse("synthetic:noise=-1") }
        assertOneLineError(["dataset 'synthetic': seed = '-1' is not a non-negative integer"]) { try DatasetSpec.parse("synthetic:seed=-1") }
        assertOneLineError(["exceed"]) { try DatasetSpec.parse("synthetic:n=1000000000,shape=3x1000x1000") }
    }
}
