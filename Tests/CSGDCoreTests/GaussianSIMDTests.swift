import Foundation
import XCTest
@testable import CSGDCore

/// The Gaussian stream: ARS-7 against Random123's known answers, the
/// ziggurat's tables against a Double recomputation, values against the
/// documented construction, every path against the software-AES reference
/// bit for bit, the distribution (moments, Kolmogorov–Smirnov, tails, the
/// tail beyond r) and independence from how a fill is split.
final class GaussianSIMDTests: XCTestCase {
    let key = RandomKey(seed: 0xC0FFEE, step: 11, worker: RandomKey.shared, purpose: .perturbation)

    /// Random123's kat_vectors for ars4x32 with 10 rounds, by software AES
    /// and by AES-NI; and the two agree on ARS-7 for many keys and counters.
    func testARSMatchesRandom123KnownAnswers() {
        let cases: [(SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>)] = [
            (SIMD4(0, 0, 0, 0), SIMD4(0, 0, 0, 0), SIMD4(0x8d73_ee19, 0x5064_01ef, 0x13c2_dbe4, 0x0cbe_9c0d)),
            (SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), SIMD4(0xa409_3822, 0x299f_31d0, 0x082e_fa98, 0xec4e_6c89),
             SIMD4(0xa516_e7d6, 0x8357_ad74, 0x5b59_b3ec, 0x8763_fff3)),
            (SIMD4(repeating: 0xffff_ffff), SIMD4(0xffff_ffff, 0xffff_ffff, 0, 0),
             SIMD4(0xbb37_43b1, 0x9f63_5551, 0xecbc_87fc, 0xa194_78a9)),
        ]
        for (ctr, k, want) in cases {
            XCTAssertEqual(ARS4x32.block(key: k, counter: ctr, rounds: 10, aesni: false), want, "software AES")
            if ARS4x32.hasAESNI { XCTAssertEqual(ARS4x32.block(key: k, counter: ctr, rounds: 10, aesni: true), want, "AES-NI") }
        }
        guard ARS4x32.hasAESNI else { print("no AES-NI: only software AES checked"); return }
        var s: UInt32 = 12345
        func next() -> UInt32 { s ^= s << 13; s ^= s >> 17; s ^= s << 5; return s }
        for _ in 0..<2000 {
            let k = SIMD4(next(), next(), next(), next()), c = SIMD4(next(), next(), next(), next())
            XCTAssertEqual(ARS4x32.block(key: k, counter: c, aesni: false), ARS4x32.block(key: k, counter: c, aesni: true))
        }
    }

    /// The 1024 layers recomputed in Double: equal areas v, widths and
    /// thresholds exactly as packed, f at each layer's edges to the Float.
    func testZigguratTablesMatchARecomputation() {
        let n = GaussianSIMD.layers
        let f = { (x: Double) in exp(-0.5 * x * x) }
        let tail = { (r: Double) in (Double.pi / 2).squareRoot() * erfc(r / 2.0.squareRoot()) }
        // r solves: n − 1 layers of area v = r·f(r) + tail(r) stacked from
        // the base close exactly at the top (bisection, as the generator).
        func residual(_ r: Double) -> Double {
            let v = r * f(r) + tail(r)
            var d = r
            for _ in 0..<(n - 2) {
                let a = v / d + f(d)
                if a >= 1 { return 1 }
                d = (-2 * log(a)).squareRoot()
            }
            return v - d * (1 - f(d))
        }
        var lo = 2.0, hi = 5.0
        for _ in 0..<200 {
            let m = (lo + hi) / 2
            if residual(m) > 0 { lo = m } else { hi = m }
        }
        let r = lo
        XCTAssertEqual(Float(r), GaussianSIMD.tailStart)
        XCTAssertEqual(n, 1024)
        XCTAssertEqual(r, 4.038849846109504, accuracy: 1e-12)   // the 1024-layer r (256 layers: Marsaglia–Tsang's 3.6541528853610088)
        let v = r * f(r) + tail(r)
        var x = [v / f(r), r]
        for _ in 0..<(n - 2) { x.append((-2 * log(v / x.last! + f(x.last!))).squareRoot()) }
        XCTAssertEqual(x[n - 1] * (1 - f(x[n - 1])), v, accuracy: 1e-12, "the top layer closes at f = 1")
        let inner = [r] + x[2...] + [0.0]
        let p = GaussianSIMD.table(0), k = GaussianSIMD.table(1), fb = GaussianSIMD.table(2), ft = GaussianSIMD.table(3)
        let unit = 1 / Double(1 << GaussianSIMD.widthBits), positionBits = 31 - GaussianSIMD.layerBits
        for i in 0..<n {
            let width = Double(p[i] & 0x7F_FFFF) * unit
            XCTAssertEqual(width, x[i], accuracy: unit, "width of layer \(i)")
            let exactK = Double(k[i])
            XCTAssertEqual(exactK, (Double(1 << positionBits) * inner[i] / x[i]).rounded(.down), accuracy: 1 + 1e-5 * exactK,
                           "threshold of layer \(i)")
            XCTAssertEqual(p[i] >> 23, k[i] >> UInt32(positionBits - 9), "packed threshold of layer \(i)")
            XCTAssertEqual(Double(Float(bitPattern: fb[i])), f(x[i]), accuracy: 1e-6 * f(x[i]) + 1e-9, "bottom of layer \(i)")
            if i > 0 { XCTAssertEqual(Double(Float(bitPattern: ft[i])), f(inner[i]), accuracy: 1e-6, "top of layer \(i)") }
        }
    }

    /// Elements whose word falls inside its layer's rectangle are
    /// ±(u·2¹¹·W[i])·2⁻⁵² from word e of the documented ARS-7 blocks.
    func testValuesFollowTheDocumentedConstruction() {
        let groups = 40, first: UInt32 = 0x1234_5678
        let z = FloatBuffer(count: groups * GaussianSIMD.groupSize)
        GaussianSIMD.groups(key, first: first, count: groups, into: z.buffer.baseAddress!)
        let p = GaussianSIMD.table(0), k = GaussianSIMD.table(1)
        var inside = 0
        for j in 0..<(groups * 16) {
            let b = UInt64(first) * 16 + UInt64(j)
            let words = ARS4x32.block(key: SIMD4(key.k0, key.k1, key.c1, 0),
                                      counter: SIMD4(UInt32(truncatingIfNeeded: b), key.c2, key.c3, UInt32(b >> 32)))
            for t in 0..<4 {
                let w = words[t], i = Int(w & 1023), u = w >> 11
                guard u < k[i] else { continue }
                inside += 1
                let magnitude = Float(Double(u) * Double(p[i] & 0x7F_FFFF) * 2048) * 0x1p-52
                let want = w & 1024 != 0 ? -magnitude : magnitude
                XCTAssertEqual(z.buffer[4 * j + t].bitPattern, want.bitPattern, "element \(4 * j + t)")
            }
        }
        XCTAssertGreaterThan(inside, groups * 64 * 99 / 100)
    }

    /// Every path gives the software-AES path's bits: keys of every kind,
    /// counts that leave partial batches of misses, first groups near 0, far
    /// out and across the 2³² wrap.
    func testPathsEqualTheSoftwareReferenceBitForBit() {
        let paths = GaussianSIMD.Path.allCases.filter { $0.isAvailable && $0 != .softwareAES }
        if !GaussianSIMD.Path.avx512.isAvailable { print("no AVX-512 with VAES on this CPU: \(paths) against the reference") }
        var keys = [key]
        for s in 0..<4 as Range<UInt64> {
            keys.append(RandomKey(seed: s &* 0x9E37_79B9_7F4A_7C15, step: s &* 977, worker: UInt32(s * 3), purpose: .perturbation))
        }
        keys.append(RandomKey(seed: .max, step: .max, worker: RandomKey.shared, purpose: .ballPerturbation))
        let max = 70 * GaussianSIMD.groupSize
        let want = FloatBuffer(count: max), got = FloatBuffer(count: max)
        for k in keys {
            for first in [UInt32(0), 1, 1_000_003, 0x0FFF_FFF9, 0xFFFF_FFFE] {
                for count in [1, 2, 3, 9, 70] {
                    GaussianSIMD.groups(k, first: first, count: count, into: want.buffer.baseAddress!, path: .softwareAES)
                    for path in paths {
                        Kernels.zero(got.buffer)
                        GaussianSIMD.groups(k, first: first, count: count, into: got.buffer.baseAddress!, path: path)
                        for j in 0..<(count * GaussianSIMD.groupSize) where want.buffer[j].bitPattern != got.buffer[j].bitPattern {
                            XCTFail("\(path): key \(k), group \(first) + \(j / 64), element \(j % 64): \(got.buffer[j]) != \(want.buffer[j])")
                            return
                        }
                    }
                }
            }
        }
        // A long run (many batches of misses, requeued wedge rejects, tails).
        let n = 1 << 14
        let a = FloatBuffer(count: n * 64), b = FloatBuffer(count: n * 64)
        GaussianSIMD.groups(key, first: 77, count: n, into: a.buffer.baseAddress!, path: .portable)
        for path in paths where path != .portable {
            GaussianSIMD.groups(key, first: 77, count: n, into: b.buffer.baseAddress!, path: path)
            XCTAssertTrue(a.array.elementsEqual(b.array) { $0.bitPattern == $1.bitPattern }, "\(path) over 2²⁰ normals")
        }
        // Single elements anywhere (`at`), on every path, equal the groups'.
        var elements: [UInt32] = [0, 1, 2, 3, 63, 64, 65, 1000, 4097, 77 * 64 + 5]
        for j in 0..<500 { elements.append(UInt32(77 * 64 + (j * 7919) % (n * 64))) }
        for path in GaussianSIMD.Path.allCases where path.isAvailable {
            var got = [Float](repeating: .nan, count: elements.count)
            elements.withUnsafeBufferPointer { e in got.withUnsafeMutableBufferPointer { GaussianSIMD.at(key, elements: e, into: $0.baseAddress!, path: path) } }
            for (j, e) in elements.enumerated() where Int(e) >= 77 * 64 {
                XCTAssertEqual(got[j].bitPattern, a.buffer[Int(e) - 77 * 64].bitPattern, "\(path): element \(e)")
            }
            let head = FloatBuffer(count: 77 * 64)
            GaussianSIMD.groups(key, first: 0, count: 77, into: head.buffer.baseAddress!, path: .softwareAES)
            for (j, e) in elements.enumerated() where Int(e) < 77 * 64 {
                XCTAssertEqual(got[j].bitPattern, head.buffer[Int(e)].bitPattern, "\(path): element \(e)")
            }
        }
        // A fill through forEachRun (which takes the best path) equals
        // the reference at unaligned offsets.
        for (offset, n) in [(0, 1), (5, 63), (63, 2), (100, 3000), (64 * 1000 + 7, 1100)] {
            let fill = FloatBuffer(count: n)
            RandomFill.gaussian(key, sigma: 1, into: fill.buffer, offset: offset)
            let g0 = offset / 64, groups = (offset + n + 63) / 64 - g0
            let ref = FloatBuffer(count: groups * 64)
            GaussianSIMD.groups(key, first: UInt32(g0), count: groups, into: ref.buffer.baseAddress!, path: .softwareAES)
            for j in 0..<n {
                XCTAssertEqual(fill.buffer[j].bitPattern, ref.buffer[offset - 64 * g0 + j].bitPattern, "offset \(offset), j \(j)")
            }
        }
    }

    func testFillsDoNotDependOnSplitOffsetOrThread() {
        let n = 5000, base = 1 << 33
        let whole = FloatBuffer(count: n)
        RandomFill.gaussian(key, sigma: 0.3, into: whole.buffer, offset: base)
        // Uneven pieces at unaligned offsets.
        let parts = FloatBuffer(count: n)
        for (lo, hi) in [(0, 37), (37, 64), (64, 1000), (1000, 1001), (1001, n)] {
            RandomFill.gaussian(key, sigma: 0.3, into: UnsafeMutableBufferPointer(rebasing: parts.buffer[lo..<hi]), offset: base + lo)
        }
        XCTAssertEqual(whole.array, parts.array)
        // Two threads, each half; and accumulate = fill added to what is there.
        let threaded = FloatBuffer(count: n)
        let p = UnsafeSendable(threaded.buffer)
        let k = key
        DispatchQueue.concurrentPerform(iterations: 2) { h in
            let lo = h * 2477, hi = h == 0 ? 2477 : n
            RandomFill.gaussian(k, sigma: 0.3, into: UnsafeMutableBufferPointer(rebasing: p.value[lo..<hi]), offset: base + lo)
        }
        XCTAssertEqual(whole.array, threaded.array)
        let acc = FloatBuffer(Array(repeating: 1, count: n))
        RandomFill.gaussian(key, sigma: 0.3, into: acc.buffer, offset: base, accumulate: true)
        XCTAssertEqual(acc.array, whole.array.map { 1 + $0 })
    }

    func testDistributionKolmogorovSmirnovAndTails() {
        let n = 1 << 20
        let z = FloatBuffer(count: n)
        RandomFill.gaussian(RandomKey(seed: 7, step: 3, worker: 5, purpose: .test), sigma: 1, into: z.buffer)
        // Moments: standard errors 1/√n = 0.001 (mean), √(2/n) = 0.0014 (variance).
        var s1 = 0.0, s2 = 0.0, beyond3 = 0, beyond4 = 0, largest: Float = 0
        for i in 0..<n {
            let v = z[i]
            s1 += Double(v); s2 += Double(v) * Double(v)
            if abs(v) > 3 { beyond3 += 1 }
            if abs(v) > 4 { beyond4 += 1 }
            largest = max(largest, abs(v))
        }
        XCTAssertEqual(s1 / Double(n), 0, accuracy: 0.005)
        XCTAssertEqual(s2 / Double(n), 1, accuracy: 0.007)
        // Tails: P(|z| > 3) = 0.0026998, P(|z| > 4) = 6.334e-5; 5 standard deviations.
        let e3 = 0.0026998 * Double(n), e4 = 6.334e-5 * Double(n)
        XCTAssertEqual(Double(beyond3), e3, accuracy: 5 * e3.squareRoot())
        XCTAssertEqual(Double(beyond4), e4, accuracy: 5 * e4.squareRoot())
        // The tail gives at most r + ln(2²³)/r < 8.21.
        XCTAssertLessThanOrEqual(largest, 8.21)
        // Kolmogorov–Smirnov against N(0, 1): the 0.1% critical value is 1.949/√n.
        let keys = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: n)
        let scratch = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: n)
        defer { keys.deallocate(); scratch.deallocate() }
        for i in 0..<n {
            let b = z[i].bitPattern   // order-preserving map of Float to UInt32
            keys[i] = b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
        }
        Sampling.radixSort(keys, scratch: scratch, maxValue: .max)
        var dMax = 0.0
        for i in 0..<n {
            let b = keys[i]
            let v = Double(Float(bitPattern: b & 0x8000_0000 != 0 ? b & 0x7FFF_FFFF : ~b))
            let cdf = 0.5 * erfc(-v / 2.0.squareRoot())
            dMax = max(dMax, abs(cdf - Double(i) / Double(n)), abs(Double(i + 1) / Double(n) - cdf))
        }
        XCTAssertLessThan(dMax, 1.949 / Double(n).squareRoot(), "KS statistic")
    }

    /// The slow paths: beyond r (the tail, about 1 word in 3,900) and in 64
    /// equiprobable bins of |z| (χ² with 63 degrees of freedom; the 0.1%
    /// critical value is 103.4), on 2²² draws.
    func testTailAndBinsOn4MDraws() {
        let n = 1 << 22
        let z = FloatBuffer(count: n)
        RandomFill.gaussian(RandomKey(seed: 99, step: 1, worker: 2, purpose: .test), sigma: 1, into: z.buffer)
        let r = Double(GaussianSIMD.tailStart)
        let pTail = erfc(r / 2.0.squareRoot())
        var tail = 0
        var bins = [Int](repeating: 0, count: 64)
        for i in 0..<n {
            let a = Double(abs(z[i]))
            if a > r { tail += 1 }
            // P(|Z| ≤ a) = erf(a/√2): bin of equal probability 1/64
            bins[min(63, Int(erf(a / 2.0.squareRoot()) * 64))] += 1
        }
        let e = pTail * Double(n)
        XCTAssertEqual(Double(tail), e, accuracy: 5 * e.squareRoot(), "draws beyond r")
        let expected = Double(n) / 64
        let chi2 = bins.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        XCTAssertLessThan(chi2, 103.4, "χ² over 64 bins")
    }
}

/// Hands a buffer to concurrent test closures.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
