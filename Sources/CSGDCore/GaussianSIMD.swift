#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
import CKernels

/// Vectorised standard normals from Philox4x32-10, position-indexed.
///
/// Element `j` of a key's Gaussian stream belongs to group `g = j / 64`, made
/// from the 16 Philox blocks `16g ..< 16g + 16` of the key. Block `16g + i`
/// (i < 16) gives words (w0, w1, w2, w3) and two Box–Muller pairs:
///
///     (w0, w1) → elements 64g + i (cosine) and 64g + 16 + i (sine)
///     (w2, w3) → elements 64g + 32 + i (cosine) and 64g + 48 + i (sine)
///
/// For a pair (a, b): u = (a + ½)/2³² ∈ (0, 1) (32 bits, rounded once to
/// Float), radius √(−2 ln u); the angle is 2π(c + ½)/2²⁴ with c = b >> 8,
/// reduced exactly in integers to a quadrant q and an offset φ ∈ (−π/4, π/4).
/// ln is an atanh series after an exact reduction, sin φ and cos φ are the
/// Cephes single-precision polynomials (all about 1e-7 relative), sqrt is IEEE. Every operation is exact integer work or
/// one IEEE Float operation with no fused multiply–add, so the bits do not
/// depend on the CPU, the SIMD width or how a fill is split: element j
/// depends only on the key and j. Bulk generation (`groups`) runs the same
/// operations in C on AVX-512F (sixteen lanes) or AVX2 (eight) when the CPU
/// has them (`CKernels`, chosen at run time); otherwise, and for single
/// groups, Swift: Philox on SSE2 (two blocks a register, 32×32→64
/// multiplies by `pmuludq`) on x86-64, plain SIMD elsewhere.
public enum GaussianSIMD {
    /// Elements a group: 16 Philox blocks.
    public static let groupSize = 64

    /// An implementation of the stream; all give the same bits.
    public enum Path: Int, Sendable, CaseIterable, CustomStringConvertible {
        /// Swift SIMD (SSE2 on x86-64), one group at a time.
        case swift = 0
        /// C with AVX2, eight lanes.
        case avx2 = 1
        /// C with AVX-512F, sixteen lanes, two groups at a time.
        case avx512 = 2

        public var description: String { ["swift", "avx2", "avx512"][rawValue] }

        /// The fastest path this CPU runs.
        public static let best: Path = Path(rawValue: Int(csgd_gaussian_vector_level())) ?? .swift

        /// Whether this CPU can run the path.
        public var isAvailable: Bool { rawValue <= Path.best.rawValue }
    }

    /// Writes the normals of groups `first ..< first + count` of `key`'s
    /// stream (64 a group, wrapping modulo 2³² groups as block indices do)
    /// into `out[0 ..< 64·count]`, on `path` (default: the fastest here).
    /// - Precondition: `path.isAvailable`.
    @inlinable
    public static func groups(_ key: RandomKey, first: UInt32, count: Int, into out: UnsafeMutablePointer<Float>,
                              path: Path = .best) {
        guard count > 0 else { return }
        switch path {
        case .avx512:
            precondition(path.isAvailable, "this CPU has no AVX-512F")
            csgd_gaussian_groups_avx512(key.k0, key.k1, key.c1, key.c2, key.c3, first, count, out)
        case .avx2:
            precondition(path.isAvailable, "this CPU has no AVX2")
            csgd_gaussian_groups_avx2(key.k0, key.k1, key.c1, key.c2, key.c3, first, count, out)
        case .swift:
            for j in 0..<count { group(key, first &+ UInt32(truncatingIfNeeded: j), into: out + groupSize * j) }
        }
    }

    /// Groups a tile of `forEachRun` (1024 normals, 4 KB: stays in L1).
    public static let tileGroups = 16

    /// Writes the 64 standard normals of group `g` of `key`'s stream into
    /// `out[0 ..< 64]`.
    @inlinable
    public static func group(_ key: RandomKey, _ g: UInt32, into out: UnsafeMutablePointer<Float>) {
        let base = g &* 16
        let raw = UnsafeMutableRawPointer(out)
        for half in 0..<2 {
            let (w0, w1, w2, w3) = philox8(key, firstBlock: base &+ UInt32(8 * half))
            for q in 0..<2 {
                let a = q == 0 ? w0.lowHalf : w0.highHalf
                let b = q == 0 ? w1.lowHalf : w1.highHalf
                let c = q == 0 ? w2.lowHalf : w2.highHalf
                let d = q == 0 ? w3.lowHalf : w3.highHalf
                let (x0, x1) = boxMuller(a, b)
                let (x2, x3) = boxMuller(c, d)
                let lane = 4 * (2 * half + q)   // block offset within the group
                (raw + 4 * lane).storeBytes(of: x0, as: SIMD4<Float>.self)
                (raw + 4 * (16 + lane)).storeBytes(of: x1, as: SIMD4<Float>.self)
                (raw + 4 * (32 + lane)).storeBytes(of: x2, as: SIMD4<Float>.self)
                (raw + 4 * (48 + lane)).storeBytes(of: x3, as: SIMD4<Float>.self)
            }
        }
    }

    /// Calls `body(start, tile, count)` for consecutive runs of the elements
    /// `offset ..< offset + count` of `key`'s stream: `tile[0 ..< count]` are
    /// the normals of elements `offset + start ..< offset + start + count`.
    /// Runs span up to `tileGroups` whole groups; the first may start and
    /// the last end inside a group.
    @inlinable
    public static func forEachRun(
        _ key: RandomKey, count n: Int, offset: Int = 0, path: Path = .best,
        _ body: (_ start: Int, _ tile: UnsafePointer<Float>, _ count: Int) -> Void
    ) {
        guard n > 0 else { return }
        precondition(offset >= 0, "negative offset")
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 4 * tileGroups) { t in
            let tile = UnsafeMutableRawPointer(t.baseAddress!).assumingMemoryBound(to: Float.self)
            var j = 0
            while j < n {
                let e = offset + j
                let g = e / groupSize, skip = e - g * groupSize
                let groupsNeeded = min(tileGroups, (skip + (n - j) + groupSize - 1) / groupSize)
                let m = min(groupsNeeded * groupSize - skip, n - j)
                groups(key, first: UInt32(truncatingIfNeeded: g), count: groupsNeeded, into: tile, path: path)
                body(j, tile + skip, m)
                j += m
            }
        }
    }

    // MARK: Philox on eight blocks at once

    /// Blocks `first ..< first + 8` of `key`: word k of block first + i is lane i of wk.
    @inlinable @inline(__always)
    static func philox8(_ key: RandomKey, firstBlock first: UInt32)
        -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
        #if arch(x86_64)
        return philox8SSE2(key, firstBlock: first)
        #else
        return philox8Generic(key, firstBlock: first)
        #endif
    }

    /// Plain SIMD Philox: words in 64-bit slots so that every product is a
    /// 32×32→64 multiply of the low halves.
    @inlinable @inline(__always)
    static func philox8Generic(_ key: RandomKey, firstBlock first: UInt32)
        -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
        typealias V = SIMD8<UInt64>
        let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7) &+ first
        var x0 = V(truncatingIfNeeded: lanes)
        var x1 = V(repeating: UInt64(key.c1)), x2 = V(repeating: UInt64(key.c2)), x3 = V(repeating: UInt64(key.c3))
        var a = key.k0, b = key.k1
        let low = V(repeating: 0xFFFF_FFFF)
        for r in 0..<10 {
            if r > 0 { a &+= Philox4x32.w0; b &+= Philox4x32.w1 }
            let p0 = (x0 & low) &* V(repeating: Philox4x32.m0)
            let p1 = (x2 & low) &* V(repeating: Philox4x32.m1)
            x0 = ((p1 &>> 32) ^ x1 ^ V(repeating: UInt64(a))) & low
            x2 = ((p0 &>> 32) ^ x3 ^ V(repeating: UInt64(b))) & low
            x1 = p1 & low
            x3 = p0 & low
        }
        return (SIMD8<UInt32>(truncatingIfNeeded: x0), SIMD8<UInt32>(truncatingIfNeeded: x1),
                SIMD8<UInt32>(truncatingIfNeeded: x2), SIMD8<UInt32>(truncatingIfNeeded: x3))
    }

    #if arch(x86_64)
    /// SSE2 Philox: four independent chains of two blocks, each word in the
    /// low half of a 64-bit slot (`pmuludq` reads only low halves, so the
    /// high halves may hold anything until the final narrowing).
    @inlinable @inline(__always)
    static func philox8SSE2(_ key: RandomKey, firstBlock first: UInt32)
        -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
        let f = Int64(first)
        @inline(__always) func c(_ i: Int64) -> __m128i {
            _mm_set_epi64x(Int64(UInt32(truncatingIfNeeded: f + i + 1)), Int64(UInt32(truncatingIfNeeded: f + i)))
        }
        var a0 = c(0), a1 = c(2), a2 = c(4), a3 = c(6)
        let k1 = _mm_set1_epi64x(Int64(key.c1)), k2 = _mm_set1_epi64x(Int64(key.c2)), k3 = _mm_set1_epi64x(Int64(key.c3))
        var b0 = k1, b1 = k1, b2 = k1, b3 = k1          // word 1
        var c0 = k2, c1 = k2, c2 = k2, c3 = k2          // word 2
        var d0 = k3, d1 = k3, d2 = k3, d3 = k3          // word 3
        let m0 = _mm_set1_epi64x(Int64(Philox4x32.m0)), m1 = _mm_set1_epi64x(Int64(Philox4x32.m1))
        @inline(__always) func round(_ va: __m128i, _ vb: __m128i,
                                     _ x0: inout __m128i, _ x1: inout __m128i, _ x2: inout __m128i, _ x3: inout __m128i) {
            let p0 = _mm_mul_epu32(x0, m0)
            let p1 = _mm_mul_epu32(x2, m1)
            x0 = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi64(p1, 32), x1), va)
            x2 = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi64(p0, 32), x3), vb)
            x1 = p1
            x3 = p0
        }
        // Ten rounds, unrolled; round r uses the key bumped r times.
        @inline(__always) func rounds(_ r: UInt32) {
            let va = _mm_set1_epi64x(Int64(key.k0 &+ r &* Philox4x32.w0))
            let vb = _mm_set1_epi64x(Int64(key.k1 &+ r &* Philox4x32.w1))
            round(va, vb, &a0, &b0, &c0, &d0)
            round(va, vb, &a1, &b1, &c1, &d1)
            round(va, vb, &a2, &b2, &c2, &d2)
            round(va, vb, &a3, &b3, &c3, &d3)
        }
        rounds(0); rounds(1); rounds(2); rounds(3); rounds(4)
        rounds(5); rounds(6); rounds(7); rounds(8); rounds(9)
        @inline(__always) func narrow(_ p: __m128i, _ q: __m128i, _ r: __m128i, _ s: __m128i) -> SIMD8<UInt32> {
            let lo = SIMD4<UInt64>(lowHalf: unsafeBitCast(p, to: SIMD2<UInt64>.self), highHalf: unsafeBitCast(q, to: SIMD2<UInt64>.self))
            let hi = SIMD4<UInt64>(lowHalf: unsafeBitCast(r, to: SIMD2<UInt64>.self), highHalf: unsafeBitCast(s, to: SIMD2<UInt64>.self))
            return SIMD8(lowHalf: SIMD4<UInt32>(truncatingIfNeeded: lo), highHalf: SIMD4<UInt32>(truncatingIfNeeded: hi))
        }
        return (narrow(a0, a1, a2, a3), narrow(b0, b1, b2, b3), narrow(c0, c1, c2, c3), narrow(d0, d1, d2, d3))
    }
    #endif

    // MARK: Box–Muller on four lanes

    @inlinable @inline(__always)
    static func floats(_ u: SIMD4<UInt32>) -> SIMD4<Float> { unsafeBitCast(u, to: SIMD4<Float>.self) }

    @inlinable @inline(__always)
    static func bits(_ f: SIMD4<Float>) -> SIMD4<UInt32> { unsafeBitCast(f, to: SIMD4<UInt32>.self) }

    /// Float(v) lane-wise, exact for |v| < 2²⁴ (every use here).
    @inlinable @inline(__always)
    static func toFloat(_ v: SIMD4<Int32>) -> SIMD4<Float> {
        #if arch(x86_64)
        return _mm_cvtepi32_ps(unsafeBitCast(v, to: __m128i.self))
        #else
        return SIMD4<Float>(v)
        #endif
    }

    /// Lane-wise IEEE square root.
    @inlinable @inline(__always)
    static func squareRoot(_ v: SIMD4<Float>) -> SIMD4<Float> {
        #if arch(x86_64)
        return _mm_sqrt_ps(v)
        #else
        return v.squareRoot()
        #endif
    }

    /// ln(u) for positive normal u: u = 2^k·m with m ∈ [√½, √2) by integer
    /// work on the bits, then ln m = 2 atanh(s), s = (m − 1)/(m + 1) ∈
    /// [−0.172, 0.172], as 2s + s³(2/3 + s²(2/5 + s²·2/7)) (truncation below
    /// 3e-8), and k·ln 2 in two parts (Cephes' split of ln 2).
    @inlinable @inline(__always)
    static func log(_ u: SIMD4<Float>) -> SIMD4<Float> {
        let b = bits(u)
        let ix = b &- 0x3F35_04F3
        let k = SIMD4<Int32>(truncatingIfNeeded: ix) &>> 23
        let m = floats(b &- (ix & 0xFF80_0000))
        let e = toFloat(k)
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        let p = (s2 * 0.28571428571 + 0.4) * s2 + 0.66666666667
        let t = s * s2 * p + e * -2.12194440e-4
        return (s + s + t) + e * 0.693359375
    }

    /// Two standard normals a lane from two uniform words a lane.
    @inlinable @inline(__always)
    static func boxMuller(_ w0: SIMD4<UInt32>, _ w1: SIMD4<UInt32>) -> (SIMD4<Float>, SIMD4<Float>) {
        // u = (w0 + ½)/2³², from two exact 16-bit halves, rounded once.
        let hi = toFloat(SIMD4<Int32>(truncatingIfNeeded: w0 &>> 16))
        let lo = toFloat(SIMD4<Int32>(truncatingIfNeeded: w0 & 0xFFFF))
        let u = hi * 0x1p-16 + (lo + 0.5) * 0x1p-32
        let r = squareRoot(-2 * log(u))
        // Angle 2π(c + ½)/2²⁴ = q·π/2 + φ with q the nearest quadrant.
        let c = w1 &>> 8
        let q = (c &+ (1 << 21)) &>> 22
        let off = c &- (q &<< 22)                             // two's complement, in [−2²¹, 2²¹)
        let phi = (toFloat(SIMD4<Int32>(truncatingIfNeeded: off)) + 0.5) * (2 * Float.pi * 0x1p-24)
        let z = phi * phi
        let s = phi + phi * z * ((z * -1.9515295891e-4 + 8.3321608736e-3) * z - 1.6666654611e-1)
        let co = 1 - 0.5 * z + z * z * ((z * 2.443315711809948e-5 - 1.388731625493765e-3) * z + 4.166664568298827e-2)
        // Rotate (cos φ, sin φ) by q quarter turns: swap for odd q, then signs.
        let swap = 0 &- (q & 1)
        let sb = bits(s), cb = bits(co)
        let cosine = ((cb & ~swap) | (sb & swap)) ^ (((q &+ 1) & 2) &<< 30)
        let sine = ((sb & ~swap) | (cb & swap)) ^ ((q & 2) &<< 30)
        return (r * floats(cosine), r * floats(sine))
    }
}
