import Communication
import Compression
import CSGDCore

/// The exchange of `sketch-topk`, running the Sketched-SGD protocol (Ivkin et
/// al. 2019) over the ranks in two all-reduces. Round 1: every rank sketches
/// its vector v into an R × C table with the step's shared hashes and the
/// tables are summed; every rank then takes the same K indices S, the top K
/// of the median estimates of the summed table. Round 2: every rank sends
/// v[S] and the K values are summed. This rank's C(v) is v at S, zero
/// elsewhere (what error feedback subtracts), and the update is (1/W)·Σ v[S]
/// at S, given as K pairs. Both rounds happen in `compress`, because S (so
/// C(v)) depends on the other ranks' vectors; `average` only scales.
///
/// Bits: a rank sends R·C + K floats in the two all-reduces and receives as
/// many (the reduced buffers), 32·R·C + 32·K each way; with W = 1 nothing
/// travels (download 0) and the message is the compressor's own: the table
/// of v alone, as `SketchTopK.compress`. The sums are in rank order, so every
/// rank, in-process or under MPI, holds the same bits.
final class SketchMessageExchange: MessageExchange {
    let sketcher: SketchTopK
    /// The summed table, S and this rank's own values v[S].
    var message: SketchTopKMessage
    /// R·C floats: this rank's table, then the sum over the ranks.
    var table: [Float]
    /// K floats: Σ over the ranks of v[S] (with W > 1).
    var sums: [Float]
    /// The W the current message was made for (0 before the first).
    var workers = 0
    var compressor: any Compressor { sketcher }

    init(_ c: SketchTopK) {
        sketcher = c
        message = c.makeMessage()
        table = [Float](repeating: 0, count: c.rows * c.cols)
        sums = [Float](repeating: 0, count: c.k)
    }

    var bits: Int { sketcher.bits(of: message) }

    func compress(_ v: UnsafeBufferPointer<Float>, key: RandomKey) -> Int {
        sketcher.compress(v, key: key, into: &message)
        workers = 1
        return bits
    }

    func compress(_ v: UnsafeBufferPointer<Float>, key: RandomKey, communicator comm: Communicator) throws -> Int {
        if comm.size == 1 { return compress(v, key: key) }
        workers = 0
        // Round 1: table ← Σ_ranks sketch(v_rank); S from the sum.
        try table.withUnsafeMutableBufferPointer { t in
            sketcher.sketch(v, key: key, into: t)
            try comm.allReduceSum(t)
            sketcher.select(fromTable: UnsafeBufferPointer(t), key: key, into: &message)
        }
        // Round 2: sums ← Σ_ranks v_rank[S]; the own values stay in the message.
        sketcher.gatherValues(v, into: &message)
        try message.pairs.values.withUnsafeBufferPointer { own in
            try sums.withUnsafeMutableBufferPointer { s in
                s.baseAddress!.update(from: own.baseAddress!, count: s.count)
                try comm.allReduceSum(s)
            }
        }
        workers = comm.size
        return bits
    }

    /// v ← v − C(v): v[S] − v[S] (0 for finite values), as `SketchTopK.add`.
    func subtractMessage(from v: UnsafeMutableBufferPointer<Float>) {
        sketcher.add(message, scaledBy: -1, into: v)
    }

    /// Throws unless the message was made for `w` ranks (a programming error:
    /// `compress(_:key:communicator:)` must run on this communicator first).
    private func checkWorkers(_ w: Int) throws {
        guard workers == w else {
            throw CommunicatorError.mismatch("sketch-topk message made for \(workers) rank(s), averaged over \(w)")
        }
    }

    func average(into avg: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator comm: Communicator) throws -> (Int, Int) {
        let w = comm.size
        try checkWorkers(w)
        if w == 1 {
            sketcher.decompress(message, into: avg)
            return (bits, 0)
        }
        Kernels.zero(avg)
        let scale = 1 / Float(w)
        let p = avg.baseAddress!
        message.pairs.indices.withUnsafeBufferPointer { idx in
            sums.withUnsafeBufferPointer { s in
                for j in 0..<idx.count { p[Int(idx[j])] = s[j] * scale }
            }
        }
        return (bits, bits)
    }

    func sparseCapacity(workers: Int) -> Int? { sketcher.k }

    /// The K pairs (S ascending, distinct), each value what `average` writes there.
    func averageSparse(into out: SparseUpdate, zeroed: UnsafeMutableBufferPointer<Float>, key: RandomKey,
                       communicator comm: Communicator) throws -> (Int, Int) {
        let w = comm.size
        try checkWorkers(w)
        let k = sketcher.k
        precondition(k <= out.capacity, "sparse average over capacity")
        let scale = 1 / Float(w)
        message.pairs.indices.withUnsafeBufferPointer { idx in
            for j in 0..<k { out.indices[j] = idx[j] }
        }
        if w == 1 {
            // As the dense decode: 0 + v.
            message.pairs.values.withUnsafeBufferPointer { v in
                for j in 0..<k { out.values[j] = Float(0) + v[j] }
            }
        } else {
            sums.withUnsafeBufferPointer { s in
                for j in 0..<k { out.values[j] = s[j] * scale }
            }
        }
        out.count = k
        return (bits, w == 1 ? 0 : bits)
    }
}
