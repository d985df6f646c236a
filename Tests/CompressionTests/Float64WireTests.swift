import XCTest
import CSGDCore
@testable import Compression

/// `fp64`: the identity on a float64 wire (the conformance suite covers the
/// generic contract; these pin the format and the spec).
final class Float64WireTests: XCTestCase {
    let key = RandomKey(seed: 5, step: 2, worker: 1, purpose: .test)

    /// Gaussian values with the awkward Floats spliced in.
    func awkwardVector(_ d: Int) -> FloatBuffer {
        let x = Vectors.gaussian(d, seed: 31)
        let special: [Float] = [0, -0.0, .infinity, -.infinity, .greatestFiniteMagnitude, -.leastNonzeroMagnitude,
                                .leastNormalMagnitude, Float(bitPattern: 0x7FC0_1234), Float.leastNormalMagnitude / 8, 3]
        for (i, v) in special.enumerated() where i < d { x[i] = v }
        return x
    }

    func testRoundTripIsBitExactAndBitsAre64PerCoordinate() throws {
        for d in [1, 10, 333] {
            let c = Float64Wire(dimension: d)
            let x = awkwardVector(d)
            let m = c.compress(x.readOnly, key: key)
            XCTAssertEqual(c.bits(of: m), 64 * d)
            XCTAssertEqual(c.bits(of: m), 2 * Identity(dimension: d).bits(of: Identity(dimension: d).compress(x.readOnly, key: key)))
            let bytes = c.encode(m)
            XCTAssertEqual(bytes.count, 8 * d)
            // Coordinate 1 is −0: the double −0, little-endian, sign bit in the last byte.
            if d > 1 { XCTAssertEqual(Array(bytes[8..<16]), [0, 0, 0, 0, 0, 0, 0, 0x80]) }
            let back = try c.decode(bytes, key: key)
            let y = FloatBuffer(count: d)
            c.decompress(back, into: y.buffer)
            XCTAssertEqual(y.array.map(\.bitPattern), x.array.map(\.bitPattern), "d=\(d)")
            XCTAssertEqual(c.encode(back), bytes)
        }
    }

    func testUnalignedStreamMatchesTheAlignedOne() throws {
        let d = 17
        let c = Float64Wire(dimension: d)
        let x = awkwardVector(d)
        let m = c.compress(x.readOnly, key: key)
        var w = BitWriter()
        w.write(0b101, bits: 3)
        c.encode(m, into: &w)
        XCTAssertEqual(w.bitCount, 3 + 64 * d)
        var back = c.makeMessage()
        try w.finished().withUnsafeBytes { raw in
            var r = BitReader(raw)
            XCTAssertEqual(try r.read(bits: 3), 0b101)
            try c.decode(from: &r, key: key, into: &back)
            try r.finish()
        }
        XCTAssertEqual(back.values.map(\.bitPattern), m.values.map(\.bitPattern))
        XCTAssertEqual(c.encode(back), c.encode(m))
    }

    func testDoublesThatAreNotFloatsDecodeByRounding() throws {
        let doubles: [Double] = [0.1, 1e300, -1e-50, Double(bitPattern: 0x7FF0_0000_0000_0001), Double(bitPattern: 0xFFF8_DEAD_BEEF_0000), 1 + 0x1p-40]
        let c = Float64Wire(dimension: doubles.count)
        var bytes: [UInt8] = []
        for v in doubles { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        let m = try c.decode(bytes, key: key)
        XCTAssertEqual(c.encode(m), bytes, "the doubles themselves are kept")
        let y = FloatBuffer(count: doubles.count)
        c.decompress(m, into: y.buffer)
        XCTAssertEqual(y[0], Float(0.1))
        XCTAssertEqual(y[1], .infinity)
        XCTAssertEqual(y[2].bitPattern, (-0.0 as Float).bitPattern)
        XCTAssert(y[3].isNaN && y[4].isNaN)
        XCTAssertEqual(y[5], 1)
        // add(scaledBy:) narrows the same way.
        let z = FloatBuffer(count: doubles.count)
        c.add(m, scaledBy: 2, into: z.buffer)
        XCTAssertEqual(z[0], 2 * Float(0.1))
        XCTAssertEqual(z[5], 2)
        // One byte short, or one too many, is malformed.
        XCTAssertThrowsError(try c.decode(Array(bytes.dropLast()), key: key))
        XCTAssertThrowsError(try c.decode(bytes + [0], key: key))
    }

    func testSpecParsesAndBuildsTheMasterWorkerBaseline() throws {
        XCTAssertEqual(try CompressorSpec.parse("fp64"), .fp64)
        XCTAssertEqual(try CompressorSpec.parse(" FP64 "), .fp64)
        XCTAssertEqual(CompressorSpec.fp64.description, "fp64")
        XCTAssert(CompressorSpec.names.contains("fp64"))
        XCTAssert(CompressorSpec.representatives.contains("fp64"))
        let c = try CompressorSpec.parse("fp64").make(dimension: 4000)
        XCTAssert(c is Float64Wire)
        XCTAssertEqual(c.description, "fp64")
        XCTAssertFalse(c.isLinear, "fp64 must travel as bytes (all-gather), not as a Float all-reduce")
        XCTAssertTrue(c.isUnbiased)
        XCTAssertEqual(CompressorMu.lowerBound(c), 1)
    }

    func testOptionsAreRejectedInOneLine() throws {
        // An empty option list is no option (as for every spec kind).
        XCTAssertEqual(try CompressorSpec.parse("fp64:"), .fp64)
        for text in ["fp64:3", "fp64:bits=32"] {
            XCTAssertThrowsError(try CompressorSpec.parse(text), text) { e in
                let msg = (e as? CSGDError)?.message ?? ""
                XCTAssert(msg.contains("compressor 'fp64': takes no options"), "'\(text)' gave '\(msg)'")
                let part = String(text.dropFirst("fp64:".count))
                XCTAssert(msg.contains("'\(part)'"), "'\(text)' gave '\(msg)': it should name '\(part)'")
                XCTAssertFalse(msg.contains("\n"))
            }
        }
    }
}
