import CSGDCore

/// The μ a compressor guarantees for every input (Definition 2.1), as the
/// theory needs it: 1 for none and fp64, K/d for RandomK and TopK, 1/d for sign; for
/// sketch-topk, K/d is not guaranteed (the sketch may miss heavy hitters)
/// and QSGD is unbiased rather than a μ-compressor, so both report the
/// conservative 1/d with a note in docs/wire-formats.md.
public enum CompressorMu {
    public static func lowerBound(_ c: any Compressor) -> Double {
        let d = Double(c.dimension)
        switch c {
        case is Identity, is Float64Wire: return 1
        case let r as RandomK: return Double(r.k) / d
        case let t as TopK: return Double(t.k) / d
        default: return 1 / d
        }
    }
}
