import Communication
import Compression
import CSGDCore

/// How one rank's compressed messages are made and exchanged: its
/// compressor with its message, writer and decode scratch behind a
/// non-generic face (so a run can hold any compressor chosen at run time),
/// and how its messages travel: linear compressors with shared randomness by
/// an all-reduce of their payload, sketch-topk by its two all-reduces (table,
/// then the K values at the indices chosen from the summed table;
/// `SketchMessageExchange`), the others by an all-gather of their encoded
/// bytes or by the two-stage exchange (`ScatterMessageExchange`,
/// `Collective`: inside error feedback, or for unbiased compressors); either way the bits counted are those of the messages sent.
/// `CompressMessage` and `ErrorFeedback` fill it, `AverageMessages` averages it.
public protocol MessageExchange: AnyObject {
    var compressor: any Compressor { get }
    /// m ← C(v) from this rank's v alone, with the step's key; returns the
    /// message's bits. For every compressor but sketch-topk this is the
    /// step's C(v); sketch-topk's C(v) depends on the other ranks' vectors
    /// and this gives its single-rank (W = 1) message.
    func compress(_ v: UnsafeBufferPointer<Float>, key: RandomKey) -> Int
    /// m ← C(v) for the step, called by every rank together before error
    /// feedback reads the message; returns the message's bits. An exchange whose
    /// C(v) depends on every rank's vector exchanges what it needs here, so
    /// that `subtractMessage` and `average` see the final C(v); the default
    /// is `compress(_:key:)`, with no communication.
    func compress(_ v: UnsafeBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> Int
    /// v ← v − C(v) for the last message (what error feedback keeps).
    func subtractMessage(from v: UnsafeMutableBufferPointer<Float>)
    /// `compress(_:key:communicator:)` then `subtractMessage(from:)` on the
    /// same v, the message kept (error feedback's step; the default, which
    /// sketch-topk uses). An exchange whose C(v) needs no communication hands it
    /// to the compressor's `compressKeepingResidual`. Returns the message's bits.
    func compressKeepingResidual(_ v: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> Int
    /// avg ← (1/W) Σ_ranks C(v_rank); returns (upload, download) bits.
    func average(into avg: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> (Int, Int)
    /// For sparse messages: the most (index, value) pairs `averageSparse`
    /// can produce with `workers` ranks; nil for dense messages.
    func sparseCapacity(workers: Int) -> Int?
    /// The same average as `average`, as pairs: every coordinate any rank
    /// sent is listed (repeats carry 0) with the value `average` would have
    /// written there, bit for bit. `zeroed` is d floats of zeros (none for a linear compressor), used as
    /// scratch and left zero.
    func averageSparse(into out: SparseUpdate, zeroed: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> (Int, Int)
    /// State the exchange carries from step to step (the two-stage
    /// exchange's owner memory; its size fixed when the exchange is made),
    /// saved in checkpoints; nil for the exchanges that keep none.
    var ownerMemory: UnsafeMutableBufferPointer<Float>? { get }
}

extension MessageExchange {
    public var ownerMemory: UnsafeMutableBufferPointer<Float>? { nil }

    public func compress(_ v: UnsafeBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> Int {
        compress(v, key: key)
    }

    public func compressKeepingResidual(_ v: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> Int {
        let bits = try compress(UnsafeBufferPointer(v), key: key, communicator: communicator)
        subtractMessage(from: v)
        return bits
    }
}

/// Builds the exchange for `compressor`: sketch-topk's two-round protocol,
/// the two-stage exchange when `collective` takes it on `workers` ranks
/// (`Collective.scatters`; DoubleSqueeze; its owners keep an error memory
/// when `memory`, for error feedback, and none otherwise), sparse averaging
/// for RandomK and TopK, the dense one for the others.
public func makeMessageExchange(_ compressor: any Compressor, collective: Collective = .allgather, workers: Int = 1,
                                memory: Bool = true) -> any MessageExchange {
    func openSparse<C: SparseCompressor>(_ c: C) -> any MessageExchange { SparseMessageExchange(c) }
    func open<C: Compressor>(_ c: C) -> any MessageExchange { TypedMessageExchange(c) }
    func openBlocks<C: BlockCompressor>(_ c: C) -> any MessageExchange { ScatterMessageExchange(c, workers: workers, memory: memory) }
    if let s = compressor as? SketchTopK { return SketchMessageExchange(s) }
    if collective.scatters(compressor, workers: workers, memory: memory), let b = compressor as? any BlockCompressor { return openBlocks(b) }
    if let s = compressor as? any SparseCompressor { return openSparse(s) }
    return open(compressor)
}

class TypedMessageExchange<C: Compressor>: MessageExchange {
    let typed: C
    var message: C.Message
    var received: C.Message
    var writer: BitWriter
    var compressor: any Compressor { typed }

    init(_ c: C) {
        typed = c
        message = c.makeMessage()
        received = c.makeMessage()
        writer = BitWriter(reservingBits: 32 * c.dimension + 64)
    }

    func compress(_ v: UnsafeBufferPointer<Float>, key: RandomKey) -> Int {
        typed.compress(v, key: key, into: &message)
        return typed.bits(of: message)
    }

    /// The compressor's own `compressKeepingResidual` (one pass for RandomK
    /// and TopK): this exchange's C(v) needs no communication.
    func compressKeepingResidual(_ v: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> Int {
        typed.compressKeepingResidual(v, key: key, into: &message)
        return typed.bits(of: message)
    }

    func subtractMessage(from v: UnsafeMutableBufferPointer<Float>) {
        typed.add(message, scaledBy: -1, into: v)
    }

    func average(into avg: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator comm: Communicator) throws -> (Int, Int) {
        let w = comm.size
        let bits = typed.bits(of: message)
        if w == 1 {
            typed.decompress(message, into: avg)
            return (bits, 0)
        }
        // Linear with shared randomness: Σ of payloads is the payload of
        // Σ C(v), so one all-reduce (the own message is consumed: error
        // feedback has already read it).
        if typed is Identity {
            // The payload is the vector itself: avg ← (1/W)·Σ read where the
            // sum lies (in-process: the ranks' one result), the bits of
            // decompressing the summed message and scaling it.
            let s = 1 / Float(w)
            _ = try typed.withLinearPayload(&message) { payload in
                try comm.allReduceSum(payload) { sum in
                    let o = avg.baseAddress!, p = sum.baseAddress!
                    for i in 0..<sum.count { o[i] = p[i] * s }
                }
            }
            return (bits, bits)
        }
        if try typed.withLinearPayload(&message, { try comm.allReduceSum($0) }) {
            typed.decompress(message, into: avg)
            Kernels.scale(1 / Float(w), avg)
            return (bits, bits)
        }
        writer.reset()
        typed.encode(message, into: &writer)
        Kernels.zero(avg)
        var download = 0
        let scale = 1 / Float(w)
        writer.padToByte()
        try writer.bytes.withUnsafeBytes { mine in
            try comm.allGather(mine) { r, bytes in
                if r == comm.rank {
                    typed.add(message, scaledBy: scale, into: avg)
                    return
                }
                // Peers compress with their own private keys (only shared parts of
                // the key matter to decoders, and those are the same).
                try decodeReceived(bytes, key: key)
                download += typed.bits(of: received)
                typed.add(received, scaledBy: scale, into: avg)
            }
        }
        return (bits, download)
    }

    /// received ← the message in `bytes` (the whole buffer, nothing after it).
    func decodeReceived(_ bytes: UnsafeRawBufferPointer, key: RandomKey) throws {
        try decodeWhole(bytes, key: key, into: &received)
    }

    /// m ← the message in `bytes` (the whole buffer, nothing after it).
    func decodeWhole(_ bytes: UnsafeRawBufferPointer, key: RandomKey, into m: inout C.Message) throws {
        var r = BitReader(bytes)
        try typed.decode(from: &r, key: key, into: &m)
        try r.finish()
    }

    func sparseCapacity(workers: Int) -> Int? { nil }

    func averageSparse(into out: SparseUpdate, zeroed: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> (Int, Int) {
        preconditionFailure("\(typed) sends dense messages")
    }
}
