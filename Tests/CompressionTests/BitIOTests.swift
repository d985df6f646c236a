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

    /// The bulk field reader equals field-by-field reads for every width
    /// 0…32, any starting bit offset and runs that end in the last bytes
    /// (where it falls back to checked reads), and throws, consuming nothing,
    /// when the run does not fit.
    func testBulkFieldsEqualSingleReads() throws {
        var s = RandomStream(key: RandomKey(seed: 2, purpose: .test))
        for n in 0...32 {
            for lead in [0, 1, 5, 7, 13] {
                for count in [1, 2, 3, 9, 40] {
                    var w = BitWriter()
                    w.write(0, bits: lead)
                    var want: [UInt32] = []
                    for _ in 0..<count {
                        let v = n == 0 ? 0 : UInt32(truncatingIfNeeded: s.nextUInt64() & ((1 << UInt64(n)) - 1))
                        want.append(v)
                        w.write(UInt64(v), bits: n)
                    }
                    let bytes = w.finished()
                    try bytes.withUnsafeBytes { raw in
                        var r = BitReader(raw)
                        _ = try r.read(bits: lead)
                        var got = [UInt32](repeating: 0xDEAD, count: count)
                        try got.withUnsafeMutableBufferPointer { try r.read(bits: n, into: $0) }
                        XCTAssertEqual(got, want, "n \(n), lead \(lead), count \(count)")
                        XCTAssertEqual(r.position, lead + n * count)
                        XCTAssertNoThrow(try r.finish())
                        if n > 0 {
                            var r2 = BitReader(raw)
                            _ = try r2.read(bits: lead)
                            var more = [UInt32](repeating: 0, count: count + 8 / n + 1)
                            XCTAssertThrowsError(try more.withUnsafeMutableBufferPointer { try r2.read(bits: n, into: $0) })
                            XCTAssertEqual(r2.position, lead)
                        }
                    }
                }
            }
        }
    }

    /// Padding in place gives the bytes `finished()` copies out.
    func testPadToByteEqualsFinished() {
        var s = RandomStream(key: RandomKey(seed: 3, purpose: .test))
        for fields in [0, 1, 7, 100] {
            var w = BitWriter()
            for _ in 0..<fields {
                let n = Int(s.nextInt(below: 65))
                w.write(n == 0 ? 0 : (n == 64 ? s.nextUInt64() : s.nextUInt64() & ((1 << UInt64(n)) - 1)), bits: n)
            }
            let want = w.finished()
            w.padToByte()
            XCTAssertEqual(w.bytes, want)
            XCTAssertEqual(w.bitCount, 8 * want.count)
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
