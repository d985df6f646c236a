import Communication
import Compression
import CSGDCore

/// A compressor whose message is K (index, value) pairs with distinct
/// indices in ascending order (RandomK, TopK): its average over the ranks is
/// sparse too.
public protocol SparseCompressor: Compressor {
    /// The pairs of a message.
    func pairs(of m: Message) -> SparseMessage
    /// The most pairs a message holds.
    var k: Int { get }
}

extension RandomK: SparseCompressor {
    public func pairs(of m: RandomKMessage) -> SparseMessage { m.pairs }
}

extension TopK: SparseCompressor {
    public func pairs(of m: TopKMessage) -> SparseMessage { m.pairs }
}

/// The exchange of a sparse compressor: as `TypedMessageExchange`, plus the
/// average as pairs. Each value is computed by exactly the Float operations
/// the dense average does at that coordinate (0 + v, then ·1/W; or the
/// rank-ordered sum of v/W), so dense and sparse steps give the same bits.
final class SparseMessageExchange<C: SparseCompressor>: TypedMessageExchange<C> {
    /// K pairs for a linear compressor (every rank sends the same indices:
    /// its payload is all-reduced), else up to K from each rank.
    override func sparseCapacity(workers: Int) -> Int? { typed.isLinear ? typed.k : typed.k * max(1, workers) }

    override func averageSparse(into out: SparseUpdate, zeroed: UnsafeMutableBufferPointer<Float>, key: RandomKey,
                                communicator comm: Communicator) throws -> (Int, Int) {
        let w = comm.size
        let bits = typed.bits(of: message)
        out.count = 0
        if w == 1 {
            append(typed.pairs(of: message), to: out, scale: nil)
            return (bits, 0)
        }
        if try typed.withLinearPayload(&message, { try comm.allReduceSum($0) }) {
            append(typed.pairs(of: message), to: out, scale: 1 / Float(w))
            return (bits, bits)
        }
        writer.reset()
        typed.encode(message, into: &writer)
        if peers.count != w { peers = (0..<w).map { _ in typed.makeMessage() } }
        var download = 0
        writer.padToByte()
        try writer.bytes.withUnsafeBytes { mine in
            try comm.allGather(mine) { r, bytes in
                guard r != comm.rank else { return }
                try decodeWhole(bytes, key: key, into: &peers[r])
                download += typed.bits(of: peers[r])
            }
        }
        merge(w: w, rank: comm.rank, scale: 1 / Float(w), into: out)
        return (bits, download)
    }

    /// The decoded messages of the other ranks (this rank's slot unused).
    private var peers: [C.Message] = []
    /// Per-rank cursors of `merge`.
    private var cursors: [Int] = []
    /// `merge`'s sums for one slice of the index space, all zero between uses.
    private lazy var sliceSums = FloatBuffer(count: Self.mergeSlice)

    /// Coordinates a slice of `merge`: 2¹⁵ floats (128 KB), so its sums stay in L2.
    static var mergeSlice: Int { 1 << 15 }

    /// out ← the pairs of every rank's message with the rank-ordered sums
    /// Σ_r scale·v_r (from 0) at the first listing of each index, 0 at its
    /// repeats. Works slice by slice of the index space: every rank's pairs
    /// in the slice (ascending indices make them a run) are added in rank
    /// order into a slice-sized buffer of sums, then the slice's sums are
    /// read back and cleared. The random accesses hit that one small buffer,
    /// which stays in cache, never a d-sized one. Per index the Float
    /// operations are those of one rank-ordered pass, so the values are the
    /// same bits whatever the slice size (and as the dense average's).
    private func merge(w: Int, rank: Int, scale: Float, into out: SparseUpdate) {
        if cursors.count != w { cursors = [Int](repeating: 0, count: w) }
        for r in 0..<w { cursors[r] = 0 }
        let d = typed.dimension
        let slice = Self.mergeSlice
        let sums = sliceSums.buffer.baseAddress!
        let oi = out.indices, ov = out.values
        var o = 0
        var lo = 0
        while lo < d {
            let hi = min(d, lo + slice)
            let first = o
            for r in 0..<w {
                let pairs = typed.pairs(of: r == rank ? message : peers[r])
                var j = cursors[r]
                pairs.indices.withUnsafeBufferPointer { idx in
                    pairs.values.withUnsafeBufferPointer { v in
                        precondition(o + idx.count - j <= out.capacity, "sparse average over capacity")
                        while j < idx.count && Int(idx[j]) < hi {
                            let i = Int(idx[j]) - lo
                            sums[i] += scale * v[j]
                            oi[o] = idx[j]
                            o += 1
                            j += 1
                        }
                    }
                }
                cursors[r] = j
            }
            // The slice's sums; the first visit of an index takes its value
            // and clears it, repeats read 0.
            for t in first..<o {
                let i = Int(oi[t]) - lo
                ov[t] = sums[i]
                sums[i] = 0
            }
            lo = hi
        }
        out.count = o
    }

    /// Pairs of one message: value 0 + v (the dense decode), then ·scale when given.
    private func append(_ pairs: SparseMessage, to out: SparseUpdate, scale: Float?) {
        pairs.indices.withUnsafeBufferPointer { idx in
            pairs.values.withUnsafeBufferPointer { v in
                precondition(idx.count <= out.capacity, "sparse average over capacity")
                for j in 0..<idx.count {
                    out.indices[j] = idx[j]
                    let decoded = Float(0) + v[j]
                    out.values[j] = scale.map { decoded * $0 } ?? decoded
                }
                out.count = idx.count
            }
        }
    }
}
