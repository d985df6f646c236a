import XCTest
import CSGDCore
import Compression

/// The Count Sketch under `sketch-topk`: linearity, shared hashing, balance of
/// buckets and signs, and the median estimates.
final class CountSketchTests: XCTestCase {
    let key = RandomKey(seed: 42, step: 7, purpose: .sketchHashes)

    /// Integers uniform in -m...m from the test stream `seed`.
    func integers(_ n: Int, max m: Int, seed: UInt64) -> [Float] {
        var s = RandomStream(key: RandomKey(seed: seed, purpose: .test))
        return (0..<n).map { _ in Float(Int(s.nextInt(below: UInt64(2 * m + 1))) - m) }
    }

    func gaussian(_ n: Int, seed: UInt64, sigma: Float = 1) -> [Float] {
        var x = [Float](repeating: 0, count: n)
        x.withUnsafeMutableBufferPointer { RandomFill.gaussian(RandomKey(seed: seed, purpose: .test), sigma: sigma, into: $0) }
        return x
    }

    func sketch(_ x: [Float], _ cs: CountSketch) -> [Float] {
        var t = [Float](repeating: 0, count: cs.tableCount)
        x.withUnsafeBufferPointer { xb in t.withUnsafeMutableBufferPointer { cs.accumulate(xb, into: $0) } }
        return t
    }

    func estimates(_ table: [Float], _ cs: CountSketch) -> [Float] {
        var e = [Float](repeating: 0, count: cs.dimension)
        table.withUnsafeBufferPointer { t in e.withUnsafeMutableBufferPointer { cs.estimate(t, into: $0) } }
        return e
    }

    func testLinearityIsExactOnIntegers() {
        let d = 20_000
        let cs = CountSketch(dimension: d, rows: 5, cols: 997, key: key)
        let a = integers(d, max: 1000, seed: 1), b = integers(d, max: 1000, seed: 2)
        let sum = zip(a, b).map { $0 + $1 }
        let sa = sketch(a, cs), sb = sketch(b, cs)
        XCTAssertEqual(zip(sa, sb).map { $0 + $1 }, sketch(sum, cs))
        // accumulate adds: a then b into one table is the sketch of a + b.
        var t = sa
        b.withUnsafeBufferPointer { xb in t.withUnsafeMutableBufferPointer { cs.accumulate(xb, into: $0) } }
        XCTAssertEqual(t, sketch(sum, cs))
        // Homogeneous: sketch(3a) = 3·sketch(a).
        XCTAssertEqual(sketch(a.map { 3 * $0 }, cs), sa.map { 3 * $0 })
        XCTAssertTrue(sa.contains { $0 != 0 })
    }

    func testLinearityOnFloatsWithinRounding() {
        let d = 50_000
        let cs = CountSketch(dimension: d, rows: 3, cols: 1000, key: key)
        let a = gaussian(d, seed: 3), b = gaussian(d, seed: 4, sigma: 10)
        let lhs = zip(sketch(a, cs), sketch(b, cs)).map { $0 + $1 }
        let rhs = sketch(zip(a, b).map { $0 + $1 }, cs)
        // Each bucket sums about 50 terms of size ≤ ~40: rounding ≲ 50·40·2^-23.
        for (u, v) in zip(lhs, rhs) { XCTAssertEqual(u, v, accuracy: 1e-3) }
    }

    func testHashesAreSharedByKeyAndChangeWithStep() {
        let d = 5000, rows = 4, cols = 1000
        let base = CountSketch(dimension: d, rows: rows, cols: cols, key: key)
        // Worker and purpose are ignored: every worker gets the same hashes.
        let other = CountSketch(dimension: d, rows: rows, cols: cols,
                                key: RandomKey(seed: 42, step: 7, worker: 3, purpose: .perturbation))
        XCTAssertEqual(other.key, base.key)
        XCTAssertEqual(base.key.worker, RandomKey.shared)
        XCTAssertEqual(base.key.purpose, .sketchHashes)
        for r in 0..<rows {
            for i in 0..<d {
                XCTAssertEqual(base.bucket(row: r, index: i), other.bucket(row: r, index: i))
                XCTAssertEqual(base.sign(row: r, index: i), other.sign(row: r, index: i))
            }
        }
        // Another step or seed: buckets agree only by chance (≈ 1/C).
        for k2 in [key.at(step: 8), RandomKey(seed: 43, step: 7, purpose: .sketchHashes)] {
            let cs = CountSketch(dimension: d, rows: rows, cols: cols, key: k2)
            for r in 0..<rows {
                let same = (0..<d).filter { cs.bucket(row: r, index: $0) == base.bucket(row: r, index: $0) }.count
                XCTAssertLessThan(same, d / 100, "row \(r)")
                let sameSign = (0..<d).filter { cs.sign(row: r, index: $0) == base.sign(row: r, index: $0) }.count
                XCTAssertEqual(Double(sameSign) / Double(d), 0.5, accuracy: 0.05)
            }
        }
        // Re-keying is a pure function of the key: away and back gives the same hashes.
        var moved = base
        moved.rekey(key.at(step: 100))
        XCTAssertNotEqual((0..<100).map { moved.bucket(row: 0, index: $0) }, (0..<100).map { base.bucket(row: 0, index: $0) })
        moved.rekey(key)
        for r in 0..<rows {
            XCTAssertEqual((0..<d).map { moved.bucket(row: r, index: $0) }, (0..<d).map { base.bucket(row: r, index: $0) })
        }
        // Same hashes ⇒ same tables.
        let x = gaussian(d, seed: 5)
        XCTAssertEqual(sketch(x, base), sketch(x, other))
        XCTAssertNotEqual(sketch(x, base), sketch(x, CountSketch(dimension: d, rows: rows, cols: cols, key: key.at(step: 8))))
    }

    func testUnitVectorLandsInOneSignedBucketPerRow() {
        let d = 1000, rows = 6, cols = 37
        let cs = CountSketch(dimension: d, rows: rows, cols: cols, key: key)
        for i in [0, 1, 499, 998, 999] {
            var x = [Float](repeating: 0, count: d)
            x[i] = 2.5
            let t = sketch(x, cs)
            for r in 0..<rows {
                let row = Array(t[(r * cols)..<((r + 1) * cols)])
                let b = cs.bucket(row: r, index: i)
                XCTAssertTrue(b >= 0 && b < cols)
                XCTAssertEqual(row[b], cs.sign(row: r, index: i) * 2.5)
                XCTAssertEqual(row.filter { $0 != 0 }.count, 1)
            }
            // Every row agrees, so the estimate is exact.
            t.withUnsafeBufferPointer { XCTAssertEqual(cs.estimate($0, index: i), 2.5) }
        }
    }

    func testBucketsAndSignsAreBalancedAndRowsIndependent() {
        let d = 1 << 17, cols = 16, rows = 3
        let cs = CountSketch(dimension: d, rows: rows, cols: cols, key: key)
        for r in 0..<rows {
            var count = [Int](repeating: 0, count: cols)
            var plus = [Int](repeating: 0, count: cols)
            for i in 0..<d {
                let b = cs.bucket(row: r, index: i)
                count[b] += 1
                if cs.sign(row: r, index: i) > 0 { plus[b] += 1 }
            }
            // Expected 8192 a bucket (σ ≈ 88) and half positive within it (σ ≈ 45).
            for b in 0..<cols {
                XCTAssertEqual(Double(count[b]), 8192, accuracy: 500, "row \(r) bucket \(b)")
                XCTAssertEqual(Double(plus[b]), Double(count[b]) / 2, accuracy: 300, "row \(r) bucket \(b)")
            }
        }
        // Rows use independent hashes: equal buckets in rows 0 and 1 about 1/C of the time.
        let agree = (0..<d).filter { cs.bucket(row: 0, index: $0) == cs.bucket(row: 1, index: $0) }.count
        XCTAssertEqual(Double(agree) / Double(d), 1.0 / Double(cols), accuracy: 0.005)
        // A full-range C: buckets spread over the whole range.
        let wide = CountSketch(dimension: 1000, rows: 1, cols: 1 << 32, key: key)
        XCTAssertGreaterThan((0..<1000).map { wide.bucket(row: 0, index: $0) }.max()!, 1 << 31)
        let one = CountSketch(dimension: 1000, rows: 2, cols: 1, key: key)
        XCTAssertTrue((0..<1000).allSatisfy { one.bucket(row: 1, index: $0) == 0 })
    }

    /// The median of the signed entries, written out the slow way.
    func referenceMedian(_ table: [Float], _ cs: CountSketch, _ i: Int) -> Float {
        let v = (0..<cs.rows).map { r in cs.sign(row: r, index: i) * table[r * cs.cols + cs.bucket(row: r, index: i)] }.sorted()
        let n = v.count
        return n % 2 == 1 ? v[n / 2] : 0.5 * v[n / 2 - 1] + 0.5 * v[n / 2]
    }

    func testEstimateIsTheMedianForEveryRowCount() {
        let d = 9001   // three chunks of 4096, 4096 and 809
        for rows in 1...9 {
            let cs = CountSketch(dimension: d, rows: rows, cols: 50, key: key.at(step: UInt64(rows)))
            let table = gaussian(rows * 50, seed: UInt64(100 + rows))
            let est = estimates(table, cs)
            for i in 0..<d {
                XCTAssertEqual(est[i], referenceMedian(table, cs, i), "R = \(rows), i = \(i)")
                if i % 97 == 0 {
                    table.withUnsafeBufferPointer { XCTAssertEqual(cs.estimate($0, index: i).bitPattern, est[i].bitPattern) }
                }
            }
        }
    }

    func testEstimateOfSparseVectorIsExact() {
        let d = 2000
        var x = [Float](repeating: 0, count: d)
        x[3] = 5; x[700] = -2; x[1999] = 0.25
        for rows in [3, 4, 5] {
            let cs = CountSketch(dimension: d, rows: rows, cols: 4096, key: key)
            XCTAssertEqual(estimates(sketch(x, cs), cs), x, "R = \(rows)")
        }
    }

    func testNonFiniteTablesDoNotTrapAndAreDeterministic() {
        let d = 5000
        for rows in [1, 2, 4, 5, 7] {
            let cs = CountSketch(dimension: d, rows: rows, cols: 64, key: key)
            var s = RandomStream(key: RandomKey(seed: UInt64(rows), purpose: .test))
            var table = (0..<(rows * 64)).map { _ in Float(bitPattern: s.nextUInt32()) }
            table[0] = .nan; table[1] = .infinity; table[2] = -.infinity; table[3] = .signalingNaN
            let e1 = estimates(table, cs), e2 = estimates(table, cs)
            XCTAssertEqual(e1.map(\.bitPattern), e2.map(\.bitPattern))
            for i in stride(from: 0, to: d, by: 123) {
                table.withUnsafeBufferPointer { XCTAssertEqual(cs.estimate($0, index: i).bitPattern, e1[i].bitPattern) }
            }
        }
    }

    // MARK: bit-for-bit agreement with a straight scalar loop

    /// table[r·C + h_r(i)] += s_r(i)·x_i, row after row and i after i: the
    /// order every bucket must see its terms in. The sign flips the sign bit
    /// (as the sketch does), so NaN and ±0 inputs are covered too.
    func referenceSketch(_ x: [Float], _ cs: CountSketch, into table: inout [Float]) {
        for r in 0..<cs.rows {
            for i in 0..<cs.dimension {
                let flip: UInt32 = cs.sign(row: r, index: i) < 0 ? 0x8000_0000 : 0
                table[r * cs.cols + cs.bucket(row: r, index: i)] += Float(bitPattern: x[i].bitPattern ^ flip)
            }
        }
    }

    /// Gaussian entries, a few of them exact zeros, negative zeros, huge,
    /// tiny (subnormal) or ±∞ (`special` of them; NaN in one case).
    func mixed(_ n: Int, seed: UInt64, special: Int, nan: Bool) -> [Float] {
        var x = gaussian(n, seed: seed, sigma: 3)
        var s = RandomStream(key: RandomKey(seed: seed, purpose: .test))
        let values: [Float] = [0, -0.0, 3e38, -3e38, .leastNonzeroMagnitude * 7, -.leastNormalMagnitude / 3,
                               .infinity, -.infinity] + (nan ? [.nan] : [])
        for k in 0..<min(special, n) {
            x[Int(s.nextInt(below: UInt64(n)))] = values[k % values.count]
        }
        return x
    }

    func testSketchAndEstimateMatchScalarReferenceBitForBit() {
        // d around the estimate's chunks (4096, or C when C is larger) and on
        // both sides of the threading threshold (2^16); C from one bucket to
        // more buckets than coordinates; every R (each median network) on
        // small d, and on the threaded sizes one row, even counts, 5 and 7.
        let all = Array(1...7)
        let cases: [(d: Int, cols: Int, rows: [Int])] = [
            (1, 1, all), (1, 5, all), (4095, 7, all), (4095, 5000, all), (4097, 3, all), (4097, 4096, all),
            (8193, 300, all), (8193, 4097, all), (70_000, 11, [1, 2, 5, 7]), (70_000, 35_001, [4, 5]),
            (300_000, 997, [2]), (300_000, 150_001, [5]),
        ]
        var checked = 0
        for (d, cols, rowCounts) in cases {
            for rows in rowCounts {
                let seed = UInt64(d &* 31 &+ cols &* 7 &+ rows)
                let cs = CountSketch(dimension: d, rows: rows, cols: cols, key: key.at(step: seed))
                // Sketch: a non-zero starting table (accumulate adds) and inputs with specials.
                let x = mixed(d, seed: seed, special: d >= 4095 ? 40 : 0, nan: cols == 5000)
                let start = gaussian(rows * cols, seed: seed + 1)
                var want = start
                referenceSketch(x, cs, into: &want)
                var got = start
                x.withUnsafeBufferPointer { xb in got.withUnsafeMutableBufferPointer { cs.accumulate(xb, into: $0) } }
                let differing = zip(got, want).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "table entries that differ: d = \(d), C = \(cols), R = \(rows)")
                // Estimate: a Gaussian table has distinct entries, so the median
                // of the sorted signed entries is exactly the one to expect.
                let table = gaussian(rows * cols, seed: seed + 2)
                let est = estimates(table, cs)
                var signed = [Float](repeating: 0, count: rows)
                var bad = 0
                for i in 0..<d {
                    for r in 0..<rows {
                        let flip: UInt32 = cs.sign(row: r, index: i) < 0 ? 0x8000_0000 : 0
                        signed[r] = Float(bitPattern: table[r * cols + cs.bucket(row: r, index: i)].bitPattern ^ flip)
                    }
                    signed.sort()
                    let median = rows % 2 == 1 ? signed[rows / 2] : 0.5 * signed[rows / 2 - 1] + 0.5 * signed[rows / 2]
                    if est[i].bitPattern != median.bitPattern { bad += 1 }
                }
                XCTAssertEqual(bad, 0, "estimate d = \(d), C = \(cols), R = \(rows)")
                // The table the sketch made (empty buckets give ±0 ties): the
                // bulk path agrees with the single-index one bit for bit.
                let e2 = estimates(got, cs)
                for i in stride(from: 0, to: d, by: max(1, d / 500)) {
                    got.withUnsafeBufferPointer { XCTAssertEqual(cs.estimate($0, index: i).bitPattern, e2[i].bitPattern) }
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, cases.map(\.rows.count).reduce(0, +))
    }
}
