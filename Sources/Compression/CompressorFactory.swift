import CSGDCore

extension CompressorSpec {
    /// The compressor this spec names for vectors of dimension `d`; throws a
    /// one-line `CSGDError` when the parameters do not fit d (K > d).
    public func make(dimension d: Int) throws -> any Compressor {
        guard d >= 1 else { throw CSGDError("dimension d = \(d) must be positive") }
        switch self {
        case .none:
            return Identity(dimension: d)
        case let .randomK(k):
            return RandomK(dimension: d, k: try k.resolve(dimension: d, what: "compressor 'randomk'"))
        case let .topK(k):
            return TopK(dimension: d, k: try k.resolve(dimension: d, what: "compressor 'topk'"))
        case let .sketchTopK(k, rows, cols):
            let kk = try k.resolve(dimension: d, what: "compressor 'sketch-topk'")
            return SketchTopK(dimension: d, k: kk, rows: rows, cols: cols)
        case .sign:
            return ScaledSign(dimension: d)
        case let .qsgd(s, coding):
            return QSGD(dimension: d, levels: s, coding: coding)
        }
    }
}
