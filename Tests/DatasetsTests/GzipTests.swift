import Foundation
import XCTest
import CSGDCore
@testable import Datasets

final class GzipTests: XCTestCase {
    func read(_ path: String) throws -> [UInt8] {
        let f = try DataFile(path: path)
        return try f.read(upTo: 1 << 20)
    }

    func testRoundTripAndConcatenatedMembers() throws {
        let fx = try Fixtures()
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) }
        let one = try fx.write("one", data, gzip: true)
        XCTAssertTrue(try DataFile(path: one).isGzip)
        XCTAssertEqual(try read(one), data)
        let two = try fx.write("two", try Gzip.compress(Array(data[0..<40_000])) + Gzip.compress(Array(data[40_000...])))
        XCTAssertEqual(try read(two), data)
        let raw = try fx.write("raw", data)
        XCTAssertFalse(try DataFile(path: raw).isGzip)
        XCTAssertEqual(try read(raw), data)
    }

    /// Compression sizes its window to the input; every size and level must
    /// still round-trip, including inputs that need more than one deflate
    /// call (small memLevel) and incompressible ones larger than deflateBound's
    /// estimate for a tiny window.
    func testCompressRoundTripsAtEverySizeAndLevel() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        for n in [0, 1, 2, 100, 250, 262, 263, 511, 512, 1000, 4096, 70_000, 300_000] {
            let noise = (0..<n).map { _ in next() }
            let text = (0..<n).map { UInt8(truncatingIfNeeded: 97 + ($0 % 26)) }
            for data in [noise, text] {
                for level: Int32 in [-1, 0, 1, 9] {
                    let gz = try Gzip.compress(data, level: level)
                    XCTAssertEqual(Array(gz.prefix(2)), [0x1F, 0x8B])
                    let back = try gz.withUnsafeBytes { try Gzip.decompress($0, name: "x") }
                    XCTAssertEqual(back, data, "n = \(n), level \(level)")
                }
            }
        }
    }

    func testCorruptTruncatedAndTrailingGarbage() throws {
        let fx = try Fixtures()
        let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let gz = try Gzip.compress(data)
        var flipped = gz
        flipped[gz.count - 6] ^= 0xFF       // inside the CRC-32 trailer
        let crc = try fx.write("crc", flipped)
        assertOneLineError([crc, "corrupt gzip stream"]) { try read(crc) }
        var header = gz
        header[12] ^= 0xFF                  // inside the deflate data
        let bad = try fx.write("bad", header)
        assertOneLineError([bad, "gzip"]) { try read(bad) }
        let cut = try fx.write("cut", Array(gz[0..<(gz.count - 10)]))
        assertOneLineError([cut, "gzip stream ends early (truncated file)"]) { try read(cut) }
        let tail = try fx.write("tail", gz + [0, 0, 0])
        assertOneLineError([tail, "3 bytes of trailing garbage"]) { try read(tail) }
    }

    func testCorruptGzipInALoaderNamesTheFile() throws {
        let fx = try Fixtures()
        try fx.writeMNIST(train: 3, test: 1, gzip: true)
        let path = fx.directory + "/train-images-idx3-ubyte.gz"
        var gz = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        gz[gz.count - 8] ^= 0x01
        try Data(gz).write(to: URL(fileURLWithPath: path))
        assertOneLineError([path, "corrupt gzip stream"]) {
            try DatasetSpec.fashionMNIST.load(split: .train, directory: fx.directory)
        }
    }
}
