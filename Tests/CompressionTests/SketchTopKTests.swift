import XCTest
import CSGDCore
import Compression
import Foundation

/// `sketch-topk`: heavy-hitter recovery, the linear half across workers, the
/// wire format and its robustness, and the μ-compressor inequality.
final class SketchTopKTests: XCTestCase {
    func gaussian(_ n: Int, seed: UInt64, sigma: Float = 1) -> [Float] {
        var x = [Float](repeating: 0, count: n)
        x.withUnsafeMutableBufferPointer { RandomFill.gaussian(RandomKey(seed: seed, purpose: .test), sigma: sigma, into: $0) }
        return x
    }

    /// N(0, 1) noise with K planted coordinates of magnitude `size` (random
    /// signs) at distinct random positions; returns (x, ascending positions).
    func planted(d: Int, k: Int, size: Float, seed: UInt64) -> ([Float], [UInt32]) {
        var x = gaussian(d, seed: seed)
        var idx = [UInt32](repeating: 0, count: k)
        var ws = SamplingWorkspace()
        idx.withUnsafeMutableBufferPointer {
            Sampling.withoutReplacement(d: d, key: RandomKey(seed: seed, step: 1, purpose: .test), into: $0, workspace: &ws)
        }
        var s = RandomStream(key: RandomKey(seed: seed, step: 2, purpose: .test))
        for i in idx { x[Int(i)] = s.nextUInt32() & 1 == 0 ? size : -size }
        return (x, idx)
    }

    func compress(_ c: SketchTopK, _ x: [Float], _ key: RandomKey) -> SketchTopKMessage {
        x.withUnsafeBufferPointer { c.compress($0, key: key) }
    }

    func dense(_ c: SketchTopK, _ m: SketchTopKMessage) -> [Float] {
        var y = [Float](repeating: 0, count: c.dimension)
        y.withUnsafeMutableBufferPointer { c.decompress(m, into: $0) }
        return y
    }

    func sumSquares(_ x: [Float]) -> Double { x.reduce(0) { $0 + Double($1) * Double($1) } }

    func testParametersDefaultsAndDescription() {
        let c = SketchTopK(dimension: 1000, k: 10, rows: 3, cols: 64)
        XCTAssertEqual(c.description, "sketch-topk:10,rows=3,cols=64")
        XCTAssertFalse(c.isLinear)
        XCTAssertFalse(c.isUnbiased)
        XCTAssertEqual(c.bits(of: c.makeMessage()), 32 * 3 * 64 + 32 * 10)
        let dflt = SketchTopK(dimension: 100_000, k: 1000, rows: nil, cols: nil)
        XCTAssertEqual(dflt.rows, 5)
        XCTAssertEqual(dflt.cols, 4000)
        XCTAssertEqual(SketchTopK.defaultRows(dimension: 100_000, k: 1000), 5)
        // Capped so the table is never larger than x: ⌈d/R⌉.
        XCTAssertEqual(SketchTopK(dimension: 101, k: 50, rows: nil, cols: nil).cols, 21)
        XCTAssertEqual(SketchTopK(dimension: 101, k: 50, rows: 2, cols: nil).cols, 51)
        XCTAssertEqual(SketchTopK(dimension: 1, k: 1, rows: nil, cols: nil).cols, 1)
        XCTAssertEqual(SketchTopK(dimension: 1000, k: 10, rows: nil, cols: 7).description, "sketch-topk:10,rows=5,cols=7")
    }

    func testPlantedHeavyHittersAreRecoveredExactly() {
        let d = 100_000, k = 20
        let c = SketchTopK(dimension: d, k: k, rows: 5, cols: 4000)
        for step in 0..<3 {
            let (x, idx) = planted(d: d, k: k, size: 100, seed: UInt64(10 + step))
            let m = compress(c, x, RandomKey(seed: 9, step: UInt64(step), purpose: .sketchHashes))
            XCTAssertEqual(m.pairs.indices, idx, "step \(step)")
            XCTAssertEqual(m.pairs.values, idx.map { x[Int($0)] })
            XCTAssertEqual(m.table.count, 5 * 4000)
        }
    }

    func testWorkersAggregateTablesThenSelectOnce() {
        // Three workers whose vectors share planted coordinates; the sum of
        // their tables is the sketch of the sum, and selecting from it finds
        // the heavy hitters of the sum.
        let d = 50_000, k = 10, workers = 3
        let c = SketchTopK(dimension: d, k: k, rows: 5, cols: 2000)
        let key = RandomKey(seed: 5, step: 3, worker: 0, purpose: .quantization)
        let (common, idx) = planted(d: d, k: k, size: 60, seed: 77)
        let xs = (0..<workers).map { w in zip(common, gaussian(d, seed: UInt64(200 + w))).map { $0 + $1 } }
        var total = [Float](repeating: 0, count: 5 * 2000)
        var one = total
        for (w, x) in xs.enumerated() {
            // Each worker sketches with its own key's worker id: the hashes are shared anyway.
            x.withUnsafeBufferPointer { xb in
                one.withUnsafeMutableBufferPointer { c.sketch(xb, key: key.forWorker(w), into: $0) }
            }
            for j in 0..<total.count { total[j] += one[j] }
        }
        let sum = (0..<d).map { i in xs.reduce(Float(0)) { $0 + $1[i] } }
        var ofSum = total
        sum.withUnsafeBufferPointer { xb in ofSum.withUnsafeMutableBufferPointer { c.sketch(xb, key: key, into: $0) } }
        for (u, v) in zip(total, ofSum) { XCTAssertEqual(u, v, accuracy: 1e-3) }

        var m = c.makeMessage()
        total.withUnsafeBufferPointer { c.select(fromTable: $0, key: key, into: &m) }
        XCTAssertEqual(m.pairs.indices, idx)
        XCTAssertEqual(m.table, total)
        // Second round: each worker's exact values at the selected indices, summed.
        var values = [Float](repeating: 0, count: k)
        for x in xs {
            x.withUnsafeBufferPointer { c.gatherValues($0, into: &m) }
            for j in 0..<k { values[j] += m.pairs.values[j] }
        }
        for j in 0..<k { XCTAssertEqual(values[j], sum[Int(idx[j])], accuracy: 1e-3) }
        // One worker compressing the sum alone selects the same set.
        XCTAssertEqual(compress(c, sum, key).pairs.indices, idx)
    }

    func testRoundTripIsBitExactAndSizeIsExact() throws {
        let configs: [(d: Int, k: Int, rows: Int, cols: Int)] = [
            (1, 1, 1, 1), (10, 10, 2, 3), (1000, 7, 1, 50), (3001, 30, 4, 100), (3001, 1, 6, 17), (20_000, 200, 5, 2000),
        ]
        for (n, cfg) in configs.enumerated() {
            let c = SketchTopK(dimension: cfg.d, k: cfg.k, rows: cfg.rows, cols: cfg.cols)
            let key = RandomKey(seed: 1, step: UInt64(n), purpose: .sketchHashes)
            let x = gaussian(cfg.d, seed: UInt64(300 + n))
            let m = compress(c, x, key)
            var w = BitWriter()
            c.encode(m, into: &w)
            XCTAssertEqual(w.bitCount, c.bits(of: m))
            XCTAssertEqual(w.bitCount, 32 * (cfg.rows * cfg.cols + cfg.k))
            let bytes = c.encode(m)
            XCTAssertEqual(bytes.count * 8, c.bits(of: m))
            let back = try c.decode(bytes, key: key)
            XCTAssertEqual(back.table.map(\.bitPattern), m.table.map(\.bitPattern))
            XCTAssertEqual(back.pairs.indices, m.pairs.indices)
            XCTAssertEqual(back.pairs.values.map(\.bitPattern), m.pairs.values.map(\.bitPattern))
            XCTAssertEqual(dense(c, back), dense(c, m))
            XCTAssertEqual(c.encode(back), bytes)
            // Indices ascending, distinct, below d; values are x there.
            XCTAssertEqual(m.pairs.indices, m.pairs.indices.sorted())
            XCTAssertEqual(Set(m.pairs.indices).count, cfg.k)
            XCTAssertTrue(m.pairs.indices.allSatisfy { Int($0) < cfg.d })
            XCTAssertEqual(m.pairs.values, m.pairs.indices.map { x[Int($0)] })
            // Decoding into a message made for other parameters works too.
            var reused = SketchTopK(dimension: 5, k: 2, rows: 1, cols: 1).makeMessage()
            try c.decode(bytes, key: key, into: &reused)
            XCTAssertEqual(reused.pairs.indices, m.pairs.indices)
        }
    }

    func testIndicesComeFromTheKey() throws {
        // The indices are not on the wire: a receiver with another step's key
        // reads the same table and values but selects from other hashes.
        let d = 20_000, k = 50
        let c = SketchTopK(dimension: d, k: k, rows: 3, cols: 200)
        let key = RandomKey(seed: 2, step: 4, purpose: .sketchHashes)
        let m = compress(c, gaussian(d, seed: 400), key)
        let wrong = try c.decode(c.encode(m), key: key.at(step: 5))
        XCTAssertEqual(wrong.table, m.table)
        XCTAssertNotEqual(wrong.pairs.indices, m.pairs.indices)
    }

    func testMalformedBytesThrowAndNeverTrap() throws {
        let c = SketchTopK(dimension: 300, k: 10, rows: 3, cols: 16)
        let key = RandomKey(seed: 3, purpose: .sketchHashes)
        let bytes = c.encode(compress(c, gaussian(300, seed: 500), key))
        XCTAssertEqual(bytes.count, 4 * (48 + 10))
        var m = c.makeMessage()
        for len in 0..<bytes.count {
            XCTAssertThrowsError(try c.decode(Array(bytes[0..<len]), key: key, into: &m)) { e in
                guard case WireFormatError.truncated = e else { return XCTFail("\(e)") }
            }
        }
        XCTAssertThrowsError(try c.decode(bytes + [0], key: key, into: &m)) { e in
            XCTAssertEqual(e as? WireFormatError, .trailingBytes(1))
        }
        // Random strings: one in eight of the right length (any bit pattern,
        // NaN and ∞ included, is a valid table), the rest of random length.
        var s = RandomStream(key: RandomKey(seed: 4, purpose: .test))
        var accepted = 0
        for t in 0..<1000 {
            let len = t % 8 == 0 ? bytes.count : Int(s.nextInt(below: UInt64(2 * bytes.count + 1)))
            let junk = (0..<len).map { _ in UInt8(truncatingIfNeeded: s.nextUInt32()) }
            do {
                try c.decode(junk, key: key, into: &m)
                accepted += 1
                XCTAssertEqual(c.encode(m), junk)
                XCTAssertTrue(m.pairs.indices.allSatisfy { Int($0) < 300 })
                XCTAssertEqual(m.pairs.indices, m.pairs.indices.sorted())
            } catch {
                XCTAssertTrue(error is WireFormatError)
                XCTAssertNotEqual(junk.count, bytes.count)
            }
        }
        XCTAssertGreaterThanOrEqual(accepted, 125)
        // A table of NaNs and infinities selects K distinct indices without trapping.
        var nanBytes = [UInt8](repeating: 0xFF, count: bytes.count)   // all NaN
        for j in stride(from: 0, to: 48 * 4, by: 8) { nanBytes[j ..< j + 4] = [0, 0, 0x80, 0x7F] }   // some +∞
        let odd = try c.decode(nanBytes, key: key)
        XCTAssertEqual(Set(odd.pairs.indices).count, 10)
        XCTAssertEqual(c.encode(odd), nanBytes)
    }

    func testMuInequalityOnPlantedAndGaussianVectors() {
        // Kept values are exact, so ‖x − C(x)‖² = ‖x‖² − ‖x_S‖². With planted
        // heavy hitters and C large enough that the noise a bucket (√(d/C) = 5)
        // is below the smallest hitter (20), the sketch finds them, so
        // μ ≥ (top-K energy share) − 0.02; on pure Gaussian vectors, with the
        // default C, it still beats a random K (μ ≥ K/d).
        let d = 20_000, k = 20
        let c = SketchTopK(dimension: d, k: k, rows: 5, cols: 800)
        var ratio = 0.0, share = 0.0
        let trials = 8
        for t in 0..<trials {
            var x = gaussian(d, seed: UInt64(600 + t))
            var s = RandomStream(key: RandomKey(seed: UInt64(700 + t), purpose: .test))
            // Heavy hitters of varied size, 20–60: the top-K share is ≈ 0.6.
            for i in 0..<k { x[(i * 997 + t) % d] = Float(20 + 40 * s.nextUnitDouble()) * (i % 2 == 0 ? 1 : -1) }
            let m = compress(c, x, RandomKey(seed: 8, step: UInt64(t), purpose: .sketchHashes))
            let y = dense(c, m)
            let residual = sumSquares(zip(x, y).map { $0 - $1 })
            let norm = sumSquares(x)
            XCTAssertEqual(residual, norm - sumSquares(m.pairs.values), accuracy: 1e-6 * norm)
            ratio += residual / norm
            let top = x.map { Double($0) * Double($0) }.sorted(by: >).prefix(k).reduce(0, +)
            share += top / norm
        }
        ratio /= Double(trials); share /= Double(trials)
        XCTAssertGreaterThan(share, 0.3)
        XCTAssertLessThanOrEqual(ratio, 1 - (share - 0.02), "E‖x − C(x)‖²/‖x‖² = \(ratio), top-K share \(share)")

        var gRatio = 0.0
        let kg = 200
        let g = SketchTopK(dimension: d, k: kg, rows: nil, cols: nil)
        for t in 0..<4 {
            let x = gaussian(d, seed: UInt64(800 + t))
            let y = dense(g, compress(g, x, RandomKey(seed: 8, step: UInt64(t), purpose: .sketchHashes)))
            gRatio += sumSquares(zip(x, y).map { $0 - $1 }) / sumSquares(x)
        }
        gRatio /= 4
        XCTAssertLessThanOrEqual(gRatio, 1 - Double(kg) / Double(d), "Gaussian: E‖x − C(x)‖²/‖x‖² = \(gRatio)")
    }

    func testAddScalesIntoTheSelectedCoordinates() {
        let d = 1000, k = 5
        let c = SketchTopK(dimension: d, k: k, rows: 3, cols: 100)
        let x = gaussian(d, seed: 900)
        let m = compress(c, x, RandomKey(seed: 1, purpose: .sketchHashes))
        var y = [Float](repeating: 1, count: d)
        y.withUnsafeMutableBufferPointer { c.add(m, scaledBy: -2, into: $0) }
        for i in 0..<d {
            if let j = m.pairs.indices.firstIndex(of: UInt32(i)) {
                XCTAssertEqual(y[i], 1 - 2 * x[i])
                XCTAssertEqual(m.pairs.values[j], x[i])
            } else {
                XCTAssertEqual(y[i], 1)
            }
        }
    }

    func testCompressReusesTheMessageStorage() {
        let d = 10_000
        let c = SketchTopK(dimension: d, k: 100, rows: 5, cols: 1000)
        var m = c.makeMessage()
        let x = gaussian(d, seed: 1000)
        x.withUnsafeBufferPointer { c.compress($0, key: RandomKey(seed: 1, purpose: .sketchHashes), into: &m) }
        let table = m.table.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let indices = m.pairs.indices.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        for step in 1...3 {
            x.withUnsafeBufferPointer { c.compress($0, key: RandomKey(seed: 1, step: UInt64(step), purpose: .sketchHashes), into: &m) }
            XCTAssertEqual(m.table.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }, table)
            XCTAssertEqual(m.pairs.indices.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }, indices)
        }
    }
}
