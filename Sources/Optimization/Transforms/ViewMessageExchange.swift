import Communication
import Compression
import CSGDCore

/// The identity compressor's exchange when the message is the vector
/// itself and nothing changes that vector before the average (methods
/// without error memory: `CompressMessage`): C(v) = v is not copied, the
/// exchange keeps a view of v and averages from it, so a step of `none`
/// makes no copy of its gradient and a rank holds no message and no
/// decoded peer message (two d-vectors less than `TypedMessageExchange`).
/// The bits are the copying exchange's: the same rank-ordered sum, the same
/// 1/W scaling. Keeping the residual (error feedback) copies the message
/// into storage of its own first, since v then changes.
final class ViewMessageExchange: MessageExchange {
    let typed: Identity
    var compressor: any Compressor { typed }
    /// The message: the vector last compressed, or `owned` after `compressKeepingResidual`.
    private var view: UnsafeMutableBufferPointer<Float>?
    private var owned: FloatBuffer?

    init(_ c: Identity) { typed = c }

    private var bits: Int { 32 * typed.dimension }

    func compress(_ v: UnsafeBufferPointer<Float>, key: RandomKey) -> Int {
        precondition(v.count == typed.dimension, "vector length \(v.count) != d = \(typed.dimension)")
        view = UnsafeMutableBufferPointer(mutating: v)
        return bits
    }

    func compressKeepingResidual(_ v: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> Int {
        precondition(v.count == typed.dimension, "vector length \(v.count) != d = \(typed.dimension)")
        let copy = owned ?? FloatBuffer(count: typed.dimension)
        owned = copy
        copy.pointer.update(from: v.baseAddress!, count: v.count)
        view = copy.buffer
        subtractMessage(from: v)
        return bits
    }

    func subtractMessage(from v: UnsafeMutableBufferPointer<Float>) {
        Kernels.axpy(-1, UnsafeBufferPointer(message), v)
    }

    /// The average without a copy of it a rank, for an update only read
    /// after (`AverageMessages.appliedOnly`): on one rank the message itself;
    /// with in-process ranks that share `shared` (`SharedUpdate`), that one
    /// buffer, each rank writing its part, with the same bits as `average`
    /// there, and its blocks' terms of ‖u‖², all before the all-reduce's
    /// last barrier, so every rank may read all of u and all the terms once
    /// the all-reduce returns. Nil where neither holds (`average` then).
    func averageWithoutCopies(shared: SharedUpdate?, communicator comm: Communicator) throws
        -> (update: UnsafeMutableBufferPointer<Float>, up: Int, down: Int)? {
        let m = message
        if comm.size == 1 { return (m, bits, 0) }
        guard let shared else { return nil }
        let part = shared.part(rank: comm.rank, of: comm.size)
        try comm.allReduceSum(m) { sum in
            Self.scale(sum, by: 1 / Float(comm.size), into: shared.values, part)
            shared.writeSumSquares(rank: comm.rank, of: comm.size)
        }
        return (shared.values, bits, bits)
    }

    /// o[i] ← sum[i]·s for i in `part`.
    private static func scale(_ sum: UnsafeBufferPointer<Float>, by s: Float, into o: UnsafeMutableBufferPointer<Float>, _ part: Range<Int>) {
        let o = o.baseAddress!, p = sum.baseAddress!
        for i in part { o[i] = p[i] * s }
    }

    private var message: UnsafeMutableBufferPointer<Float> {
        guard let view else { preconditionFailure("no message compressed yet") }
        return view
    }

    /// avg ← (1/W)·Σ v: read where the sum lies (in-process: the ranks' one
    /// result; under MPI the sum overwrites v, which the pass no longer needs).
    func average(into avg: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator comm: Communicator) throws -> (Int, Int) {
        let m = message, w = comm.size
        if w == 1 {
            avg.baseAddress!.update(from: m.baseAddress!, count: m.count)
            return (bits, 0)
        }
        try comm.allReduceSum(m) { sum in Self.scale(sum, by: 1 / Float(w), into: avg, 0..<sum.count) }
        return (bits, bits)
    }

    func sparseCapacity(workers: Int) -> Int? { nil }

    func averageSparse(into out: SparseUpdate, zeroed: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> (Int, Int) {
        preconditionFailure("none sends dense messages")
    }
}
