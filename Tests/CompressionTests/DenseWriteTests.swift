import XCTest
import CSGDCore
@testable import Compression

/// The one-pass `decompress` overrides (sparse pairs, sign, QSGD) and the
/// parallel Count Sketch paths, and compress-and-keep-residual (one pass for
/// RandomK and TopK), give exactly what the straightforward code gives; a reused sampling workspace draws as a fresh one; `Kernels.sumSquares`
/// holds vectors of any scale.
final class DenseWriteTests: XCTestCase {
    /// decompress(m) over garbage == zero, then add(m, 1): bit for bit.
    func assertDecompressIsZeroThenAdd<C: Compressor>(_ c: C, _ x: FloatBuffer, key: RandomKey, _ what: String,
                                                      line: UInt = #line) {
        let m = c.compress(x.readOnly, key: key)
        let y1 = FloatBuffer(count: c.dimension), y2 = FloatBuffer(count: c.dimension)
        for i in 0..<c.dimension { y1[i] = .nan }
        c.decompress(m, into: y1.buffer)
        c.add(m, scaledBy: 1, into: y2.buffer)
        let bad = (0..<c.dimension).first { y1[$0].bitPattern != y2[$0].bitPattern }
        XCTAssertNil(bad, "\(what): decompress differs at \(bad ?? -1)", line: line)
    }

    func testDecompressEqualsZeroThenAddForEveryCompressor() throws {
        let key = RandomKey(seed: 3, step: 1, worker: 0, purpose: .test)
        let all = ["randomk:0.1", "randomk:1.0", "topk:0.01", "topk:1.0", "sign", "qsgd:3", "qsgd:15,coding=fixed",
                   "qsgd:8192,coding=fixed", "sketch-topk:0.05,rows=3,cols=64"]
        // 70,001 is above QSGD's parallel threshold (chunks on several threads).
        for d in [1, 63, 64, 1000, 70_001] {
            for spec in d > 1000 ? ["qsgd:15,coding=fixed", "sign", "topk:0.01"] : all {
                let c = try CompressorSpec.parse(spec).make(dimension: d)
                for (t, x) in [Vectors.gaussian(d, seed: 5), Vectors.heavyTailed(d, seed: 6), FloatBuffer(count: d)].enumerated() {
                    if t == 0 && d > 2 { x[1] = -0.0; x[2] = 0 }   // signed zeros must come out as 0 + v does
                    func check<T: Compressor>(_ c: T) { assertDecompressIsZeroThenAdd(c, x, key: key, "\(spec) d=\(d) vector \(t)") }
                    check(c)
                }
            }
        }
    }

    func testCompressKeepingResidualIsCompressThenSubtract() throws {
        // Every compressor (RandomK and TopK in one pass, the others by the
        // protocol's default): m ← C(x), x ← x − C(x) gives the message and
        // the residual of compress then add(m, −1), bit for bit, with ±∞, NaN
        // and signed zeros among the values.
        let key = RandomKey(seed: 4, step: 2, worker: 0, purpose: .test)
        let specs = ["randomk:0.1", "randomk:1.0", "topk:0.1", "topk:1.0", "none", "sign", "qsgd:3",
                     "sketch-topk:0.05,rows=3,cols=64"]
        for d in [1, 64, 1000, 70_001] {
            let x = Vectors.heavyTailed(d, seed: 7)
            if d >= 64 { x[3] = .infinity; x[10] = -.infinity; x[20] = .nan; x[30] = -0.0; x[40] = 0 }
            func check<C: Compressor>(_ c: C, _ what: String) {
                let twoPass = FloatBuffer(count: d), onePass = FloatBuffer(count: d)
                twoPass.buffer.update(fromContentsOf: x.readOnly)
                onePass.buffer.update(fromContentsOf: x.readOnly)
                let m1 = c.compress(twoPass.readOnly, key: key)
                c.add(m1, scaledBy: -1, into: twoPass.buffer)
                var m2 = c.makeMessage()
                c.compressKeepingResidual(onePass.buffer, key: key, into: &m2)
                XCTAssertEqual(c.encode(m1), c.encode(m2), "\(what) d=\(d): messages differ")
                let bad = (0..<d).first { twoPass[$0].bitPattern != onePass[$0].bitPattern }
                XCTAssertNil(bad, "\(what) d=\(d): residual differs at \(bad ?? -1)")
            }
            for spec in specs {
                check(try CompressorSpec.parse(spec).make(dimension: d), spec)
            }
        }
    }

    func testSparseWriteFallsBackForUnsortedIndices() {
        var m = SparseMessage(capacity: 4)
        m.indices = [5, 2, 2, 9]
        m.values = [1, 2, 3, 4]
        var y = [Float](repeating: 7, count: 10)
        y.withUnsafeMutableBufferPointer { m.write(into: $0) }
        XCTAssertEqual(y, [0, 0, 5, 0, 0, 1, 0, 0, 0, 4])
        m.indices = [0, 3, 4, 9]
        m.values = [-0.0, 1, 2, 3]
        y.withUnsafeMutableBufferPointer { m.write(into: $0) }
        XCTAssertEqual(y.map(\.bitPattern), [Float(0), 0, 0, 1, 2, 0, 0, 0, 0, 3].map(\.bitPattern))
    }

    func testParallelSketchMatchesPerCoordinateEstimates() {
        // d above the parallel threshold: rows on several threads, two estimate threads.
        let d = (1 << 16) + 1234
        let key = RandomKey(seed: 9, step: 4, purpose: .sketchHashes)
        let x = Vectors.heavyTailed(d, seed: 21)
        for (rows, cols) in [(5, 3000), (4, 70_000), (1, 17)] {
            let cs = CountSketch(dimension: d, rows: rows, cols: cols, key: key)
            let t = FloatBuffer(count: cs.tableCount)
            cs.accumulate(x.readOnly, into: t.buffer)
            // The table by the definition, row by row in index order.
            var expected = [Float](repeating: 0, count: cs.tableCount)
            for r in 0..<rows {
                for i in 0..<d { expected[r * cols + cs.bucket(row: r, index: i)] += cs.sign(row: r, index: i) * x[i] }
            }
            XCTAssertEqual(t.array.map(\.bitPattern), expected.map(\.bitPattern), "R=\(rows) C=\(cols)")
            let est = FloatBuffer(count: d)
            cs.estimate(t.readOnly, into: est.buffer)
            var mismatches = 0
            for i in stride(from: 0, to: d, by: 7) where cs.estimate(t.readOnly, index: i).bitPattern != est[i].bitPattern {
                mismatches += 1
            }
            XCTAssertEqual(mismatches, 0, "R=\(rows) C=\(cols)")
        }
    }

    func testReusedSamplingWorkspaceGivesFreshDraws() {
        // The bitmap path leaves its bitmap cleared for the next draw, whatever d was.
        var ws = SamplingWorkspace()
        for (t, (d, k)) in [(10_000, 500), (70_000, 7000), (3000, 2999), (70_000, 70_000), (5000, 5), (64, 63)].enumerated() {
            let key = RandomKey(seed: 17, step: UInt64(t), purpose: .randomKIndices)
            var reused = [UInt32](repeating: 0, count: k), fresh = reused
            reused.withUnsafeMutableBufferPointer { Sampling.withoutReplacement(d: d, key: key, into: $0, workspace: &ws) }
            var ws2 = SamplingWorkspace()
            fresh.withUnsafeMutableBufferPointer { Sampling.withoutReplacement(d: d, key: key, into: $0, workspace: &ws2) }
            XCTAssertEqual(reused, fresh, "d=\(d) K=\(k)")
            XCTAssertEqual(Set(reused).count, k)
        }
    }

    func testSumSquaresAtAnyScale() {
        let d = 5000
        let base = Vectors.gaussian(d, seed: 31)
        var exact = 0.0
        for i in 0..<d { exact += Double(base[i]) * Double(base[i]) }
        for scale: Float in [1, 1e20, 1e-30, 3e38 / 128, 1e-40] {
            let x = FloatBuffer(count: d)
            for i in 0..<d { x[i] = base[i] * scale }
            var ref = 0.0
            for i in 0..<d { ref += Double(x[i]) * Double(x[i]) }
            let got = Kernels.sumSquares(x.readOnly)
            XCTAssertTrue(got.isFinite && got > 0, "scale \(scale)")
            XCTAssertEqual(got / ref, 1, accuracy: 1e-5, "scale \(scale)")
        }
        // Mixed scales inside one block, zeros, and non-finite entries.
        let x = FloatBuffer(count: 3000)
        x[5] = 1e25; x[6] = 1e-25; x[2500] = 3
        XCTAssertEqual(Kernels.sumSquares(x.readOnly), 1e50 + 9, accuracy: 1e44)
        let zeros = FloatBuffer(count: 2049)
        withExtendedLifetime(zeros) { XCTAssertEqual(Kernels.sumSquares(zeros.readOnly), 0) }
        x[7] = .infinity
        XCTAssertEqual(Kernels.sumSquares(x.readOnly), .infinity)
        x[7] = .nan
        XCTAssertTrue(Kernels.sumSquares(x.readOnly).isNaN)
    }

    func testQSGDOfHugeAndTinyVectorsIsNotTheZeroMessage() {
        let d = 3000
        for scale: Float in [1e25, 1e-30] {
            let x = Vectors.gaussian(d, seed: 41)
            for i in 0..<d { x[i] *= scale }
            let c = QSGD(dimension: d, levels: 7, coding: .fixed)
            let m = c.compress(x.readOnly, key: RandomKey(seed: 1, worker: 0, purpose: .quantization))
            XCTAssertEqual(Double(m.norm), Kernels.norm2(x.readOnly), accuracy: Double(m.norm) * 1e-6)
            // |x_i|·S/‖x‖ ≈ 7·0.8/√3000: about one coordinate in ten is non-zero.
            XCTAssertGreaterThan(m.nonZeroCount, d / 20, "scale \(scale)")
            XCTAssertLessThan(m.nonZeroCount, d / 4, "scale \(scale)")
        }
    }
}
