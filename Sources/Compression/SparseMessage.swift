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

    /// y ← the dense vector of the pairs (zero elsewhere): the same result as
    /// zeroing y and then `add(scaledBy: 1, into: y)`, in one sequential
    /// write pass when the indices ascend (they do in every message csgd
    /// makes or decodes), so y is written once instead of zeroed and then
    /// scattered into. Other index orders fall back to zero-then-add.
    public func write(into y: UnsafeMutableBufferPointer<Float>) {
        guard let p = y.baseAddress else { return }
        let n = y.count
        indices.withUnsafeBufferPointer { idx in
            values.withUnsafeBufferPointer { v in
                var next = 0   // y[..<next] is final
                for j in 0..<idx.count {
                    let i = Int(idx[j])
                    guard i >= next, i < n else {
                        // Not ascending (or out of range, which `add` traps on
                        // as well): finish as zero-then-add would.
                        SparseMessage.zero(p + next, count: n - next)
                        for t in j..<idx.count { p[Int(idx[t])] += v[t] }
                        return
                    }
                    SparseMessage.zero(p + next, count: i - next)
                    p[i] = 0 + v[j]   // as 0 + v in `add`: −0 becomes +0
                    next = i + 1
                }
                SparseMessage.zero(p + next, count: n - next)
            }
        }
    }

    /// Zeroes `count` floats; short gaps (K/d of a few percent) inline.
    @inline(__always)
    static func zero(_ p: UnsafeMutablePointer<Float>, count: Int) {
        if count >= 256 {
            p.update(repeating: 0, count: count)
            return
        }
        var k = 0
        let raw = UnsafeMutableRawPointer(p)
        while k + 8 <= count {
            raw.storeBytes(of: SIMD8<Float>(), toByteOffset: 4 * k, as: SIMD8<Float>.self)
            k += 8
        }
        while k < count { p[k] = 0; k += 1 }
    }

    /// values ← x at the indices, then x ← x − values there: the bits of
    /// `gather(from:)` followed by `add(scaledBy: -1, into:)` (x + (−1)·v,
    /// so 0 for a finite value, NaN for ±∞ or NaN), in one pass over the K
    /// coordinates instead of two. Error feedback's compress-and-keep-residual.
    public mutating func gatherSubtracting(from x: UnsafeMutableBufferPointer<Float>) {
        indices.withUnsafeBufferPointer { idx in
            values.withUnsafeMutableBufferPointer { v in
                let p = x.baseAddress!
                for j in 0..<idx.count {
                    let i = Int(idx[j])
                    let value = p[i]
                    v[j] = value
                    p[i] = p[i] + (-1) * value
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
