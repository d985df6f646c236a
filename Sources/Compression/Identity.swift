import CSGDCore

/// The dense vector itself, as `none` sends it.
public struct DenseMessage: Sendable {
    public var values: [Float]
    public init(dimension: Int) { values = [Float](repeating: 0, count: dimension) }
}

/// `none`: the identity map, 32·d bits on the wire (μ = 1, linear, unbiased).
/// The baseline every other compressor is measured against.
public struct Identity: Compressor {
    public let dimension: Int
    public init(dimension: Int) {
        precondition(dimension >= 1, "dimension must be positive")
        self.dimension = dimension
    }
    public var isLinear: Bool { true }
    public var isUnbiased: Bool { true }
    public var description: String { "none" }

    public func makeMessage() -> DenseMessage { DenseMessage(dimension: dimension) }

    public func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into m: inout DenseMessage) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        m.values.withUnsafeMutableBufferPointer { v in
            v.baseAddress!.update(from: x.baseAddress!, count: dimension)
        }
    }

    public func bits(of m: DenseMessage) -> Int { 32 * dimension }

    public func encode(_ m: DenseMessage, into w: inout BitWriter) {
        m.values.withUnsafeBufferPointer { w.write(floats: $0) }
    }

    public func decode(from r: inout BitReader, key: RandomKey, into m: inout DenseMessage) throws {
        try r.require(32 * dimension)
        if m.values.count != dimension { m.values = [Float](repeating: 0, count: dimension) }
        try m.values.withUnsafeMutableBufferPointer { v in try r.read(floats: v) }
    }

    public func decompress(_ m: DenseMessage, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension)
        m.values.withUnsafeBufferPointer { y.baseAddress!.update(from: $0.baseAddress!, count: dimension) }
    }

    /// The payload is the value vector (indices, if any, come from the shared key).
    public func withLinearPayload(_ m: inout DenseMessage, _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Bool {
        try m.values.withUnsafeMutableBufferPointer { try body($0) }
        return true
    }

    public func add(_ m: DenseMessage, scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension)
        m.values.withUnsafeBufferPointer { Kernels.axpy(s, $0, y) }
    }
}
