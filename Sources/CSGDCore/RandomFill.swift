import Foundation

/// Bulk, position-indexed random vectors from a keyed Philox stream.
///
/// Element `j` of a fill depends only on the key and `j` (uniforms use word
/// `j`; Gaussians use block `j / 4`), never on how the vector is split, so a
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
            let words = [w.0, w.1, w.2, w.3]
            for t in 0..<(n - j) { p[j + t] = Float(words[t] >> 8) * 0x1p-24 }
        }
    }

    /// Fills `out` with independent N(0, σ²) deviates, or adds them to it when
    /// `accumulate` is true. Block `b` of the stream gives elements
    /// `4b ..< 4b + 4` by Box–Muller on two pairs of 32-bit uniforms.
    /// `offset` (an element index) must be a multiple of 4.
    public static func gaussian(
        _ key: RandomKey, sigma: Float, into out: UnsafeMutableBufferPointer<Float>,
        offset: Int = 0, accumulate: Bool = false
    ) {
        precondition(offset % 4 == 0, "offset must be a multiple of 4")
        guard let p = out.baseAddress else { return }
        let n = out.count
        var j = 0
        var block = UInt32(truncatingIfNeeded: offset / 4)
        var four: (Float, Float, Float, Float) = (0, 0, 0, 0)
        while j < n {
            let w = key.block(block)
            four = boxMuller(w)
            let m = min(4, n - j)
            withUnsafeBytes(of: &four) { raw in
                let g = raw.bindMemory(to: Float.self)
                if accumulate {
                    for t in 0..<m { p[j + t] += sigma * g[t] }
                } else {
                    for t in 0..<m { p[j + t] = sigma * g[t] }
                }
            }
            j += 4; block &+= 1
        }
    }

    /// Four standard normals from one Philox block.
    @inline(__always)
    static func boxMuller(_ w: (UInt32, UInt32, UInt32, UInt32)) -> (Float, Float, Float, Float) {
        // u1 in (0, 1], u2 in [0, 1): 24-bit grids, so log never sees zero.
        let u1a = Float((w.0 >> 8) + 1) * 0x1p-24
        let u2a = Float(w.1 >> 8) * 0x1p-24
        let u1b = Float((w.2 >> 8) + 1) * 0x1p-24
        let u2b = Float(w.3 >> 8) * 0x1p-24
        let ra = (-2 * logf(u1a)).squareRoot()
        let rb = (-2 * logf(u1b)).squareRoot()
        let ta = 2 * Float.pi * u2a
        let tb = 2 * Float.pi * u2b
        return (ra * cosf(ta), ra * sinf(ta), rb * cosf(tb), rb * sinf(tb))
    }
}
