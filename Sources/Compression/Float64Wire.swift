import CSGDCore

/// The dense vector as `fp64` sends it: one IEEE-754 double a coordinate.
/// It holds the doubles themselves (not the Floats they came from), so a
/// decoded message re-encodes to exactly the bytes it was read from.
public struct Float64Message: Sendable {
    public var values: [Double]
    public init(dimension: Int) { values = [Double](repeating: 0, count: dimension) }
}

/// `fp64`: the identity sent as IEEE-754 float64, 64·d bits on the wire —
/// the uncompressed baseline of Table 2 of Kalan, Soltanolkotabi & Avestimehr, *Fitting ReLUs via SGD and Quantized SGD* (2019), whose master–worker SGD
/// ships float64 gradients. It changes no value (μ = 1, unbiased): every Float
/// widens to a double exactly and narrows back exactly; a received double
/// that is not a Float (or a NaN with a wider payload) is narrowed by the
/// ordinary `Float(_:)` rounding, so decoding never traps. It reports itself
/// not linear, so the runtime all-gathers the encoded bytes of every rank
/// (each rank uploads its 64·d bits and downloads the others') instead of
/// all-reducing a Float payload — the wire shape of a master–worker exchange.
public struct Float64Wire: Compressor {
    public let dimension: Int
    public init(dimension: Int) {
        precondition(dimension >= 1, "dimension must be positive")
        self.dimension = dimension
    }
    public var isLinear: Bool { false }
    public var isUnbiased: Bool { true }
    public var description: String { "fp64" }

    public func makeMessage() -> Float64Message { Float64Message(dimension: dimension) }

    public func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into m: inout Float64Message) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        if m.values.count != dimension { m.values = [Double](repeating: 0, count: dimension) }
        m.values.withUnsafeMutableBufferPointer { v in
            for i in 0..<dimension { v[i] = Double(x[i]) }
        }
    }

    public func bits(of m: Float64Message) -> Int { 64 * dimension }

    /// The doubles in order, each as its 64-bit pattern (little-endian in the
    /// byte stream, like every field `BitWriter` writes); one copy of the
    /// array's bytes when the stream is at a byte boundary on a little-endian
    /// host, field by field otherwise.
    public func encode(_ m: Float64Message, into w: inout BitWriter) {
        m.values.withUnsafeBufferPointer { v in
            #if _endian(little)
            if w.bitCount % 8 == 0 {
                w.write(bytes: UnsafeRawBufferPointer(v))
                return
            }
            #endif
            for i in 0..<dimension { w.write(v[i].bitPattern, bits: 64) }
        }
    }

    /// Reads d doubles. Every 64-bit pattern is a valid double, so only a
    /// short buffer is malformed.
    public func decode(from r: inout BitReader, key: RandomKey, into m: inout Float64Message) throws {
        try r.require(64 * dimension)
        if m.values.count != dimension { m.values = [Double](repeating: 0, count: dimension) }
        try m.values.withUnsafeMutableBufferPointer { v in
            #if _endian(little)
            if r.position % 8 == 0 {
                let raw = try r.readBytes(8 * dimension)
                UnsafeMutableRawPointer(v.baseAddress!).copyMemory(from: raw.baseAddress!, byteCount: 8 * dimension)
                return
            }
            #endif
            for i in 0..<dimension { v[i] = Double(bitPattern: try r.read(bits: 64)) }
        }
    }

    public func decompress(_ m: Float64Message, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension)
        m.values.withUnsafeBufferPointer { v in
            for i in 0..<dimension { y[i] = Float(v[i]) }
        }
    }

    public func add(_ m: Float64Message, scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension)
        m.values.withUnsafeBufferPointer { v in
            for i in 0..<dimension { y[i] += s * Float(v[i]) }
        }
    }
}
