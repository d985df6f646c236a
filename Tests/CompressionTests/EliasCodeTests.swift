import XCTest
import CSGDCore
import Compression

final class EliasCodeTests: XCTestCase {
    /// The textbook code as a string of bits in stream order.
    private func textbook(_ n: UInt64) -> String {
        var s = "0"
        var v = n
        while v > 1 {
            let group = String(v, radix: 2)
            s = group + s
            v = UInt64(group.count - 1)
        }
        return s
    }

    /// The first `count` bits of a BitWriter stream, in stream order.
    private func streamBits(_ bytes: [UInt8], count: Int) -> String {
        String((0..<count).map { i in (bytes[i / 8] >> UInt8(i % 8)) & 1 == 1 ? "1" : "0" })
    }

    /// ℓ(n) = 1 + Σ over the recursion n → ⌊log₂ n⌋ of (⌊log₂ n⌋ + 1), from
    /// bit lengths computed independently of the implementation.
    private func formulaLength(_ n: UInt64) -> Int {
        var total = 1
        var v = n
        while v > 1 {
            var log = 0
            while log < 63 && (UInt64(1) << UInt64(log + 1)) <= v { log += 1 }
            total += log + 1
            v = UInt64(log)
        }
        return total
    }

    /// The error reading one code from `bytes` throws, or nil.
    private func readError(_ bytes: [UInt8]) -> Error? {
        bytes.withUnsafeBytes { raw -> Error? in
            var r = BitReader(raw)
            do {
                _ = try EliasOmega.read(from: &r)
                return nil
            } catch {
                return error
            }
        }
    }

    private func encoded(_ n: UInt64) -> (bytes: [UInt8], bits: Int) {
        var w = BitWriter()
        EliasOmega.write(n, into: &w)
        return (w.finished(), w.bitCount)
    }

    func testKnownCodes() {
        let known: [(UInt64, String)] = [
            (1, "0"), (2, "100"), (3, "110"), (4, "101000"), (5, "101010"), (7, "101110"),
            (8, "1110000"), (15, "1111110"), (16, "10100100000"), (17, "10100100010"),
            (100, "1011011001000"), (1000, "11100111111010000"),
        ]
        for (n, code) in known {
            XCTAssertEqual(textbook(n), code, "test's own reference for \(n)")
            let e = encoded(n)
            XCTAssertEqual(e.bits, code.count, "length of \(n)")
            XCTAssertEqual(streamBits(e.bytes, count: e.bits), code, "bits of \(n)")
            XCTAssertEqual(EliasOmega.bits(of: n), code.count)
        }
    }

    func testRoundTripOneToTenThousand() throws {
        var w = BitWriter()
        var expectedBits = 0
        for n in UInt64(1)...10_000 {
            EliasOmega.write(n, into: &w)
            expectedBits += EliasOmega.bits(of: n)
            XCTAssertEqual(EliasOmega.bits(of: n), formulaLength(n), "length formula at \(n)")
            XCTAssertEqual(w.bitCount, expectedBits, "bit count after \(n)")
        }
        let bytes = w.finished()
        try bytes.withUnsafeBytes { raw in
            var r = BitReader(raw)
            for n in UInt64(1)...10_000 {
                let before = r.position
                XCTAssertEqual(try EliasOmega.read(from: &r), n)
                XCTAssertEqual(r.position - before, EliasOmega.bits(of: n))
            }
            XCTAssertEqual(r.position, expectedBits)
            try r.finish()
        }
        // Every code agrees with the textbook bits.
        for n in UInt64(1)...2000 {
            let e = encoded(n)
            XCTAssertEqual(streamBits(e.bytes, count: e.bits), textbook(n))
        }
    }

    func testLargeValues() throws {
        var values: [UInt64] = [UInt64.max, UInt64.max - 1, 1 << 63, (1 << 63) + 1, (1 << 63) - 1, 1 << 32, (1 << 32) - 1, (1 << 32) + 1]
        for k in 1..<64 {
            values += [UInt64(1) << UInt64(k), (UInt64(1) << UInt64(k)) - 1, (UInt64(1) << UInt64(k)) + 1]
        }
        var stream = RandomStream(key: RandomKey(seed: 77, purpose: .test))
        for _ in 0..<2000 {
            let shift = UInt64(stream.nextInt(below: 64))
            values.append(max(1, stream.nextUInt64() >> shift))
        }
        var w = BitWriter()
        for v in values { EliasOmega.write(v, into: &w) }
        XCTAssertEqual(w.bitCount, values.reduce(0) { $0 + EliasOmega.bits(of: $1) })
        let bytes = w.finished()
        try bytes.withUnsafeBytes { raw in
            var r = BitReader(raw)
            for v in values {
                XCTAssertEqual(try EliasOmega.read(from: &r), v)
            }
        }
        for v in values {
            XCTAssertEqual(EliasOmega.bits(of: v), formulaLength(v), "length of \(v)")
            XCTAssertEqual(streamBits(encoded(v).bytes, count: encoded(v).bits), textbook(v), "bits of \(v)")
        }
        XCTAssertEqual(EliasOmega.bits(of: 1 << 63), 76)
        XCTAssertEqual(EliasOmega.bits(of: UInt64.max), EliasOmega.maxBits)
        XCTAssertEqual(EliasOmega.bits(of: (1 << 63) - 1), 1 + 2 + 3 + 6 + 63)
    }

    func testTruncatedCodesThrow() {
        var stream = RandomStream(key: RandomKey(seed: 78, purpose: .test))
        for _ in 0..<500 {
            let v = max(1, stream.nextUInt64() >> UInt64(stream.nextInt(below: 64)))
            let e = encoded(v)
            // Every whole-byte cut strictly inside the code is a proper prefix.
            let fullBytes = (e.bits + 7) / 8
            for cut in 0..<fullBytes where cut * 8 < e.bits {
                XCTAssertNotNil(readError(Array(e.bytes[0..<cut])), "value \(v) cut at byte \(cut)")
            }
        }
    }

    func testOverlongCodesThrow() {
        // All ones: groups 11, 1111, 1^16 … a length of 65535 bits is refused.
        let ones = [UInt8](repeating: 0xFF, count: 64)
        guard case WireFormatError.invalid? = readError(ones) else { return XCTFail("all ones accepted or truncated") }
        // Prefix groups announcing a 65-bit group: 10 110 1000000 1…
        var w = BitWriter()
        for bit in "10" + "110" + "1000000" + "1" + String(repeating: "1", count: 70) { w.write(bit: bit == "1") }
        guard case WireFormatError.invalid? = readError(w.finished()) else { return XCTFail("a 65-bit group accepted") }
    }

    func testRandomBitsTerminate() {
        var stream = RandomStream(key: RandomKey(seed: 79, purpose: .test))
        for _ in 0..<2000 {
            let count = Int(stream.nextInt(below: 40))
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: stream.nextUInt32()) }
            bytes.withUnsafeBytes { raw in
                var r = BitReader(raw)
                var reads = 0
                while true {
                    let before = r.position
                    guard let v = try? EliasOmega.read(from: &r) else { break }
                    XCTAssertGreaterThanOrEqual(v, 1)
                    XCTAssertEqual(r.position - before, EliasOmega.bits(of: v))
                    reads += 1
                    XCTAssertLessThanOrEqual(reads, count * 8 + 1)
                }
            }
        }
    }
}
