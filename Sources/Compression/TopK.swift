import CSGDCore

/// The message of `topk`: the selected pairs plus the selector's scratch, so
/// that compressing every step allocates nothing after the first.
public struct TopKMessage: Sendable {
    public var pairs: SparseMessage
    var selector = TopKSelector()
    public init(k: Int) { pairs = SparseMessage(capacity: k) }
}

/// `topk:K`: keeps the K coordinates of largest magnitude (ties to the lower
/// index), zeroes the rest. μ ≥ K/d; neither linear nor unbiased.
///
/// Wire: the K values as Float32 (byte-aligned, 32·K bits), then the K
/// indices in ascending order, ⌈log₂ d⌉ bits each: K·(32 + ⌈log₂ d⌉) bits.
/// The decoder requires strictly ascending indices below d, so each message
/// has exactly one encoding.
public struct TopK: Compressor {
    public let dimension: Int
    public let k: Int
    public let indexBits: Int

    public init(dimension: Int, k: Int) {
        precondition(dimension >= 1 && k >= 1 && k <= dimension, "need 1 <= K <= d")
        self.dimension = dimension
        self.k = k
        self.indexBits = ceilLog2(dimension)
    }

    public var isLinear: Bool { false }
    public var isUnbiased: Bool { false }
    public var description: String { "topk:\(k)" }

    public func makeMessage() -> TopKMessage { TopKMessage(k: k) }

    public func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into m: inout TopKMessage) {
        select(x, into: &m)
        m.pairs.gather(from: x)
    }

    /// m's indices ← the K largest |x_i|, ascending.
    private func select(_ x: UnsafeBufferPointer<Float>, into m: inout TopKMessage) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        m.pairs.indices.withUnsafeMutableBufferPointer { idx in
            m.selector.select(x, into: idx)
        }
    }

    /// m ← C(x) and x ← x − C(x) in one pass over the K coordinates (the
    /// protocol's default makes two), with the same bits.
    public func compressKeepingResidual(_ x: UnsafeMutableBufferPointer<Float>, key: RandomKey, into m: inout TopKMessage) {
        select(UnsafeBufferPointer(x), into: &m)
        m.pairs.gatherSubtracting(from: x)
    }

    public func bits(of m: TopKMessage) -> Int { k * (32 + indexBits) }

    public func encode(_ m: TopKMessage, into w: inout BitWriter) {
        m.pairs.values.withUnsafeBufferPointer { w.write(floats: $0) }
        for i in m.pairs.indices { w.write(UInt64(i), bits: indexBits) }
    }

    public func decode(from r: inout BitReader, key: RandomKey, into m: inout TopKMessage) throws {
        try r.require(k * (32 + indexBits))
        if m.pairs.values.count != k { m.pairs = SparseMessage(capacity: k) }
        try m.pairs.values.withUnsafeMutableBufferPointer { try r.read(floats: $0) }
        try m.pairs.indices.withUnsafeMutableBufferPointer { idx in
            try r.read(bits: indexBits, into: idx)
            // Strictly ascending and below d (d ≤ 2^indexBits may leave room above).
            var previous = -1
            for j in 0..<k {
                let i = Int(idx[j])
                guard i > previous, i < dimension else {
                    throw WireFormatError.invalid(i >= dimension
                        ? "topk index \(i) is not below d = \(dimension)"
                        : "topk indices not strictly ascending at entry \(j)")
                }
                previous = i
            }
        }
    }

    /// y ← C(x) in one write pass (`SparseMessage.write(into:)`).
    public func decompress(_ m: TopKMessage, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension, "vector length \(y.count) != d = \(dimension)")
        m.pairs.write(into: y)
    }

    public func add(_ m: TopKMessage, scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension)
        m.pairs.add(scaledBy: s, into: y)
    }
}
