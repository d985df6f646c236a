import Foundation
import XCTest
import CSGDCore
@testable import Datasets

final class CIFAR10ReaderTests: XCTestCase {
    /// `labels.count` records; pixel p of record r is (r + 3p) mod 256.
    static func records(_ labels: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for (r, l) in labels.enumerated() {
            out.append(l)
            out += (0..<3072).map { UInt8(truncatingIfNeeded: r + 3 * $0) }
        }
        return out
    }

    func testThreeRecordTestBatch() throws {
        let fx = try Fixtures()
        try fx.write("test_batch.bin", Self.records([3, 0, 9]))
        let d = try DatasetSpec.cifar10.load(split: .test, directory: fx.directory)
        XCTAssertEqual(d.name, "cifar10:test")
        XCTAssertEqual(d.count, 3)
        XCTAssertEqual([d.channels, d.height, d.width, d.classes], [3, 32, 32, 10])
        XCTAssertEqual(d.labels, [3, 0, 9])
        // Record 2, green plane (channel 1), row 5, column 7: CHW as stored.
        let p = 1024 + 5 * 32 + 7
        XCTAssertEqual(d.images[2 * 3072 + p], Float(UInt8(truncatingIfNeeded: 2 + 3 * p)) / 255)
        XCTAssertEqual(d.images[0], 0)
    }

    func testTrainingBatchesFromTheArchiveSubdirectory() throws {
        let fx = try Fixtures()
        for b in 1...5 {
            try fx.write("cifar-10-batches-bin/data_batch_\(b).bin", Self.records([UInt8(b), UInt8(b + 1)]), gzip: b == 3)
        }
        let d = try CIFAR10Reader.load(directory: fx.directory, split: .train)
        XCTAssertEqual(d.count, 10)
        XCTAssertEqual(d.labels, [1, 2, 2, 3, 3, 4, 4, 5, 5, 6])
        XCTAssertEqual(d.images[4 * 3072 + 10], Float(UInt8(truncatingIfNeeded: 0 + 30)) / 255)   // batch 3 (gzip), record 0
    }

    func testErrors() throws {
        let fx = try Fixtures()
        assertOneLineError(["missing " + fx.directory + "/test_batch.bin", "cifar-10-batches-bin", "no Debian package provides CIFAR-10"]) {
            try DatasetSpec.cifar10.load(split: .test, directory: fx.directory)
        }
        assertOneLineError(["cifar10", "--data-dir"]) { try DatasetSpec.cifar10.load(split: .test, directory: nil) }
        try fx.write("data_batch_1.bin", Self.records([1]))
        assertOneLineError(["missing " + fx.directory + "/data_batch_2.bin"]) {
            try DatasetSpec.cifar10.load(split: .train, directory: fx.directory)
        }
        let cut = try fx.write("test_batch.bin", Array(Self.records([1, 2]).dropLast(5)))
        assertOneLineError([cut, "truncated: 1 whole records of 3073 bytes and 3068 bytes left over"]) {
            try CIFAR10Reader.readBatch(path: cut)
        }
        let label = try fx.write("l.bin", Self.records([1, 10]))
        assertOneLineError([label, "label 10 in record 1"]) { try CIFAR10Reader.readBatch(path: label) }
        let empty = try fx.write("e.bin", [])
        assertOneLineError([empty, "empty file"]) { try CIFAR10Reader.readBatch(path: empty) }
    }
}
