import CSGDCore
import PropertyBased
import PropertyTestSupport
import Testing
@testable import Compression

/// Properties of every compressor `CompressorSpec.make` builds, over
/// generated dimensions, vectors, keys and parameters (`CompressorCase`),
/// each on a fixed set of cases (`seededPropertyCheck`).
@Suite struct CompressorProperties {
    /// The unrelated bits written before a message (its low `prefixBits` are used).
    static let prefixPattern: UInt64 = 0b101_1011

    // MARK: wire format

    @Test func wireRoundTripIsBitExactAndBitsAreTheDeclaredSize() async {
        await seededPropertyCheck(count: 1500, seed: 0x5EED_0001, input: CompressorCase.generator()) { t in
            try Self.roundTrip(t.compressor, t)
        }
    }

    static func roundTrip<C: Compressor>(_ c: C, _ t: CompressorCase) throws {
        let x = t.vector
        let m = x.withUnsafeBufferPointer { c.compress($0, key: t.key) }
        var w = BitWriter()
        w.write(prefixPattern & ((1 << UInt64(t.prefixBits)) - 1), bits: t.prefixBits)
        c.encode(m, into: &w)
        // Exact bits: what encode writes is bits(of:), and that is the format's size.
        #expect(w.bitCount == t.prefixBits + c.bits(of: m))
        #expect(c.bits(of: m) == declaredBits(c, m))
        let bytes = w.finished()
        #expect(bytes.count == (t.prefixBits + c.bits(of: m) + 7) / 8)
        // decode ∘ encode: the same message, after the prefix too.
        var back = c.makeMessage()
        try bytes.withUnsafeBytes { raw in
            var r = BitReader(raw)
            #expect(try r.read(bits: t.prefixBits) == prefixPattern & ((1 << UInt64(t.prefixBits)) - 1))
            try c.decode(from: &r, key: t.key, into: &back)
            try r.finish()
        }
        if let same = sameMessage(m, back) { #expect(same, "the decoded message differs from the encoded one") }
        #expect(c.bits(of: back) == c.bits(of: m))
        #expect(c.encode(back) == c.encode(m))
        // decompress(decode(encode(C(x)))) = decompress(C(x)), bit for bit.
        let y = dense(c, m)
        #expect(dense(c, back).map(\.bitPattern) == y.map(\.bitPattern))
        // add(m, scaledBy: s) adds s·C(x), s in {−3.5, …, 3.5}, within Float rounding.
        let s = Float(t.prefixBits) - 3.5
        var z = [Float](repeating: 1, count: c.dimension)
        z.withUnsafeMutableBufferPointer { c.add(back, scaledBy: s, into: $0) }
        for i in z.indices {
            let expected = 1 + s * y[i]
            #expect(z[i] == expected || abs(z[i] - expected) <= 1e-6 * (1 + abs(s * y[i])), "add: coordinate \(i)")
        }
    }

    /// The size each format documents (docs/wire-formats.md), from the
    /// compressor's parameters and, for QSGD's Elias coding, the message's
    /// non-zero levels.
    static func declaredBits<C: Compressor>(_ c: C, _ m: C.Message) -> Int {
        let d = c.dimension
        switch c {
        case is Identity: return 32 * d
        case is Float64Wire: return 64 * d
        case let r as RandomK: return 32 * r.k
        case let t as TopK: return t.k * (32 + ceilLog2(d))
        case let s as SketchTopK: return 32 * (s.rows * s.cols + s.k)
        case is ScaledSign: return 32 + d
        case let q as QSGD:
            if q.coding == .fixed { return 32 + d * q.fieldWidth }
            // ‖x‖ as Float32, ω(nnz + 1), then per non-zero: ω(gap), a sign bit, ω(|level|).
            let levels = (m as! QSGDMessage).signedLevels()
            var bits = 32 + EliasOmega.bits(of: UInt64(levels.lazy.filter { $0 != 0 }.count) + 1)
            var previous = -1
            for (i, v) in levels.enumerated() where v != 0 {
                bits += EliasOmega.bits(of: UInt64(i - previous)) + 1 + EliasOmega.bits(of: UInt64(v.magnitude))
                previous = i
            }
            return bits
        default:
            Issue.record("no declared size for \(c)")
            return -1
        }
    }

    /// Whether two messages are the same, for the message types with fields
    /// to compare (nil for the others, compared through their bytes).
    static func sameMessage<M>(_ a: M, _ b: M) -> Bool? {
        switch (a, b) {
        case let (a as QSGDMessage, b as QSGDMessage): return a == b
        case let (a as SignMessage, b as SignMessage): return a.scale.bitPattern == b.scale.bitPattern && a.words == b.words
        case let (a as RandomKMessage, b as RandomKMessage): return samePairs(a.pairs, b.pairs)
        case let (a as TopKMessage, b as TopKMessage): return samePairs(a.pairs, b.pairs)
        case let (a as SketchTopKMessage, b as SketchTopKMessage):
            return samePairs(a.pairs, b.pairs) && a.table.map(\.bitPattern) == b.table.map(\.bitPattern)
        case let (a as DenseMessage, b as DenseMessage): return a.values.map(\.bitPattern) == b.values.map(\.bitPattern)
        case let (a as Float64Message, b as Float64Message): return a.values.map(\.bitPattern) == b.values.map(\.bitPattern)
        default: return nil
        }
    }

    static func samePairs(_ a: SparseMessage, _ b: SparseMessage) -> Bool {
        a.indices == b.indices && a.values.map(\.bitPattern) == b.values.map(\.bitPattern)
    }

    static func dense<C: Compressor>(_ c: C, _ m: C.Message) -> [Float] {
        var y = [Float](repeating: .nan, count: c.dimension)
        y.withUnsafeMutableBufferPointer { c.decompress(m, into: $0) }
        return y
    }

    static func compressed<C: Compressor>(_ c: C, _ x: [Float], key: RandomKey) -> [Float] {
        let m = x.withUnsafeBufferPointer { c.compress($0, key: key) }
        return dense(c, m)
    }

    /// Σ (a_i − b_i)² and Σ a_i², in Double (a Float squared is exact there).
    static func residual(_ x: [Float], _ y: [Float]) -> (residual: Double, norm2: Double) {
        var r = 0.0, n = 0.0
        for i in x.indices {
            let a = Double(x[i]), e = a - Double(y[i])
            r += e * e
            n += a * a
        }
        return (r, n)
    }

    // MARK: μ-compressors

    /// ‖C(x) − x‖² ≤ (1 − μ)‖x‖² for every input, μ = `CompressorMu.lowerBound`
    /// (1 for none and fp64, K/d for topk, 1/d for sign), up to 1e-6 relative
    /// (sign's scale ‖x‖₁/d is rounded to Float); sign also meets its exact
    /// value ‖x‖² − ‖x‖₁²/d.
    @Test func deterministicCompressorsMeetTheirMu() async {
        let input = CompressorCase.generator(kinds: [.none, .fp64, .topK, .sign])
        await seededPropertyCheck(count: 1000, seed: 0x5EED_0002, input: input) { t in
            let c = t.compressor, x = t.vector
            let y = Self.compressed(c, x, key: t.key)
            let (r, n2) = Self.residual(x, y)
            let mu = CompressorMu.lowerBound(c)
            #expect(r <= (1 - mu) * n2 * (1 + 1e-6), "μ = \(mu): ‖C(x) − x‖² = \(r), ‖x‖² = \(n2)")
            if c is ScaledSign {
                let l1 = x.reduce(0.0) { $0 + Double($1.magnitude) }
                let exact = n2 - l1 * l1 / Double(x.count)
                #expect(abs(r - exact) <= 1e-5 * n2, "sign: ‖C(x) − x‖² = \(r), ‖x‖² − ‖x‖₁²/d = \(exact)")
            }
            if c is TopK {
                // The kept values are x's, so the residual is the energy left out.
                for i in x.indices where y[i] != 0 { #expect(y[i] == x[i]) }
            }
        }
    }

    /// sketch-topk keeps exact values of x at K coordinates and zero elsewhere
    /// (so ‖x − C(x)‖² = ‖x‖² − ‖x_S‖² for its selected set S).
    @Test func sketchTopKKeepsExactValuesAtKCoordinates() async {
        await seededPropertyCheck(count: 400, seed: 0x5EED_0003, input: CompressorCase.generator(kinds: [.sketchTopK])) { t in
            let c = t.compressor as! SketchTopK, x = t.vector
            let m = x.withUnsafeBufferPointer { c.compress($0, key: t.key) }
            #expect(m.pairs.indices.count == c.k)
            #expect(zip(m.pairs.indices, m.pairs.indices.dropFirst()).allSatisfy { $0 < $1 }, "indices not strictly ascending")
            #expect(m.pairs.indices.allSatisfy { Int($0) < c.dimension })
            #expect(m.pairs.values.map(\.bitPattern) == m.pairs.indices.map { x[Int($0)].bitPattern })
        }
    }

    /// RandomK: E‖C(x) − x‖² = (1 − K/d)‖x‖² exactly. The mean over T = 200
    /// keys of the ratio ‖C(x) − x‖²/‖x‖² = 1 − Σ_{i∈S} a_i (a_i = x_i²/‖x‖²,
    /// S a uniform K-subset) must be within 6 of its exact standard
    /// deviations, √(K(d − K)/(d − 1)·Var(a)/T), plus 3·max a_i/T for a
    /// few rare draws of a dominant coordinate (Poisson, not Gaussian, events).
    @Test func randomKMeetsItsMuInExpectation() async {
        let input = CompressorCase.generator(kinds: [.randomK], dimensions: Gen.int(in: 1...600))
        await seededPropertyCheck(count: 150, seed: 0x5EED_0004, input: input) { t in
            let c = t.compressor as! RandomK, x = t.vector
            let d = c.dimension, k = c.k, trials = 200
            let (_, n2) = Self.residual(x, x)
            var sum = 0.0
            for s in 0..<trials {
                let y = Self.compressed(c, x, key: t.key.at(step: t.key.step &+ UInt64(s)))
                let (r, _) = Self.residual(x, y)
                if n2 == 0 { #expect(r == 0) } else { sum += r / n2 }
            }
            guard n2 > 0 else { return }
            let a = x.map { Double($0) * Double($0) / n2 }
            let mean = 1.0 / Double(d)
            let varA = a.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / Double(d)
            let varSum = d > 1 ? Double(k) * Double(d - k) / Double(d - 1) * varA : 0
            let tolerance = 6 * (varSum / Double(trials)).squareRoot() + 3 * a.max()! / Double(trials) + 1e-9
            let expected = 1 - Double(k) / Double(d)
            #expect(abs(sum / Double(trials) - expected) <= tolerance,
                    "mean ratio \(sum / Double(trials)), expected \(expected) ± \(tolerance)")
        }
    }

    // MARK: linearity and unbiasedness

    /// Every compressor that reports itself linear (none, randomk): with one
    /// shared key, C(a·x + b·y) = a·C(x) + b·C(y) coordinate by coordinate when
    /// a·x + b·y is formed with the same Float operations (so exactly; NaN
    /// from ∞ − ∞ on both sides counts as equal), whichever worker's key each
    /// side is compressed with. The other kinds report not linear.
    @Test func linearCompressorsAreLinearForASharedKey() async {
        let input = zip(
            CompressorCase.generator(), Gen<VectorShape>.case, Gen.uint64(),
            Gen.float(in: -4...4), Gen.float(in: -4...4), Gen.uint32(in: 0...1000))
        await seededPropertyCheck(count: 800, seed: 0x5EED_0005, input: input) { t, shapeY, seedY, a, b, workerY in
            let c = t.compressor
            let linear: Bool
            switch t.spec {
            case .none, .randomK: linear = true
            default: linear = false
            }
            #expect(c.isLinear == linear)
            guard linear else { return }
            let x = t.vector, y = shapeY.vector(t.dimension, seed: seedY, scale: t.scale)
            let z = x.indices.map { a * x[$0] + b * y[$0] }
            let cx = Self.compressed(c, x, key: t.key)
            let cy = Self.compressed(c, y, key: t.key.forWorker(Int(workerY)))
            let cz = Self.compressed(c, z, key: t.key.forWorker(Int(RandomKey.shared)))
            for i in x.indices {
                let rhs = a * cx[i] + b * cy[i]
                #expect(cz[i] == rhs || (cz[i].isNaN && rhs.isNaN), "coordinate \(i): C(ax + by) = \(cz[i]), aC(x) + bC(y) = \(rhs)")
            }
        }
    }

    /// none and fp64 are unbiased by being exact: C(x) = x bit for bit.
    @Test func exactCompressorsReturnTheirInput() async {
        await seededPropertyCheck(count: 300, seed: 0x5EED_0006, input: CompressorCase.generator(kinds: [.none, .fp64])) { t in
            let c = t.compressor, x = t.vector
            #expect(c.isUnbiased)
            #expect(Self.compressed(c, x, key: t.key).map(\.bitPattern) == x.map(\.bitPattern))
        }
    }

    /// QSGD (both codings): E[Q(x)] = x. Over T = 300 keys, with u = ‖x‖/S
    /// and Var Q_i ≤ u²/4: every coordinate's mean is within 6·u/(2√T) of
    /// x_i, and the sums Σ (mean_i − x_i) and Σ sign(x_i)(mean_i − x_i)
    /// (which a quantizer that shrinks toward zero would fail) within
    /// 6·√d·u/(2√T); plus 1e-5·(|x_i| + u) a coordinate for Float rounding.
    /// Vectors with ‖x‖₂ beyond Float's range give the zero message, as
    /// documented on `QSGD`. The other biased kinds report isUnbiased false.
    @Test func qsgdIsUnbiased() async {
        let input = CompressorCase.generator(
            kinds: [.qsgdElias, .qsgdFixed, .randomK, .topK, .sketchTopK, .sign], dimensions: Gen.int(in: 1...300))
        await seededPropertyCheck(count: 240, seed: 0x5EED_0007, input: input) { t in
            let c = t.compressor
            guard let q = c as? QSGD else {
                #expect(!c.isUnbiased)
                return
            }
            #expect(q.isUnbiased)
            let x = t.vector, d = q.dimension, trials = 300
            var sum = [Double](repeating: 0, count: d)
            var m = q.makeMessage()
            var y = [Float](repeating: 0, count: d)
            for s in 0..<trials {
                x.withUnsafeBufferPointer { q.compress($0, key: t.key.at(step: t.key.step &+ UInt64(s)), into: &m) }
                y.withUnsafeMutableBufferPointer { q.decompress(m, into: $0) }
                for i in 0..<d { sum[i] += Double(y[i]) }
            }
            guard m.norm > 0 else {
                // The zero message: documented for x = 0 and for ‖x‖₂ beyond
                // Float's range (its norm would not fit the wire's Float32).
                let norm = Self.residual(x, x).norm2.squareRoot()
                #expect(norm == 0 || norm >= Double(Float.greatestFiniteMagnitude) * (1 - 1e-6), "zero message for ‖x‖ = \(norm)")
                #expect(sum.allSatisfy { $0 == 0 })
                return
            }
            let u = Double(m.norm) / Double(q.levels)
            let sd = u / (2 * Double(trials).squareRoot())
            var total = 0.0, signed = 0.0, slack = 0.0
            for i in 0..<d {
                let error = sum[i] / Double(trials) - Double(x[i])
                let rounding = 1e-5 * (Double(x[i].magnitude) + u)
                #expect(abs(error) <= 6 * sd + rounding, "coordinate \(i): mean \(sum[i] / Double(trials)), x_i = \(x[i]), u = \(u)")
                total += error
                signed += x[i] < 0 ? -error : error
                slack += rounding
            }
            let bound = 6 * Double(d).squareRoot() * sd + slack
            #expect(abs(total) <= bound, "Σ (mean_i − x_i) = \(total)")
            #expect(abs(signed) <= bound, "Σ sign(x_i)(mean_i − x_i) = \(signed)")
        }
    }
}
