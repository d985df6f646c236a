import Foundation
import XCTest
import CSGDCore
@testable import Datasets

final class IDXReaderTests: XCTestCase {
    func testRawSplitsLoadWithExactScaling() throws {
        let fx = try Fixtures()
        try fx.writeMNIST(train: 5, test: 3, gzip: false)
        let train = try DatasetSpec.mnist.load(split: .train, directory: fx.directory)
        XCTAssertEqual(train.name, "mnist:train")
        XCTAssertEqual(train.count, 5)
        XCTAssertEqual([train.channels, train.height, train.width, train.classes], [1, 4, 3, 10])
        XCTAssertEqual(train.labels, [0, 1, 2, 3, 4])
        let px = Fixtures.pixels(5, 4, 3)
        XCTAssertEqual(train.images, px.map { Float($0) / 255 })
        let test = try DatasetSpec.mnist.load(split: .test, directory: fx.directory)
        XCTAssertEqual(test.count, 3)
        XCTAssertEqual(test.labels, [0, 3, 6])
    }

    func testGzipGivesTheSameDataAsRaw() throws {
        let raw = try Fixtures(), gz = try Fixtures()
        try raw.writeMNIST(train: 7, test: 2, gzip: false)
        try gz.writeMNIST(train: 7, test: 2, gzip: true)
        let a = try DatasetSpec.fashionMNIST.load(split: .train, directory: raw.directory)
        let b = try DatasetSpec.fashionMNIST.load(split: .train, directory: gz.directory)
        XCTAssertEqual(a.images, b.images)
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertEqual(b.name, "fashion-mnist:train")
    }

    func testGzipIsDetectedByMagicNotName() throws {
        let fx = try Fixtures()
        // gzip content under the raw name, raw content under the .gz name.
        let imgs = try fx.write("imgs", Fixtures.imagesFile(2, 2, 2), gzip: true)
        let labs = try fx.write("labs.gz", Fixtures.labelsFile([1, 9]), gzip: false)
        let d = try IDXReader.readDataset(imagesPath: imgs, labelsPath: labs, name: "x", classes: 10)
        XCTAssertEqual(d.count, 2)
        XCTAssertEqual(d.labels, [1, 9])
        XCTAssertEqual(d.images[7], Float(Fixtures.pixels(2, 2, 2)[7]) / 255)
    }

    func testBadMagicNumbers() throws {
        let fx = try Fixtures()
        let labels = try fx.write("l", Fixtures.labelsFile([1, 2]))
        assertOneLineError([labels, "bad magic number 0x00000801 (an IDX labels file)", "expected 0x00000803"]) {
            try IDXReader.readImages(path: labels)
        }
        let junk = try fx.write("j", Fixtures.idx(magic: 0x1234_5678, dims: [1], data: [0]), gzip: true)
        assertOneLineError([junk, "bad magic number 0x12345678", "expected 0x00000801"]) {
            try IDXReader.readLabels(path: junk)
        }
    }

    func testTruncatedHeaderAndEmptyFile() throws {
        let fx = try Fixtures()
        let full = Fixtures.imagesFile(2, 2, 2)
        let short = try fx.write("short", Array(full[0..<10]))
        assertOneLineError([short, "truncated header: 10 of 16 bytes"]) { try IDXReader.readImages(path: short) }
        let tiny = try fx.write("tiny", [0, 0, 8], gzip: true)
        assertOneLineError([tiny, "truncated header: 3 of 16 bytes"]) { try IDXReader.readImages(path: tiny) }
        let empty = try fx.write("empty", [])
        assertOneLineError([empty, "empty file"]) { try IDXReader.readLabels(path: empty) }
    }

    func testTruncatedDataAndTrailingBytes() throws {
        let fx = try Fixtures()
        let full = Fixtures.imagesFile(5, 4, 3)   // 16 + 60 bytes
        let cut = try fx.write("cut.gz", Array(full[0..<(16 + 54)]), gzip: true)
        assertOneLineError([cut, "truncated", "5 images of 4×3 (60 bytes)", "only 54 follow"]) {
            try IDXReader.readImages(path: cut)
        }
        let long = try fx.write("long", full + [1, 2, 3])
        assertOneLineError([long, "3 bytes after the 60 bytes"]) { try IDXReader.readImages(path: long) }
        let labels = try fx.write("labels", Array(Fixtures.labelsFile([1, 2, 3, 4]).dropLast()))
        assertOneLineError([labels, "truncated", "4 labels (4 bytes)", "only 3 follow"]) { try IDXReader.readLabels(path: labels) }
    }

    func testZeroAndHugeDimensions() throws {
        let fx = try Fixtures()
        let zero = try fx.write("z", Fixtures.idx(magic: IDXReader.imagesMagic, dims: [3, 0, 28], data: []))
        assertOneLineError([zero, "0×28"]) { try IDXReader.readImages(path: zero) }
        let none = try fx.write("n", Fixtures.idx(magic: IDXReader.labelsMagic, dims: [0], data: []))
        assertOneLineError([none, "0 labels"]) { try IDXReader.readLabels(path: none) }
        // 2^32-1 cubed overflows Int: an error, not a trap or a huge allocation.
        let big = Int(UInt32.max)
        let huge = try fx.write("h", Fixtures.idx(magic: IDXReader.imagesMagic, dims: [big, big, big], data: [1, 2]))
        assertOneLineError([huge, "more than"]) { try IDXReader.readImages(path: huge) }
        // Large but representable: reads what is there and reports truncation.
        let large = try fx.write("g", Fixtures.idx(magic: IDXReader.imagesMagic, dims: [1 << 20, 64, 64], data: [1, 2]), gzip: true)
        assertOneLineError([large, "truncated", "only 2 follow"]) { try IDXReader.readImages(path: large) }
    }

    func testLabelCountMismatchAndLabelRange() throws {
        let fx = try Fixtures()
        try fx.write("train-images-idx3-ubyte", Fixtures.imagesFile(4, 2, 2))
        let labels = try fx.write("train-labels-idx1-ubyte.gz", Fixtures.labelsFile([1, 2, 3]), gzip: true)
        let images = fx.directory + "/train-images-idx3-ubyte"
        assertOneLineError([labels, "3 labels", images, "4 images"]) {
            try DatasetSpec.mnist.load(split: .train, directory: fx.directory)
        }
        let bad = try fx.write("t10k-labels-idx1-ubyte", Fixtures.labelsFile([1, 12, 3]))
        try fx.write("t10k-images-idx3-ubyte", Fixtures.imagesFile(3, 2, 2))
        assertOneLineError([bad, "label 12 at index 1", "0..<10"]) {
            try DatasetSpec.mnist.load(split: .test, directory: fx.directory)
        }
    }

    func testMissingFilesNamePathAndPackage() throws {
        let fx = try Fixtures()
        let expected = fx.directory + "/train-images-idx3-ubyte.gz"
        assertOneLineError(["missing " + expected, "dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist"]) {
            try DatasetSpec.fashionMNIST.load(split: .train, directory: fx.directory)
        }
        try fx.write("t10k-images-idx3-ubyte", Fixtures.imagesFile(1, 2, 2))
        assertOneLineError(["missing " + fx.directory + "/t10k-labels-idx1-ubyte.gz", "dataset-fashion-mnist"]) {
            try DatasetSpec.fashionMNIST.load(split: .test, directory: fx.directory + "/")
        }
        assertOneLineError(["missing " + expected, "no Debian package provides MNIST"]) {
            try DatasetSpec.mnist.load(split: .train, directory: fx.directory)
        }
        assertOneLineError(["mnist", "--data-dir"]) { try DatasetSpec.mnist.load(split: .train, directory: nil) }
        let dir = try fx.write("sub/x", [1])
        assertOneLineError([(dir as NSString).deletingLastPathComponent, "not a regular file"]) {
            try IDXReader.readImages(path: (dir as NSString).deletingLastPathComponent)
        }
    }

    /// Every prefix and every single-byte change of a small valid file, raw
    /// and gzip, is either read or refused with a one-line error: never a trap.
    func testNoByteStringTraps() throws {
        let fx = try Fixtures()
        let valid = Fixtures.imagesFile(2, 3, 2)
        let gz = try Gzip.compress(valid)
        var outcomes = (read: 0, refused: 0)
        func attempt(_ bytes: [UInt8]) throws {
            let p = try fx.write("fuzz", bytes)
            do {
                _ = try IDXReader.readImages(path: p)
                outcomes.read += 1
            } catch let e as CSGDError {
                XCTAssertFalse(e.description.contains("\n"))
                XCTAssertTrue(e.description.hasPrefix(p), e.description)
                outcomes.refused += 1
            }
        }
        for source in [valid, gz] {
            for n in 0..<source.count { try attempt(Array(source[0..<n])) }
            for i in 0..<source.count {
                var b = source
                b[i] ^= 0x5A
                try attempt(b)
            }
        }
        var stream = RandomStream(key: RandomKey(seed: 7, purpose: .test))
        for _ in 0..<200 {
            let n = Int(stream.nextInt(below: 48))
            var b = (0..<n).map { _ in UInt8(truncatingIfNeeded: stream.nextUInt32()) }
            if n >= 2 && stream.nextUInt32() & 1 == 0 { b[0] = 0x1F; b[1] = 0x8B }
            try attempt(b)
        }
        XCTAssertGreaterThan(outcomes.refused, 300)
        XCTAssertGreaterThan(outcomes.read, 0)   // pixel-byte changes keep a valid file
    }
}

/// Data that would not fit in memory is refused from its header, before it
/// is read or inflated: a gzip file a few kilobytes long can declare (and
/// inflate to) gigabytes.
final class IDXMemoryBudgetTests: XCTestCase {
    func testAHeaderDeclaringMoreThanTheBudgetIsRefusedBeforeReading() throws {
        let fx = try Fixtures()
        // 4,000 images of 100×100 zeros: 40 MB of data, about 40 KB gzip-compressed.
        let declared = Fixtures.idx(magic: 0x0000_0803, dims: [4000, 100, 100], data: [UInt8](repeating: 0, count: 4000 * 100 * 100))
        let path = try fx.write("bomb-idx3-ubyte.gz", declared, gzip: true)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        XCTAssertLessThan(size, 1 << 20)
        let budget = MemoryBudget(bytes: 100 << 20, source: "--max-memory")
        XCTAssertThrowsError(try IDXReader.readImages(path: path, budget: budget)) { e in
            XCTAssertEqual("\(e)", "\(path): its data (4000 images of 100×100, as its header declares) needs about 191 MiB of memory, more than --max-memory (100 MiB)")
        }
        // With room for it, it reads.
        XCTAssertEqual(try IDXReader.readImages(path: path, budget: MemoryBudget(bytes: 1 << 30, source: "--max-memory")).count, 4000)
        // Labels: one byte each.
        let labels = try fx.write("labels-idx1-ubyte", Fixtures.idx(magic: 0x0000_0801, dims: [5000], data: [UInt8](repeating: 1, count: 5000)))
        XCTAssertThrowsError(try IDXReader.readLabels(path: labels, budget: MemoryBudget(bytes: 4999, source: "--max-memory"))) { e in
            XCTAssertTrue("\(e)".contains("its data (5000 labels, as its header declares)"), "\(e)")
        }
        XCTAssertEqual(try IDXReader.readLabels(path: labels, budget: MemoryBudget(bytes: 5000, source: "--max-memory")).count, 5000)
    }

    /// A raw file is read as the reader goes, not slurped: a sparse file far
    /// larger than what its header declares is refused for its extra bytes
    /// without being read into memory.
    func testASparseRawFileIsNotReadWhole() throws {
        let fx = try Fixtures()
        let path = try fx.write("sparse-idx1-ubyte", Fixtures.idx(magic: 0x0000_0801, dims: [3], data: [1, 2, 3]))
        guard truncate(path, 8 << 30) == 0 else { throw XCTSkip("cannot make an 8 GiB sparse file here") }
        XCTAssertThrowsError(try IDXReader.readLabels(path: path)) { e in
            XCTAssertTrue("\(e)".contains("bytes after the 3 bytes of 3 labels"), "\(e)")
        }
    }
}
