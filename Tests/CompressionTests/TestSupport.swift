import CSGDCore
import Compression

/// Deterministic test vectors.
enum Vectors {
    static func gaussian(_ d: Int, seed: UInt64, step: UInt64 = 0, sigma: Float = 1) -> FloatBuffer {
        let x = FloatBuffer(count: d)
        RandomFill.gaussian(RandomKey(seed: seed, step: step, purpose: .test), sigma: sigma, into: x.buffer)
        return x
    }

    /// Cauchy-distributed entries (ratio of two Gaussians): heavy tails.
    static func heavyTailed(_ d: Int, seed: UInt64, step: UInt64 = 0) -> FloatBuffer {
        let a = gaussian(d, seed: seed, step: step), b = gaussian(d, seed: seed &+ 1_000_003, step: step)
        let x = FloatBuffer(count: d)
        for i in 0..<d { x[i] = a[i] / max(abs(b[i]), 1e-3) * (b[i] < 0 ? -1 : 1) }
        return x
    }

    static func squaredDistance(_ a: FloatBuffer, _ b: FloatBuffer) -> Double {
        var s = 0.0
        for i in 0..<a.count { let t = Double(a[i]) - Double(b[i]); s += t * t }
        return s
    }
}

/// Compress, decompress, encode through the erased compressor.
struct Roundtrip<C: Compressor> {
    let c: C
    func dense(_ x: FloatBuffer, key: RandomKey) -> FloatBuffer {
        let m = c.compress(x.readOnly, key: key)
        let y = FloatBuffer(count: c.dimension)
        c.decompress(m, into: y.buffer)
        return y
    }
}
