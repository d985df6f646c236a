import XCTest
import CSGDCore
@testable import Compression

final class TopKTests: XCTestCase {
    /// Reference: sort by (|x| descending, index ascending), keep K, ascending.
    func reference(_ x: [Float], k: Int) -> [UInt32] {
        let key = { (f: Float) in f.bitPattern & 0x7FFF_FFFF }
        let order = x.indices.sorted { key(x[$0]) != key(x[$1]) ? key(x[$0]) > key(x[$1]) : $0 < $1 }
        return order.prefix(k).sorted().map(UInt32.init)
    }

    func select(_ x: FloatBuffer, k: Int) -> [UInt32] {
        var sel = TopKSelector()
        var out = [UInt32](repeating: 0, count: k)
        out.withUnsafeMutableBufferPointer { sel.select(x.readOnly, into: $0) }
        return out
    }

    func testMatchesReferenceIncludingTies() {
        for (d, k, seed) in [(1, 1, 1), (10, 3, 2), (100, 100, 3), (1000, 1, 4), (1000, 37, 5), (4099, 400, 6)] {
            let g = Vectors.gaussian(d, seed: UInt64(seed))
            XCTAssertEqual(select(g, k: k), reference(g.array, k: k), "gaussian d=\(d) k=\(k)")
            // Integer values in -3...3: many ties, broken toward lower indices.
            let t = FloatBuffer(g.array.map { ($0 * 2).rounded() })
            XCTAssertEqual(select(t, k: k), reference(t.array, k: k), "ties d=\(d) k=\(k)")
        }
        let special = FloatBuffer([0, -0.0, .infinity, 1, -.infinity, .nan, 2, -2, 1e-40])
        XCTAssertEqual(select(special, k: 4), reference(special.array, k: 4))
        let zeros = FloatBuffer(count: 50)
        XCTAssertEqual(select(zeros, k: 7), (0..<7).map(UInt32.init))
    }

    func testSampledPathAndItsFallback() {
        // d = 2^19 takes the sampled-threshold path.
        let d = 1 << 19, k = d / 100
        let g = Vectors.gaussian(d, seed: 7)
        XCTAssertEqual(select(g, k: k), reference(g.array, k: k))
        // Adversarial for a strided sample: large values only off the sample
        // grid (step 8), so the estimated threshold is too high and the exact
        // fallback must take over.
        let adv = FloatBuffer(count: d)
        for i in 0..<d { adv[i] = i % 8 == 3 ? 100 + Float(i % 1000) : Float(i % 7) * 0.01 }
        XCTAssertEqual(select(adv, k: k), reference(adv.array, k: k))
        // Everything equal: the lowest indices win.
        let flat = FloatBuffer([Float](repeating: 1, count: d))
        XCTAssertEqual(select(flat, k: k), (0..<k).map(UInt32.init))
    }

    func testCompressorKeepsLargestAndIsAMuCompressor() throws {
        let d = 1000, k = 50
        let c = TopK(dimension: d, k: k)
        let key = RandomKey(seed: 1, purpose: .test)
        for seed in 0..<5 {
            let x = Vectors.heavyTailed(d, seed: UInt64(seed))
            let y = Roundtrip(c: c).dense(x, key: key)
            let kept = reference(x.array, k: k)
            for i in 0..<d { XCTAssertEqual(y[i], kept.contains(UInt32(i)) ? x[i] : 0) }
            // Deterministic: ‖x − C(x)‖² ≤ (1 − K/d)‖x‖².
            XCTAssertLessThanOrEqual(Vectors.squaredDistance(x, y), (1 - Double(k) / Double(d)) * Kernels.sumSquares(x.readOnly))
        }
        XCTAssertEqual(c.bits(of: c.makeMessage()), k * (32 + 10))
    }

    func testDecoderRejectsUnsortedOrOutOfRangeIndices() {
        let c = TopK(dimension: 5, k: 2)   // 3 index bits
        func message(_ i0: UInt64, _ i1: UInt64) -> [UInt8] {
            var w = BitWriter()
            w.write(Float(1)); w.write(Float(2))
            w.write(i0, bits: 3); w.write(i1, bits: 3)
            return w.finished()
        }
        XCTAssertNoThrow(try c.decode(message(1, 4), key: RandomKey(seed: 0, purpose: .test)))
        XCTAssertThrowsError(try c.decode(message(4, 1), key: RandomKey(seed: 0, purpose: .test)))
        XCTAssertThrowsError(try c.decode(message(2, 2), key: RandomKey(seed: 0, purpose: .test)))
        XCTAssertThrowsError(try c.decode(message(1, 6), key: RandomKey(seed: 0, purpose: .test)))
    }
}
