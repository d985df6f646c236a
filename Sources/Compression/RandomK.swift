import CSGDCore

/// The message of `randomk`: the K sampled coordinates (indices implied by
/// the shared key) and the sampler's scratch.
public struct RandomKMessage: Sendable {
    public var pairs: SparseMessage
    var sampling = SamplingWorkspace()
    public init(k: Int) { pairs = SparseMessage(capacity: k) }
}

/// `randomk:K`: keeps K coordinates drawn uniformly without replacement from
/// the shared stream of (seed, step) with purpose `.randomKIndices`, without
/// rescaling. Linear for a fixed draw, μ = K/d exactly, biased.
///
/// Wire: the K values as Float32 in ascending index order, 32·K bits; the
/// indices are not sent, every worker re-derives them from the shared key.
/// The key's `worker` is ignored (the draw is always the shared one).
public struct RandomK: Compressor {
    public let dimension: Int
    public let k: Int

    public init(dimension: Int, k: Int) {
        precondition(dimension >= 1 && k >= 1 && k <= dimension, "need 1 <= K <= d")
        self.dimension = dimension
        self.k = k
    }

    public var isLinear: Bool { true }
    public var isUnbiased: Bool { false }
    public var description: String { "randomk:\(k)" }

    public func makeMessage() -> RandomKMessage { RandomKMessage(k: k) }

    /// The shared key the indices are drawn from.
    public func indexKey(_ key: RandomKey) -> RandomKey {
        RandomKey(seed: key.seed, step: key.step, worker: RandomKey.shared, purpose: .randomKIndices)
    }

    /// Draws this step's indices into `m` (what a receiver does before reading values).
    public func drawIndices(key: RandomKey, into m: inout RandomKMessage) {
        if m.pairs.indices.count != k { m.pairs = SparseMessage(capacity: k) }
        m.pairs.indices.withUnsafeMutableBufferPointer { idx in
            Sampling.withoutReplacement(d: dimension, key: indexKey(key), into: idx, workspace: &m.sampling)
        }
    }

    public func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into m: inout RandomKMessage) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        drawIndices(key: key, into: &m)
        m.pairs.gather(from: x)
    }

    /// m ← C(x) and x ← x − C(x) in one pass over the K coordinates (the
    /// protocol's default makes two), with the same bits.
    public func compressKeepingResidual(_ x: UnsafeMutableBufferPointer<Float>, key: RandomKey, into m: inout RandomKMessage) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        drawIndices(key: key, into: &m)
        m.pairs.gatherSubtracting(from: x)
    }

    public func bits(of m: RandomKMessage) -> Int { 32 * k }

    public func encode(_ m: RandomKMessage, into w: inout BitWriter) {
        m.pairs.values.withUnsafeBufferPointer { w.write(floats: $0) }
    }

    public func decode(from r: inout BitReader, key: RandomKey, into m: inout RandomKMessage) throws {
        try r.require(32 * k)
        drawIndices(key: key, into: &m)
        try m.pairs.values.withUnsafeMutableBufferPointer { try r.read(floats: $0) }
    }

    /// The payload is the value vector (indices, if any, come from the shared key).
    public func withLinearPayload(_ m: inout RandomKMessage, _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Bool {
        try m.pairs.values.withUnsafeMutableBufferPointer { try body($0) }
        return true
    }

    /// y ← C(x) in one write pass (`SparseMessage.write(into:)`).
    public func decompress(_ m: RandomKMessage, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension, "vector length \(y.count) != d = \(dimension)")
        m.pairs.write(into: y)
    }

    public func add(_ m: RandomKMessage, scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension)
        m.pairs.add(scaledBy: s, into: y)
    }
}
