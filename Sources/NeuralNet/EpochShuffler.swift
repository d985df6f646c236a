import CSGDCore
import Foundation
import Optimization

/// Which samples a worker's mini-batch holds: epoch-wise shuffling of the
/// worker's shard, keyed so that every batch is a pure function of its key.
///
/// Worker w with shard S_w (|S_w| = m) visits, in epoch e, the samples
/// S_w[π_e(0)], S_w[π_e(1)], …, where π_e is a uniform permutation of 0..<m
/// drawn by Fisher–Yates (i from m − 1 down to 1 swaps i with an exact
/// bounded draw below i + 1) from the stream RandomKey(seed, step = e,
/// worker = w, purpose .shuffle), the seed mixed with the batch key's `draw`
/// as `BatchKey.randomKey` does. Step t with batch B takes positions
/// t·B … t·B + B − 1 of the concatenation π_0, π_1, …, so each epoch is a
/// real pass over the shard and a batch may straddle two epochs.
/// Permutations are computed once and kept in a small lock-protected cache
/// (two per worker), so the hot path only copies B indices.
public final class EpochShuffler: @unchecked Sendable {
    public let shards: [[Int32]]
    private let lock = NSLock()
    private struct Entry { var seed: UInt64; var worker: Int; var epoch: UInt64; var used: UInt64; var perm: [Int32] }
    private var cache: [Entry] = []
    private var clock: UInt64 = 0
    private let capacity: Int

    public init(shards: [[Int32]]) {
        self.shards = shards
        capacity = 2 * shards.count + 2
    }

    /// The permutation of 0..<count for `key` (Fisher–Yates, see the type).
    public static func permutation(count: Int, key: RandomKey) -> [Int32] {
        var p = (0..<count).map { Int32($0) }
        var s = RandomStream(key: key)
        var i = count - 1
        while i >= 1 {
            let j = Int(s.nextInt(below: UInt64(i + 1)))
            p.swapAt(i, j)
            i -= 1
        }
        return p
    }

    /// Writes the sample indices of `batch` (its `size` samples, or `out.count`
    /// when the size is 0) into `out`.
    public func fill(_ out: UnsafeMutableBufferPointer<Int32>, batch: BatchKey) {
        let shard = shards[batch.worker]
        let m = UInt64(shard.count)
        precondition(m > 0, "worker \(batch.worker) has an empty shard")
        let b = UInt64(out.count)
        let start = batch.step &* b
        let seed = batch.randomKey(.shuffle).seed
        lock.lock()
        defer { lock.unlock() }
        var j = 0
        while j < out.count {
            let p = start + UInt64(j)
            let epoch = p / m
            let run = min(Int(m - p % m), out.count - j)
            let perm = permutationLocked(seed: seed, worker: batch.worker, epoch: epoch, count: shard.count)
            var i = Int(p % m)
            for t in 0..<run {
                out[j + t] = shard[Int(perm[i])]
                i += 1
            }
            j += run
        }
    }

    private func permutationLocked(seed: UInt64, worker: Int, epoch: UInt64, count: Int) -> [Int32] {
        clock += 1
        if let k = cache.firstIndex(where: { $0.seed == seed && $0.worker == worker && $0.epoch == epoch }) {
            cache[k].used = clock
            return cache[k].perm
        }
        let key = RandomKey(seed: seed, step: epoch, worker: UInt32(worker), purpose: .shuffle)
        let perm = Self.permutation(count: count, key: key)
        let entry = Entry(seed: seed, worker: worker, epoch: epoch, used: clock, perm: perm)
        if cache.count < capacity {
            cache.append(entry)
        } else {
            var oldest = 0
            for k in 1..<cache.count where cache[k].used < cache[oldest].used { oldest = k }
            cache[oldest] = entry
        }
        return perm
    }
}
