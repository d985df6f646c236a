import XCTest
import CSGDCore
@testable import Compression

final class BitIOTests: XCTestCase {
    func testFieldsRoundTrip() throws {
        var s = RandomStream(key: RandomKey(seed: 1, purpose: .test))
        var fields: [(UInt64, Int)] = []
        var w = BitWriter()
        for _ in 0..<5000 {
            let n = Int(s.nextInt(below: 65))
            let v = n == 0 ? 0 : (n == 64 ? s.nextUInt64() : s.nextUInt64() & ((1 << UInt64(n)) - 1))
            fields.append((v, n))
            w.write(v, bits: n)
        }
        let total = fields.reduce(0) { $0 + $1.1 }
        XCTAssertEqual(w.bitCount, total)
        let bytes = w.finished()
        XCTAssertEqual(bytes.count, (total + 7) / 8)
        try bytes.withUnsafeBytes { raw in
            var r = BitReader(raw)
            for (v, n) in fields { XCTAssertEqual(try r.read(bits: n), v) }
            XCTAssertNoThrow(try r.finish())
            XCTAssertThrowsError(try r.read(bits: 8))
        }
    }

    func testFloatsAndBytes() throws {
        var w = BitWriter()
        w.write(1, bits: 3)
        w.write(Float(-2.5))
        w.write(0, bits: 5)   // back to a byte boundary
        let xs: [Float] = [1, .infinity, -0.0, .nan, 3e-39]
        xs.withUnsafeBufferPointer { w.write(floats: $0) }
        let bytes = w.finished()
        try bytes.withUnsafeBytes { raw in
            var r = BitReader(raw)
            XCTAssertEqual(try r.read(bits: 3), 1)
            XCTAssertEqual(try r.readFloat(), -2.5)
            XCTAssertEqual(try r.read(bits: 5), 0)
            var out = [Float](repeating: 0, count: xs.count)
            try out.withUnsafeMutableBufferPointer { try r.read(floats: $0) }
            XCTAssertEqual(out.map(\.bitPattern), xs.map(\.bitPattern))
            try r.finish()
        }
    }

    func testFinishRejectsTrailingBytesAndPadding() throws {
        try [UInt8]([0b0000_0001, 0]).withUnsafeBytes { raw in
            var r = BitReader(raw)
            XCTAssertEqual(try? r.read(bits: 1), 1)
            XCTAssertThrowsError(try r.finish()) { XCTAssertEqual($0 as? WireFormatError, .trailingBytes(1)) }
        }
        try [UInt8]([0b1000_0001]).withUnsafeBytes { raw in
            var r = BitReader(raw)
            XCTAssertEqual(try? r.read(bits: 1), 1)
            XCTAssertThrowsError(try r.finish()) { XCTAssertEqual($0 as? WireFormatError, .nonZeroPadding) }
        }
        try [UInt8]([1, 2, 3]).withUnsafeBytes { raw in
            var r = BitReader(raw)
            XCTAssertThrowsError(try r.read(bits: 25))
            XCTAssertThrowsError(try r.readBytes(4))
            XCTAssertThrowsError(try r.readBytes(-1))
        }
    }

    func testCeilLog2() {
        XCTAssertEqual([1, 2, 3, 4, 5, 8, 9, 1 << 20, (1 << 20) + 1].map(ceilLog2), [0, 1, 2, 2, 3, 3, 4, 20, 21])
    }
}
