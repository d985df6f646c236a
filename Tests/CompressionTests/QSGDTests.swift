import XCTest
import CSGDCore
import Compression

/// QSGD: the documented rounding rule (checked against an independent
/// re-implementation), both wire formats, unbiasedness, the variance bound
/// and hostile bytes.
final class QSGDTests: XCTestCase {
    // MARK: reference

    /// The rounding rule of the `QSGD` documentation, written from the doc
    /// comment with scalar code and `RandomKey.block`.
    struct Reference {
        let levels: Int
        let norm: Float
        let sigma: Float
        let x: [Float]
        let key: RandomKey

        init(_ x: [Float], levels s: Int, key: RandomKey) {
            self.levels = s
            self.key = key
            let n = x.withUnsafeBufferPointer { Float(Kernels.norm2($0)) }
            guard n.isFinite, n > 0 else {
                norm = 0; sigma = 0; self.x = x
                return
            }
            norm = n
            let tiny = n < 0x1p-64
            let xs = tiny ? x.map { $0 * 0x1p64 } : x
            let nn = tiny ? n * 0x1p64 : n
            let m = xs.reduce(Float(0)) { max($0, abs($1)) }
            let limit = Float(256 * s)
            var sg = limit / nn
            if m * sg > limit { sg = limit / m }
            while m * sg > limit { sg = sg.nextDown }
            sigma = sg
            self.x = xs
        }

        func word(_ block: UInt32, _ a: Int) -> UInt32 {
            let w = key.block(block)
            return [w.0, w.1, w.2, w.3][a]
        }

        /// u_i: top byte = byte c of word a of block 4q + b (i = 64q + 16a + 4c + b);
        /// low 24 bits = word i mod 4 of block 2^31 + ⌊i/4⌋.
        func uniform(_ i: Int) -> UInt32 {
            let q = i / 64, a = (i / 16) % 4, c = (i / 4) % 4, b = i % 4
            let top = (word(UInt32(4 * q + b), a) >> UInt32(8 * c)) & 0xFF
            let low = word(0x8000_0000 + UInt32(i / 4), i % 4) & 0xFF_FFFF
            return top << 24 | low
        }

        func level(_ i: Int) -> Int32 {
            guard norm > 0 else { return 0 }
            let q = Double(x[i] * sigma) / 256
            let h = q.rounded(.down)
            let f = q - h
            return Int32(h) + (Double(uniform(i)) < f * 0x1p32 ? 1 : 0)
        }

        var levelsVector: [Int32] { (0..<x.count).map(level) }
    }

    private func vector(_ d: Int, seed: UInt64, kind: Int = 0) -> [Float] {
        switch kind {
        case 0: return Vectors.gaussian(d, seed: seed).array
        case 1: return Vectors.heavyTailed(d, seed: seed).array
        case 2:
            // Sparse with a few huge entries and exact zeros.
            var v = [Float](repeating: 0, count: d)
            var s = RandomStream(key: RandomKey(seed: seed, purpose: .test))
            for _ in 0..<max(1, d / 20) { v[Int(s.nextInt(below: UInt64(d)))] = Float(s.nextGaussian()) * 1e3 }
            return v
        default:
            // One dominant coordinate (|x_i| ≈ ‖x‖): exercises the σ adjustment.
            var v = Vectors.gaussian(d, seed: seed, sigma: 1e-4).array
            v[d / 2] = -7.5
            return v
        }
    }

    /// Fails with the first differing index instead of printing whole vectors.
    private func assertSameLevels(_ got: [Int32], _ expected: [Int32], _ what: String, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, what, line: line)
        if let i = got.indices.first(where: { i in i < expected.count && got[i] != expected[i] }) {
            XCTFail("\(what): level \(i) is \(got[i]), expected \(expected[i])", line: line)
        }
    }

    private func compress(_ c: QSGD, _ x: [Float], key: RandomKey) -> QSGDMessage {
        x.withUnsafeBufferPointer { c.compress($0, key: key) }
    }

    private func dense(_ c: QSGD, _ m: QSGDMessage) -> [Float] {
        var y = [Float](repeating: 0, count: c.dimension)
        y.withUnsafeMutableBufferPointer { c.decompress(m, into: $0) }
        return y
    }

    // MARK: tests

    func testDescriptionAndProperties() {
        let f = QSGD(dimension: 10, levels: 15, coding: .fixed)
        XCTAssertEqual(f.description, "qsgd:15,coding=fixed")
        XCTAssertEqual(QSGD(dimension: 10, levels: 15, coding: .elias).description, "qsgd:15,coding=elias")
        XCTAssertEqual(try CompressorSpec.parse("qsgd:15").make(dimension: 3).description, "qsgd:15,coding=elias")
        XCTAssertFalse(f.isLinear)
        XCTAssertTrue(f.isUnbiased)
        for (s, w) in [(1, 2), (2, 3), (3, 3), (7, 4), (15, 5), (16, 6), (63, 7), (8191, 14), (1 << 30, 32)] {
            XCTAssertEqual(QSGD(dimension: 1, levels: s, coding: .fixed).fieldWidth, w, "S = \(s)")
        }
        XCTAssertEqual(f.varianceBound, min(10.0 / 225, 10.0.squareRoot() / 15))
    }

    func testMatchesTheDocumentedRule() {
        let key = RandomKey(seed: 5, step: 9, worker: 3, purpose: .quantization)
        for (d, s, kind) in [(1, 1, 0), (3, 15, 0), (127, 2, 1), (128, 15, 0), (129, 63, 2), (300, 1, 3), (1000, 255, 1),
                             (4099, 8191, 0), (700, 8192, 1), (333, 100_000, 3), (2048, 7, 2)] {
            let x = vector(d, seed: UInt64(d * 31 + s), kind: kind)
            let ref = Reference(x, levels: s, key: key)
            let expected = ref.levelsVector
            for coding in QSGDCoding.allCases {
                let c = QSGD(dimension: d, levels: s, coding: coding)
                let m = compress(c, x, key: key)
                XCTAssertEqual(m.norm.bitPattern, ref.norm.bitPattern, "norm d=\(d) S=\(s)")
                assertSameLevels(m.signedLevels(), expected, "d=\(d) S=\(s) \(coding)")
                XCTAssertEqual(m.nonZeroCount, expected.filter { $0 != 0 }.count)
                for i in stride(from: 0, to: d, by: max(1, d / 37)) { XCTAssertEqual(m.level(at: i), Int(expected[i])) }
                XCTAssertTrue(expected.allSatisfy { abs(Int($0)) <= s })
            }
        }
    }

    func testParallelChunksMatchTheRule() {
        // Above the parallel threshold: chunks on several threads, same result.
        let d = (1 << 17) + 77
        let x = vector(d, seed: 12)
        let key = RandomKey(seed: 6, step: 1, worker: 0, purpose: .quantization)
        let ref = Reference(x, levels: 15, key: key)
        let c = QSGD(dimension: d, levels: 15, coding: .fixed)
        let m1 = compress(c, x, key: key), m2 = compress(c, x, key: key)
        XCTAssertEqual(m1, m2)
        let got = m1.signedLevels()
        var mismatches = 0
        // Every coordinate with a non-zero reference level, and a stride of the rest.
        for i in 0..<d where i % 7 == 0 || abs(x[i] * ref.sigma) >= 256 {
            if got[i] != ref.level(i) { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
        let e = QSGD(dimension: d, levels: 15, coding: .elias)
        assertSameLevels(compress(e, x, key: key).signedLevels(), got, "elias vs fixed")
        XCTAssertEqual(m1.norm, Float(x.withUnsafeBufferPointer { Kernels.norm2($0) }))
    }

    func testEliasSizeFollowsTheNonZeros() throws {
        // Sparse output (S ≪ √d): Elias is far below the fixed width, and its
        // size is exactly the sum of the documented fields.
        let d = 20000
        let x = vector(d, seed: 3)
        let key = RandomKey(seed: 1, purpose: .quantization)
        let c = QSGD(dimension: d, levels: 2, coding: .elias)
        let m = compress(c, x, key: key)
        let levels = m.signedLevels()
        var expected = 32 + EliasOmega.bits(of: UInt64(m.nonZeroCount) + 1)
        var prev = -1
        for (i, v) in levels.enumerated() where v != 0 {
            expected += EliasOmega.bits(of: UInt64(i - prev)) + 1 + EliasOmega.bits(of: UInt64(abs(v)))
            prev = i
        }
        XCTAssertEqual(c.bits(of: m), expected)
        XCTAssertLessThan(c.bits(of: m) * 5, 32 + d * 3)
        // Its bits, read by hand.
        let bytes = c.encode(m)
        try bytes.withUnsafeBytes { raw in
            var r = BitReader(raw)
            XCTAssertEqual(try r.readFloat().bitPattern, m.norm.bitPattern)
            XCTAssertEqual(try EliasOmega.read(from: &r), UInt64(m.nonZeroCount) + 1)
            var i = -1
            for _ in 0..<m.nonZeroCount {
                i += Int(try EliasOmega.read(from: &r))
                let negative = try r.readBit()
                let level = Int32(try EliasOmega.read(from: &r))
                XCTAssertEqual(levels[i], negative ? -level : level)
            }
            try r.finish()
        }
    }

    func testFixedLayoutByHand() throws {
        // d = 130: one vertical block of 128, then 2 consecutive tail fields.
        let d = 130, s = 7, w = 4
        let x = vector(d, seed: 21, kind: 1)
        let c = QSGD(dimension: d, levels: s, coding: .fixed)
        let m = compress(c, x, key: RandomKey(seed: 2, purpose: .quantization))
        let levels = m.signedLevels()
        let bytes = c.encode(m)
        XCTAssertEqual(bytes.count, (32 + d * w + 7) / 8)
        func bits(_ from: Int, _ n: Int) -> UInt32 {
            var v: UInt32 = 0
            for t in 0..<n where (bytes[(from + t) / 8] >> UInt8((from + t) % 8)) & 1 == 1 { v |= 1 << UInt32(t) }
            return v
        }
        func signed(_ f: UInt32) -> Int32 { f >= 8 ? Int32(f) - 16 : Int32(f) }
        XCTAssertEqual(bits(0, 32), m.norm.bitPattern)
        for i in 0..<128 {
            let k = i / 4, l = i % 4
            let laneBit = k * w, j = laneBit / 32
            let start = 32 + 32 * (4 * j + l) + laneBit % 32
            XCTAssertEqual(signed(bits(start, w)), levels[i], "coordinate \(i)")
        }
        XCTAssertEqual(signed(bits(32 + 128 * w, w)), levels[128])
        XCTAssertEqual(signed(bits(32 + 129 * w, w)), levels[129])
    }

    func testUnbiased() {
        // Q(x) averaged over T independent keys against x, coordinate by
        // coordinate, in units of the exact standard deviation of the mean:
        // Var Q_i = (N/S)²·f_i(1 − f_i) with f_i = frac(q_i).
        let d = 256, s = 3, trials = 1500
        let x = vector(d, seed: 44, kind: 1)
        let c = QSGD(dimension: d, levels: s, coding: .fixed)
        var sum = [Double](repeating: 0, count: d)
        var m = c.makeMessage()
        let y = FloatBuffer(count: d)
        for t in 0..<trials {
            x.withUnsafeBufferPointer { c.compress($0, key: RandomKey(seed: 17, step: UInt64(t), worker: 4, purpose: .quantization), into: &m) }
            c.decompress(m, into: y.buffer)
            for i in 0..<d { sum[i] += Double(y[i]) }
        }
        let ref = Reference(x, levels: s, key: RandomKey(seed: 0, purpose: .quantization))
        let unit = Double(m.norm) / Double(s)
        var worst = 0.0, total = 0.0
        for i in 0..<d {
            let mean = sum[i] / Double(trials)
            let q = Double(x[i] * ref.sigma) / 256
            let f = q - q.rounded(.down)
            let sd = unit * (f * (1 - f) / Double(trials)).squareRoot()
            let err = abs(mean - Double(x[i]))
            let slack = 1e-5 * max(abs(Double(x[i])), unit)   // Float rounding of σ, N and the sums
            if sd == 0 {
                XCTAssertLessThan(err, slack, "deterministic coordinate \(i)")
            } else {
                // A few rare events (f ≈ 0 or 1) are Poisson, not Gaussian: allow 7 of them.
                worst = max(worst, (err - slack - 7 * unit / Double(trials)) / sd)
            }
            total += (mean - Double(x[i])) * (mean - Double(x[i]))
        }
        // 256 coordinates: P(max |z| > 5.5) < 1e-5.
        XCTAssertLessThan(worst, 5.5)
        // The total squared error is ≈ Σ Var/T (≤ d/4·unit²/T), far from a biased result.
        XCTAssertLessThan(total, 3 * Double(d) / 4 * unit * unit / Double(trials))
    }

    func testVarianceBound() {
        // E‖Q(x)‖² = (N/S)² Σ (h_i² + f_i(2h_i + 1)) exactly; it must be below
        // (1 + min(d/S², √d/S))‖x‖², and a Monte Carlo mean must match it.
        for (kind, d, s) in [(0, 1000, 1), (0, 700, 4), (0, 512, 31), (1, 1000, 1), (1, 600, 15), (1, 300, 2), (3, 200, 3)] {
            let x = vector(d, seed: UInt64(100 + d + s), kind: kind)
            let c = QSGD(dimension: d, levels: s, coding: .elias)
            let ref = Reference(x, levels: s, key: RandomKey(seed: 0, purpose: .quantization))
            let unit = Double(ref.norm) / Double(s)
            var exact = 0.0, fourth = 0.0
            for i in 0..<d {
                let q = abs(Double(x[i] * ref.sigma) / 256)
                let h = q.rounded(.down), f = q - h
                exact += h * h + f * (2 * h + 1)
                fourth += f * (1 - f) * (2 * h + 1) * (2 * h + 1)   // Var ξ_i²
            }
            exact *= unit * unit
            let normSq = x.reduce(0.0) { $0 + Double($1) * Double($1) }
            let bound = (1 + c.varianceBound) * normSq
            XCTAssertLessThanOrEqual(exact, bound * (1 + 1e-5), "kind \(kind) d=\(d) S=\(s)")
            let trials = 120
            var mc = 0.0
            var m = c.makeMessage()
            for t in 0..<trials {
                x.withUnsafeBufferPointer { c.compress($0, key: RandomKey(seed: 5, step: UInt64(t), purpose: .quantization), into: &m) }
                let v = m.signedLevels()
                mc += v.reduce(0.0) { $0 + Double($1) * Double($1) } * unit * unit
            }
            mc /= Double(trials)
            XCTAssertLessThanOrEqual(mc, bound * 1.05, "kind \(kind) d=\(d) S=\(s)")
            let sd = unit * unit * (fourth / Double(trials)).squareRoot()
            XCTAssertEqual(mc, exact, accuracy: 5 * sd + 1e-6 * exact, "kind \(kind) d=\(d) S=\(s)")
        }
    }

    func testZeroTinyAndNonFiniteInputs() throws {
        let key = RandomKey(seed: 1, purpose: .quantization)
        for coding in QSGDCoding.allCases {
            let d = 300
            let c = QSGD(dimension: d, levels: 15, coding: coding)
            var inputs: [[Float]] = [[Float](repeating: 0, count: d), [Float](repeating: -0.0, count: d)]
            var nan = vector(d, seed: 1); nan[17] = .nan; inputs.append(nan)
            var inf = vector(d, seed: 1); inf[200] = -.infinity; inputs.append(inf)
            inputs.append([Float](repeating: 3e38, count: d))   // ‖x‖ overflows Float
            for x in inputs {
                let m = compress(c, x, key: key)
                XCTAssertEqual(m.norm.bitPattern, 0)
                XCTAssertEqual(m.nonZeroCount, 0)
                XCTAssertEqual(dense(c, m), [Float](repeating: 0, count: d))
                let bytes = c.encode(m)
                XCTAssertEqual(try c.decode(bytes, key: key), m)
                XCTAssertEqual(c.bits(of: m), coding == .fixed ? 32 + d * 5 : 32 + 1)
            }
            // A tiny vector (norm < 2^-64): the scaled path, still the rule.
            var tiny = [Float](repeating: 0, count: d)
            tiny[3] = 3e-20; tiny[150] = -1e-20; tiny[299] = 2e-20
            let ref = Reference(tiny, levels: 15, key: key)
            XCTAssertGreaterThan(ref.norm, 0)
            XCTAssertLessThan(ref.norm, 0x1p-64)
            let m = compress(c, tiny, key: key)
            assertSameLevels(m.signedLevels(), ref.levelsVector, "tiny \(coding)")
            XCTAssertEqual(try c.decode(c.encode(m), key: key), m)
        }
    }

    func testAddScaled() {
        for coding in QSGDCoding.allCases {
            for d in [5, 1000, (1 << 16) + 130] {
                let c = QSGD(dimension: d, levels: 7, coding: coding)
                let x = vector(d, seed: UInt64(d), kind: 1)
                let m = compress(c, x, key: RandomKey(seed: 2, step: 3, purpose: .quantization))
                let levels = m.signedLevels()
                var y = (0..<d).map { Float($0 % 13) - 6 }
                let y0 = y
                y.withUnsafeMutableBufferPointer { c.add(m, scaledBy: -2.5, into: $0) }
                let unit = Double(m.norm) / 7
                var worst = 0.0
                for i in 0..<d {
                    let term = 2.5 * unit * Double(levels[i])
                    let expected = Double(y0[i]) - term
                    worst = max(worst, abs(Double(y[i]) - expected) / max(1, abs(Double(y0[i])) + abs(term)))
                }
                XCTAssertLessThan(worst, 1e-6, "d=\(d) \(coding)")
            }
        }
    }

    // MARK: hostile bytes

    private func bytes(_ body: (inout BitWriter) -> Void) -> [UInt8] {
        var w = BitWriter()
        body(&w)
        return w.finished()
    }

    func testDecodeRejectsMalformedFields() {
        let key = RandomKey(seed: 1, purpose: .quantization)
        // Fixed, d = 3 (all tail fields), S = 5, w = 4.
        let f = QSGD(dimension: 3, levels: 5, coding: .fixed)
        func fixed(_ norm: Float, _ fields: [UInt64]) -> [UInt8] {
            bytes { w in
                w.write(norm)
                for v in fields { w.write(v, bits: 4) }
            }
        }
        XCTAssertNoThrow(try f.decode(fixed(1, [5, 0, 0b1011]), key: key))          // 5, 0, −5
        XCTAssertEqual(try f.decode(fixed(1, [5, 0, 0b1011]), key: key).signedLevels(), [5, 0, -5])
        XCTAssertThrowsError(try f.decode(fixed(1, [6, 0, 0]), key: key))           // level 6 > S
        XCTAssertThrowsError(try f.decode(fixed(1, [0, 0b1010, 0]), key: key))      // −6
        XCTAssertThrowsError(try f.decode(fixed(1, [0, 0, 0b1000]), key: key))      // −8
        XCTAssertThrowsError(try f.decode(fixed(0, [1, 0, 0]), key: key))           // zero norm, non-zero level
        XCTAssertNoThrow(try f.decode(fixed(0, [0, 0, 0]), key: key))
        for bad: Float in [-1, -0.0, .nan, .infinity, -.infinity] {
            XCTAssertThrowsError(try f.decode(fixed(bad, [1, 0, 0]), key: key), "norm \(bad)")
        }
        // A full block: S = 7, w = 4, d = 128; field 0b1000 (−8) in the middle.
        let g = QSGD(dimension: 128, levels: 7, coding: .fixed)
        var good = g.encode(g.compress(Vectors.gaussian(128, seed: 1).readOnly, key: key))
        XCTAssertNoThrow(try g.decode(good, key: key))
        good[4 + 37] = (good[4 + 37] & 0xF0) | 0x08
        XCTAssertThrowsError(try g.decode(good, key: key))

        // Elias, d = 10, S = 3.
        let e = QSGD(dimension: 10, levels: 3, coding: .elias)
        func elias(_ norm: Float, count: UInt64, _ items: [(gap: UInt64, negative: Bool, level: UInt64)]) -> [UInt8] {
            bytes { w in
                w.write(norm)
                EliasOmega.write(count, into: &w)
                for it in items {
                    EliasOmega.write(it.gap, into: &w)
                    w.write(bit: it.negative)
                    EliasOmega.write(it.level, into: &w)
                }
            }
        }
        XCTAssertEqual(try e.decode(elias(2, count: 3, [(1, true, 3), (9, false, 1)]), key: key).signedLevels(),
                       [-3, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        XCTAssertThrowsError(try e.decode(elias(2, count: 2, [(1, false, 4)]), key: key))             // level > S
        XCTAssertThrowsError(try e.decode(elias(2, count: 3, [(1, false, 1), (10, false, 1)]), key: key))  // past d
        XCTAssertThrowsError(try e.decode(elias(2, count: 2, [(11, false, 1)]), key: key))            // past d
        XCTAssertThrowsError(try e.decode(elias(2, count: 12, []), key: key))                         // nnz > d
        XCTAssertThrowsError(try e.decode(elias(2, count: 1 << 40, []), key: key))                    // nnz ≫ d
        XCTAssertThrowsError(try e.decode(elias(0, count: 2, [(1, false, 1)]), key: key))             // zero norm
        XCTAssertThrowsError(try e.decode(elias(-2, count: 1, []), key: key))
        XCTAssertThrowsError(try e.decode(elias(.nan, count: 1, []), key: key))
        XCTAssertThrowsError(try e.decode(elias(-0.0, count: 1, []), key: key))
        XCTAssertThrowsError(try e.decode(elias(2, count: 3, [(1, false, 1)]), key: key))             // truncated
        // d non-zeros (every gap 1) is the densest valid message.
        XCTAssertNoThrow(try e.decode(elias(2, count: 11, (0..<10).map { _ in (1, false, 1) }), key: key))
    }

    func testDecodeTruncatedExtendedAndRandomBytes() {
        let key = RandomKey(seed: 4, purpose: .quantization)
        for coding in QSGDCoding.allCases {
            for (d, s) in [(10, 3), (200, 15), (130, 1)] {
                let c = QSGD(dimension: d, levels: s, coding: coding)
                let valid = c.encode(compress(c, vector(d, seed: 5, kind: 1), key: key))
                for n in 0..<valid.count {
                    XCTAssertThrowsError(try c.decode(Array(valid.prefix(n)), key: key), "\(c) d=\(d): \(n) bytes")
                }
                XCTAssertThrowsError(try c.decode(valid + [0], key: key))
                XCTAssertThrowsError(try c.decode(valid + [0x5A], key: key))

                var stream = RandomStream(key: RandomKey(seed: UInt64(d * 7 + s), purpose: .test))
                var accepted = 0
                for trial in 0..<2000 {
                    var b: [UInt8]
                    if trial % 2 == 0 {
                        // Fully random bytes of a random length.
                        let n = Int(stream.nextInt(below: UInt64(valid.count * 2 + 8)))
                        b = (0..<n).map { _ in UInt8(truncatingIfNeeded: stream.nextUInt32()) }
                    } else {
                        // A valid message with a few bits flipped.
                        b = valid
                        for _ in 0..<(1 + Int(stream.nextInt(below: 3))) {
                            let bit = Int(stream.nextInt(below: UInt64(b.count * 8)))
                            b[bit / 8] ^= 1 << UInt8(bit % 8)
                        }
                    }
                    if let m = try? c.decode(b, key: key) {
                        accepted += 1
                        XCTAssertEqual(c.encode(m), b, "\(c) d=\(d): accepted bytes do not round-trip")
                        XCTAssertTrue(m.signedLevels().allSatisfy { abs(Int($0)) <= s })
                    }
                }
                XCTAssertGreaterThan(accepted, 0, "\(c) d=\(d): the mutations never produced a valid message")
            }
        }
    }
}
