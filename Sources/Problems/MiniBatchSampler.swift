import CSGDCore
import Optimization

/// Mini-batches for the sample-based problems (phase retrieval, planted ReLU).
///
/// The n samples are split into `batch.workers` contiguous shards, worker w
/// owning `⌊w·n/W⌋ ..< ⌊(w+1)·n/W⌋`; a mini-batch is `batch.size` indices (1
/// when the size is 0) drawn uniformly **with replacement** from the asking
/// worker's shard, by exact bounded draws (`RandomStream.nextInt(below:)`) on
/// the stream of `batch.randomKey(.minibatch)` from block 0. The indices are
/// therefore a pure function of the `BatchKey` and n.
public struct MiniBatchSampler {
    /// The asking worker's shard.
    public let shard: Range<Int>
    /// Samples in the mini-batch.
    public let size: Int
    @usableFromInline var stream: RandomStream

    /// Worker `worker`'s shard of `count` samples split into `workers` parts.
    public static func shard(worker: Int, workers: Int, count n: Int) -> Range<Int> {
        precondition(workers >= 1 && worker >= 0 && worker < workers && n >= 0)
        return (worker * n / workers) ..< ((worker + 1) * n / workers)
    }

    /// A sampler for `batch` over `count` samples.
    /// - Precondition: the worker's shard is not empty (n ≥ workers).
    public init(batch: BatchKey, count n: Int) {
        shard = Self.shard(worker: batch.worker, workers: batch.workers, count: n)
        precondition(!shard.isEmpty, "worker \(batch.worker) of \(batch.workers) has no samples (n = \(n))")
        size = batch.size > 0 ? batch.size : 1
        stream = RandomStream(key: batch.randomKey(.minibatch))
    }

    /// The next sample index.
    @inlinable
    public mutating func next() -> Int {
        shard.lowerBound + Int(stream.nextInt(below: UInt64(shard.count)))
    }

    /// All indices of `batch` over `count` samples, in draw order.
    public static func indices(batch: BatchKey, count n: Int) -> [Int] {
        var s = MiniBatchSampler(batch: batch, count: n)
        return (0..<s.size).map { _ in s.next() }
    }
}
