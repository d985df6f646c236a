import CSGDCore

/// K (index, value) pairs, indices strictly ascending: the message of
/// RandomK (whose indices travel implicitly, as the shared key) and TopK
/// (whose indices travel on the wire).
public struct SparseMessage: Sendable, Equatable {
    public var indices: [UInt32]
    public var values: [Float]

    public init(capacity k: Int) {
        indices = [UInt32](repeating: 0, count: k)
        values = [Float](repeating: 0, count: k)
    }

    /// y[indices[j]] += s·values[j].
    public func add(scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>) {
        indices.withUnsafeBufferPointer { idx in
            values.withUnsafeBufferPointer { v in
                let p = y.baseAddress!
                if s == 1 {
                    for j in 0..<idx.count { p[Int(idx[j])] += v[j] }
                } else {
                    for j in 0..<idx.count { p[Int(idx[j])] += s * v[j] }
                }
            }
        }
    }

    /// values[j] ← x[indices[j]].
    public mutating func gather(from x: UnsafeBufferPointer<Float>) {
        indices.withUnsafeBufferPointer { idx in
            values.withUnsafeMutableBufferPointer { v in
                let p = x.baseAddress!
                for j in 0..<idx.count { v[j] = p[Int(idx[j])] }
            }
        }
    }
}
