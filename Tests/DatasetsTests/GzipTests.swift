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
