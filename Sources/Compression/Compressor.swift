import CSGDCore

/// A lossy map C with an exact wire format: the unit every method sends.
///
/// A compressor is an immutable description (its dimension and parameters);
/// the per-call state lives in its `Message`, which also holds any reusable
/// scratch, so one worker keeps one message and compressing every step
/// allocates nothing after the first. Randomness comes in as a `RandomKey`:
/// shared randomness θ̃ (RandomK indices, sketch hashes) uses a key that is the
/// same on every worker, private randomness (QSGD's rounding) a worker's key.
///
/// Contract: `decode(encode(m))` reproduces `m` bit for bit; `bits(of: m)` is
/// exactly the number of bits `encode` writes; `decode` throws
/// `WireFormatError` on anything malformed and never traps.
public protocol Compressor: Sendable, CustomStringConvertible {
    associatedtype Message: Sendable

    /// d, the length of the vectors compressed.
    var dimension: Int { get }
    /// True when C(·, θ̃) is linear for fixed randomness θ̃ (Definition 2.2):
    /// the average of messages is then one all-reduce of their payloads.
    var isLinear: Bool { get }
    /// True when E[C(x)] = x.
    var isUnbiased: Bool { get }

    /// An empty message with capacity for this compressor's output.
    func makeMessage() -> Message
    /// m ← C(x, θ̃) with the randomness of `key`.
    func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into m: inout Message)
    /// The exact number of bits `encode` writes for `m`.
    func bits(of m: Message) -> Int
    /// Appends the wire form of `m`.
    func encode(_ m: Message, into w: inout BitWriter)
    /// Reads one message; `key` must be the key it was compressed with when
    /// the format leaves shared randomness implicit (RandomK, sketch-topk).
    func decode(from r: inout BitReader, key: RandomKey, into m: inout Message) throws
    /// y ← y + s·C(x) for the message m = C(x).
    func add(_ m: Message, scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>)
    /// m ← C(x), then x ← x − C(x): error feedback's step, the residual kept
    /// in x (default: `compress`, then `add(m, scaledBy: -1, into: x)`). A
    /// compressor whose message is x at some coordinates (RandomK, TopK) does
    /// both in one pass over them, with the same bits.
    func compressKeepingResidual(_ x: UnsafeMutableBufferPointer<Float>, key: RandomKey, into m: inout Message)
    /// y ← C(x) for the message m = C(x) (default: zero y, then `add`).
    func decompress(_ m: Message, into y: UnsafeMutableBufferPointer<Float>)
    /// For compressors whose messages add through one Float payload under
    /// shared randomness (Σ C(v_i) is the message whose payload is Σ of the
    /// payloads): runs `body` on `m`'s payload in place and returns true, so
    /// W messages average by one all-reduce. Others return false and never
    /// call `body` (the default).
    func withLinearPayload(_ m: inout Message, _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Bool
}

extension Compressor {
    public func withLinearPayload(_ m: inout Message, _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Bool {
        false
    }

    public func compressKeepingResidual(_ x: UnsafeMutableBufferPointer<Float>, key: RandomKey, into m: inout Message) {
        compress(UnsafeBufferPointer(x), key: key, into: &m)
        add(m, scaledBy: -1, into: x)
    }

    /// The dense vector C(x) of message `m`, written over `y`.
    public func decompress(_ m: Message, into y: UnsafeMutableBufferPointer<Float>) {
        Kernels.zero(y)
        add(m, scaledBy: 1, into: y)
    }

    /// The wire bytes of `m` (padded to whole bytes).
    public func encode(_ m: Message) -> [UInt8] {
        var w = BitWriter(reservingBits: bits(of: m))
        encode(m, into: &w)
        return w.finished()
    }

    /// Decodes one complete message from `bytes`, rejecting trailing data.
    public func decode(_ bytes: [UInt8], key: RandomKey, into m: inout Message) throws {
        try bytes.withUnsafeBytes { raw in
            var r = BitReader(raw)
            try decode(from: &r, key: key, into: &m)
            try r.finish()
        }
    }

    /// Decodes one complete message from `bytes` into a new message.
    public func decode(_ bytes: [UInt8], key: RandomKey) throws -> Message {
        var m = makeMessage()
        try decode(bytes, key: key, into: &m)
        return m
    }

    /// Compresses `x` into a new message (convenience for tests and tools).
    public func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey) -> Message {
        var m = makeMessage()
        compress(x, key: key, into: &m)
        return m
    }
}

/// ⌈log₂ n⌉ for n ≥ 1 (0 for n = 1): the width of an index into `0 ..< n`.
@inlinable public func ceilLog2(_ n: Int) -> Int {
    precondition(n >= 1)
    return n == 1 ? 0 : Int.bitWidth - (n - 1).leadingZeroBitCount
}
