import Foundation

/// Bulk, position-indexed random vectors from a key's streams.
///
/// Element `j` of a fill depends only on the key and `j` (uniforms use word
/// `j` of the key's Philox stream; Gaussians element `j` of its Gaussian
/// stream, ARS-7 through a ziggurat), never on how the vector is split, so a
/// chunk can be generated on any thread or worker and still match a serial
/// fill bit for bit.
public enum RandomFill {
    /// Fills `out` with uniforms in [0, 1) (24 random bits each): element `j`
    /// is word `offset + j` of the stream. `offset` must be a multiple of 4.
    public static func uniform(_ key: RandomKey, into out: UnsafeMutableBufferPointer<Float>, offset: Int = 0) {
        precondition(offset % 4 == 0, "offset must be a multiple of 4")
        guard let p = out.baseAddress else { return }
        let n = out.count
        var j = 0
        var block = UInt32(truncatingIfNeeded: offset / 4)
        while j + 4 <= n {
            let w = key.block(block)
            p[j] = Float(w.0 >> 8) * 0x1p-24
            p[j + 1] = Float(w.1 >> 8) * 0x1p-24
            p[j + 2] = Float(w.2 >> 8) * 0x1p-24
            p[j + 3] = Float(w.3 >> 8) * 0x1p-24
            j += 4; block &+= 1
        }
        if j < n {
            let w = key.block(block)
            for t in 0..<(n - j) {
                let word = t == 0 ? w.0 : t == 1 ? w.1 : w.2
                p[j + t] = Float(word >> 8) * 0x1p-24
            }
        }
    }

    /// Fills `out` with independent N(0, σ²) deviates, or adds them to it when
    /// `accumulate` is true: `out[j]` is σ·z (or `out[j] + σ·z`) with z element
    /// `offset + j` of the key's Gaussian stream (`GaussianSIMD`: ARS-7 words
    /// through a 1024-layer ziggurat, in groups of 64). Any offset and any
    /// split of a fill give the same bits.
    public static func gaussian(
        _ key: RandomKey, sigma: Float, into out: UnsafeMutableBufferPointer<Float>,
        offset: Int = 0, accumulate: Bool = false
    ) {
        guard let p = out.baseAddress else { return }
        GaussianSIMD.forEachRun(key, count: out.count, offset: offset) { start, z, m in
            let q = p + start
            if accumulate {
                for t in 0..<m { q[t] += sigma * z[t] }
            } else {
                for t in 0..<m { q[t] = sigma * z[t] }
            }
        }
    }
}
