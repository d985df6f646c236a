import Compression

/// The most bits a message of a compressor can take, so that a caller can
/// size one output buffer for every call.
enum WireBound {
    static func maxBits<C: Compressor>(of c: C) -> Int {
        if let q = c as? QSGD, q.coding == .elias { return eliasQSGDBound(dimension: q.dimension, levels: q.levels) }
        // Every other format has a size fixed by d and the parameters
        // (32d, 64d, 32K, K(32 + ⌈log₂ d⌉), 32(rows·cols + K), 32 + d,
        // 32 + d·w): the size of any message, here an empty one.
        return c.bits(of: c.makeMessage())
    }

    /// QSGD with Elias-ω coding (Alistarh et al. 2017, §3.2) writes the norm
    /// (32 bits), ω(n + 1) for n non-zeros, then per non-zero ω(gap), a sign
    /// bit and ω(|level|). ω's length is non-decreasing and ω(g) ≤ g + 2 for
    /// every g ≥ 1, the gaps sum to at most d, n ≤ d and |level| ≤ S, so a
    /// message takes at most 32 + ω(d + 1) + d·(4 + ω(S)) bits.
    static func eliasQSGDBound(dimension d: Int, levels s: Int) -> Int {
        32 + EliasOmega.bits(of: UInt64(d) + 1) + d * (4 + EliasOmega.bits(of: UInt64(s)))
    }
}
