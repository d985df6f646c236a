import XCTest
import CSGDCore
@testable import Datasets

final class PartitionTests: XCTestCase {
    /// 103 samples, labels from a keyed stream over 10 classes, all present.
    static let labels: [UInt8] = {
        var s = RandomStream(key: RandomKey(seed: 3, purpose: .test))
        return (0..<103).map { $0 < 10 ? UInt8($0) : UInt8(s.nextInt(below: 10)) }
    }()

    func run(_ spec: String, workers: Int, seed: UInt64 = 11, labels: [UInt8] = labels) throws -> [[Int32]] {
        try PartitionSpec.parse(spec).partition(labels: labels, classes: 10, workers: workers, seed: seed)
    }

    /// Disjoint shards whose union is every index, each sorted and non-empty.
    func assertCovers(_ shards: [[Int32]], n: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(shards.flatMap { $0 }.sorted(), (0..<Int32(n)).map { $0 }, file: file, line: line)
        for s in shards {
            XCTAssertFalse(s.isEmpty, file: file, line: line)
            XCTAssertEqual(s, s.sorted(), file: file, line: line)
        }
    }

    func testIIDIsBalancedDisjointAndKeyed() throws {
        for w in [1, 3, 7, 10, 103] {
            let shards = try run("iid", workers: w)
            XCTAssertEqual(shards.count, w)
            assertCovers(shards, n: 103)
            let sizes = shards.map(\.count)
            XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
        }
        XCTAssertEqual(try run("iid", workers: 4), try run("iid", workers: 4))
        XCTAssertNotEqual(try run("iid", workers: 4), try run("iid", workers: 4, seed: 12))
        // A shuffle, not contiguous blocks.
        XCTAssertNotEqual(try run("iid", workers: 4)[0], (0..<26).map { Int32($0) })
    }

    func testByClassIsPure() throws {
        let shards = try run("by-class", workers: 10)
        assertCovers(shards, n: 103)
        for (w, s) in shards.enumerated() {
            XCTAssertTrue(s.allSatisfy { Self.labels[Int($0)] == UInt8(w) }, "worker \(w)")
        }
        // Fewer workers: classes round-robin, worker w holds classes ≡ w (mod 3).
        let three = try run("by-class", workers: 3)
        assertCovers(three, n: 103)
        for (w, s) in three.enumerated() {
            XCTAssertEqual(Set(s.map { Int(Self.labels[Int($0)]) % 3 }), [w])
        }
        assertOneLineError(["by-class", "11 workers but only 10 classes present", "worker 10 would get no data"]) {
            try run("by-class", workers: 11)
        }
        // A class missing: 10 workers but 9 classes present.
        let noFive = Self.labels.map { $0 == 5 ? 4 : $0 }
        assertOneLineError(["only 9 classes present"]) { try run("by-class", workers: 10, labels: noFive) }
        // With class 5 absent and 9 workers, worker 5 gets class 6.
        let nine = try run("by-class", workers: 9, labels: noFive)
        XCTAssertTrue(nine[5].allSatisfy { noFive[Int($0)] == 6 })
    }

    func testDirichletIsKeyedAndLeavesNoWorkerEmpty() throws {
        let a = try run("dirichlet:0.5", workers: 5)
        assertCovers(a, n: 103)
        XCTAssertEqual(a, try run("dirichlet:0.5", workers: 5))
        XCTAssertNotEqual(a, try run("dirichlet:0.5", workers: 5, seed: 12))
        // Large α approaches a balanced split of every class.
        let big = try run("dirichlet:1000", workers: 2)
        assertCovers(big, n: 103)
        XCTAssertLessThan(abs(big[0].count - big[1].count), 12)
        // Small α concentrates each class on few workers.
        let labels = (0..<2000).map { UInt8($0 % 10) }
        let skewed = try run("dirichlet:0.05", workers: 4, labels: labels)
        assertCovers(skewed, n: 2000)
        var dominant = 0
        for c in 0..<10 {
            let perWorker = skewed.map { s in s.filter { labels[Int($0)] == UInt8(c) }.count }
            dominant += perWorker.max()!
        }
        XCTAssertGreaterThan(dominant, 1600)   // mostly one worker a class
        // Tiny α with many workers leaves someone empty: a precise error.
        assertOneLineError(["dirichlet:0.001", "gets no samples", "larger α or fewer workers"]) {
            try run("dirichlet:0.001", workers: 50)
        }
    }

    func testGammaVariatesHaveTheRightMean() {
        for alpha in [0.3, 1.0, 4.0] {
            var s = RandomStream(key: RandomKey(seed: 5, purpose: .test))
            var sum = 0.0
            let n = 20_000
            for _ in 0..<n { sum += exp(Dirichlet.logGamma(shape: alpha, stream: &s)) }
            XCTAssertEqual(sum / Double(n), alpha, accuracy: 0.05 * alpha + 0.02, "α = \(alpha)")
        }
    }

    func testBadInput() throws {
        assertOneLineError(["partition 'dirichlet': α = -1 must be positive"]) { try PartitionSpec.parse("dirichlet:-1") }
        assertOneLineError(["partition 'dirichlet': α = 0 must be positive"]) { try PartitionSpec.parse("dirichlet:alpha=0") }
        assertOneLineError(["partition 'dirichlet': α = 'nan' is not a finite number"]) { try PartitionSpec.parse("dirichlet:nan") }
        assertOneLineError(["partition 'dirichlet': needs a concentration α first, as in 'dirichlet:0.5'"]) { try PartitionSpec.parse("dirichlet") }
        assertOneLineError(["partition 'dirichlet': give α once"]) { try PartitionSpec.parse("dirichlet:0.5,alpha=0.5") }
        assertOneLineError(["partition 'dirichlet': option 'beta' is not known (allowed: alpha)"]) { try PartitionSpec.parse("dirichlet:beta=1") }
        assertOneLineError(["partition 'shards' is not known (expected one of: iid, by-class, dirichlet)"]) { try PartitionSpec.parse("shards") }
        assertOneLineError(["partition 'iid': takes no options (got '3')"]) { try PartitionSpec.parse("iid:3") }
        XCTAssertEqual(try PartitionSpec.parse("by_class"), .byClass)
        XCTAssertEqual(try PartitionSpec.parse(" Dirichlet : 2 "), .dirichlet(alpha: 2))
        XCTAssertEqual(try PartitionSpec.parse("dirichlet:ALPHA=0.25"), .dirichlet(alpha: 0.25))
        XCTAssertEqual(try PartitionSpec.parse("dirichlet:alpha=0.5"), .dirichlet(alpha: 0.5))
        XCTAssertEqual(try PartitionSpec.parse("BY-CLASS"), .byClass)
        XCTAssertEqual(PartitionSpec.dirichlet(alpha: 0.5).description, "dirichlet:0.5")
        assertOneLineError(["workers W = 0 must be at least 1"]) { try run("iid", workers: 0) }
        assertOneLineError(["104 workers but only 103 samples"]) { try run("iid", workers: 104) }
        assertOneLineError(["label 10 of sample 1"]) { try run("iid", workers: 1, labels: [0, 10]) }
        assertOneLineError(["no samples"]) { try run("iid", workers: 1, labels: []) }
    }

    func testPartitionOfADataset() throws {
        let d = try DatasetSpec.parse("synthetic:n=40,classes=4,shape=1x2x2").load(split: .train)
        let shards = try PartitionSpec.byClass.partition(d, workers: 4, seed: 0)
        XCTAssertEqual(shards.map(\.count), [10, 10, 10, 10])
        XCTAssertEqual(Set(d.subset(shards[2]).labels), [2])
    }
}
