import CKernels

/// The Philox4x32-10 counter-based generator (Salmon, Moraes, Dror and Shaw,
/// "Parallel random numbers: as easy as 1, 2, 3", SC'11; the Random123
/// library).
///
/// A pure function from a 128-bit counter and a 64-bit key to 128 random bits:
/// there is no hidden state, so any worker can compute any block of any stream
/// without communication, in any order, and get the same bits. Checked against
/// the Random123 known-answer vectors in the tests. The implementations live
/// in C (`CKernels`, philox.h and philox.c): one scalar (`block`, inlined
/// here), one AVX2 (eight blocks at a time) and one AVX-512 (sixteen), chosen
/// by `KernelPath`; every one gives the same bits. K-of-d sampling takes its
/// words in stream order from the same bulk code (`csgd_philox_blocks`).
public enum Philox4x32 {
    /// Ten rounds of Philox4x32 on `counter` under `key`.
    @inlinable @inline(__always)
    public static func block(
        _ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32,
        key k0: UInt32, _ k1: UInt32
    ) -> (UInt32, UInt32, UInt32, UInt32) {
        let w = csgd_philox4x32_10(c0, c1, c2, c3, k0, k1)
        return (w.w0, w.w1, w.w2, w.w3)
    }

    /// Blocks `first ..< first + count` (wrapping modulo 2³²) of `key`'s
    /// stream (`key.block`) transposed in fours, as `SIMD4` lanes want them:
    /// `out[4q + w]` holds word w of blocks `first + 4q ..< first + 4q + 4`,
    /// one block a lane. On `path` (default: the fastest here).
    /// - Precondition: `count` is a multiple of 4; `path.isAvailable`.
    @inlinable
    public static func fours(_ key: RandomKey, first: UInt32, count: Int, into out: UnsafeMutablePointer<SIMD4<UInt32>>,
                             path: KernelPath = .best) {
        guard count > 0 else { return }
        precondition(count % 4 == 0, "whole fours of blocks")
        precondition(path.isAvailable, "this CPU cannot run the \(path) path")
        let words = UnsafeMutableRawPointer(out).assumingMemoryBound(to: UInt32.self)
        csgd_philox_fours(path, key.k0, key.k1, key.c1, key.c2, key.c3, first, count, words)
    }

    /// The blocks of `key`'s stream at the listed counters (any order):
    /// `out[4j + w]` is word w of block `counters[j]`.
    /// - Precondition: `path.isAvailable`.
    @inlinable
    public static func blocks(_ key: RandomKey, at counters: UnsafeBufferPointer<UInt32>,
                              into out: UnsafeMutablePointer<UInt32>, path: KernelPath = .best) {
        guard let c = counters.baseAddress, counters.count > 0 else { return }
        precondition(path.isAvailable, "this CPU cannot run the \(path) path")
        csgd_philox_at(path, key.k0, key.k1, key.c1, key.c2, key.c3, c, counters.count, out)
    }
}
