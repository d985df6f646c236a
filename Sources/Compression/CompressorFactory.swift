import CSGDCore

extension CompressorSpec {
    /// The compressor this spec names for vectors of dimension `d`; throws a
    /// one-line `CSGDError` when the parameters do not fit d (K > d).
    public func make(dimension d: Int) throws -> any Compressor {
        guard d >= 1 else { throw CSGDError("dimension d = \(d) must be positive") }
        guard d <= 1 << 32 else { throw CSGDError("dimension d = \(d) is too large (at most 2^32)") }
        switch self {
        case .none:
            return Identity(dimension: d)
        case .fp64:
            return Float64Wire(dimension: d)
        case let .randomK(k):
            return RandomK(dimension: d, k: try k.resolve(dimension: d, what: "compressor 'randomk'"))
        case let .topK(k):
            return TopK(dimension: d, k: try k.resolve(dimension: d, what: "compressor 'topk'"))
        case let .sketchTopK(k, rows, cols):
            let kk = try k.resolve(dimension: d, what: "compressor 'sketch-topk'")
            let r = rows ?? SketchTopK.defaultRows(dimension: d, k: kk)
            let c = cols ?? SketchTopK.defaultCols(dimension: d, k: kk, rows: r)
            guard r.multipliedReportingOverflow(by: c).partialValue <= 1 << 31, !r.multipliedReportingOverflow(by: c).overflow else {
                throw CSGDError("compressor 'sketch-topk': rows × cols = \(r) × \(c) is too large a table (at most 2^31 numbers)")
            }
            return SketchTopK(dimension: d, k: kk, rows: r, cols: c)
        case .sign:
            return ScaledSign(dimension: d)
        case let .qsgd(s, coding):
            return QSGD(dimension: d, levels: s, coding: coding)
        }
    }
}
