import CSGDCore

/// The μ of Definition 2.1 the theory's step sizes use: a guarantee for
/// every input for none and fp64 (1), TopK (K/d) and sign (1/d), and in
/// expectation for RandomK (K/d). For sketch-topk and QSGD no μ > 0 holds
/// for every input (the sketch may select only coordinates where x is zero,
/// and QSGD is unbiased rather than a μ-compressor: ‖Q(x) − x‖ can exceed
/// ‖x‖), so the 1/d both report is a nominal value, not a bound; see
/// docs/wire-formats.md for what each does guarantee.
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
