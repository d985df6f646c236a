import CSGDCore
import Compression

/// A compressor whose message is K (index, value) pairs with distinct
/// indices (RandomK, TopK): its average over the ranks is sparse too.
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

/// The stage of a sparse compressor: as `TypedCompressionStage`, plus the
/// average as pairs. Each value is computed by exactly the Float operations
/// the dense average does at that coordinate (0 + v, then ·1/W; or the
/// rank-ordered sum of v/W), so dense and sparse steps give the same bits.
final class SparseCompressionStage<C: SparseCompressor>: TypedCompressionStage<C> {
    override func sparseCapacity(workers: Int) -> Int? { typed.k * max(1, workers) }

    override func averageSparse(into out: SparseUpdate, zeroed dense: UnsafeMutableBufferPointer<Float>, key: RandomKey,
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
        let scale = 1 / Float(w)
        let p = dense.baseAddress!
        var download = 0
        try writer.finished().withUnsafeBytes { mine in
            try comm.allGather(mine) { r, bytes in
                if r != comm.rank {
                    try decodeReceived(bytes, key: key)
                    download += typed.bits(of: received)
                }
                let pairs = typed.pairs(of: r == comm.rank ? message : received)
                pairs.indices.withUnsafeBufferPointer { idx in
                    pairs.values.withUnsafeBufferPointer { v in
                        precondition(out.count + idx.count <= out.capacity, "sparse average over capacity")
                        for j in 0..<idx.count {
                            let i = Int(idx[j])
                            p[i] += scale * v[j]
                            out.indices[out.count + j] = idx[j]
                        }
                        out.count += idx.count
                    }
                }
            }
        }
        // Collect the sums; the first visit of an index takes its value and
        // clears it, repeats read 0.
        for j in 0..<out.count {
            let i = Int(out.indices[j])
            out.values[j] = p[i]
            p[i] = 0
        }
        return (bits, download)
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
