import Foundation
import XCTest
@testable import CSGDCore

/// The vectorised Gaussian stream: its Philox words, its values against a
/// Double reference of the documented construction, its distribution
/// (moments, Kolmogorov–Smirnov, tails) and its independence from how a
/// fill is split.
final class GaussianSIMDTests: XCTestCase {
    let key = RandomKey(seed: 0xC0FFEE, step: 11, worker: RandomKey.shared, purpose: .perturbation)

    func testSIMDPhiloxEqualsScalarPhilox() {
        for first in [UInt32(0), 8, 123_456, 0xFFFF_FFFC] {
            var paths = [GaussianSIMD.philox8Generic(key, firstBlock: first)]
            #if arch(x86_64)
            paths.append(GaussianSIMD.philox8SSE2(key, firstBlock: first))
            #endif
            for (w0, w1, w2, w3) in paths {
                for i in 0..<8 {
                    let b = key.block(first &+ UInt32(i))
                    XCTAssertEqual([w0[i], w1[i], w2[i], w3[i]], [b.0, b.1, b.2, b.3], "block \(first &+ UInt32(i))")
                }
            }
        }
    }

    /// Element j from the construction in docs/randomness.md, in Double.
    func reference(_ j: Int, key: RandomKey) -> Double {
        let g = j / 64, r = j % 64
        let block = key.block(UInt32(16 * g + r % 16))
        let (a, b) = r < 32 ? (block.0, block.1) : (block.2, block.3)
        let u = (Double(a) + 0.5) / 4_294_967_296
        let radius = (-2 * log(u)).squareRoot()
        let angle = 2 * Double.pi * (Double(b >> 8) + 0.5) / 16_777_216
        return (r / 16) % 2 == 0 ? radius * cos(angle) : radius * sin(angle)
    }

    func testValuesFollowTheDocumentedConstruction() {
        let n = 64 * 64
        let z = FloatBuffer(count: n)
        RandomFill.gaussian(key, sigma: 1, into: z.buffer)
        var worst = 0.0
        for j in 0..<n {
            let ref = reference(j, key: key)
            // The radius of u rounded to Float: absolute error ~ 1e-7/radius near u = 1.
            let tol = 2e-6 * max(1, abs(ref)) + 1e-7 / max(abs(ref), 1e-4)
            worst = max(worst, abs(Double(z[j]) - ref) / tol)
            XCTAssertEqual(Double(z[j]), ref, accuracy: tol, "element \(j)")
        }
        XCTAssertLessThan(worst, 1)
    }

    /// Every vector path this CPU runs (AVX-512F, AVX2 in C) gives the bits
    /// of the Swift path, for many keys (all-ones words included), group
    /// counts that use both the two-group and the one-group code, and first
    /// groups near 0, far out and at the 2³² wrap of the block index.
    func testVectorPathsEqualTheSwiftPathBitForBit() {
        let available = GaussianSIMD.Path.allCases.filter { $0.isAvailable && $0 != .swift }
        if available.isEmpty { print("no AVX2 on this CPU: only the Swift path runs") }
        var keys = [key]
        for s in 0..<6 as Range<UInt64> {
            keys.append(RandomKey(seed: s &* 0x9E37_79B9_7F4A_7C15, step: s &* 977, worker: UInt32(s * 3), purpose: .perturbation))
        }
        keys.append(RandomKey(seed: .max, step: .max, worker: RandomKey.shared, purpose: .ballPerturbation))
        let max = 17 * GaussianSIMD.groupSize
        let want = FloatBuffer(count: max), got = FloatBuffer(count: max)
        for k in keys {
            for first in [UInt32(0), 1, 1_000_003, 0x0FFF_FFF9, 0xFFFF_FFFE] {
                for count in [1, 2, 3, 16, 17] {
                    GaussianSIMD.groups(k, first: first, count: count, into: want.buffer.baseAddress!, path: .swift)
                    for path in available {
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
        // A fill through forEachRun (which takes the best path) equals
        // the Swift path at unaligned offsets.
        for (offset, n) in [(0, 1), (5, 63), (63, 2), (100, 3000), (64 * 1000 + 7, 1100)] {
            let fill = FloatBuffer(count: n)
            RandomFill.gaussian(key, sigma: 1, into: fill.buffer, offset: offset)
            let g0 = offset / 64, groups = (offset + n + 63) / 64 - g0
            let ref = FloatBuffer(count: groups * 64)
            GaussianSIMD.groups(key, first: UInt32(g0), count: groups, into: ref.buffer.baseAddress!, path: .swift)
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
        // The construction cannot exceed √(2·33·ln 2) = 6.77.
        XCTAssertLessThanOrEqual(largest, 6.77)
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
}

/// Hands a buffer to concurrent test closures.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
