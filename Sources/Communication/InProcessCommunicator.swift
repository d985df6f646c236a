import CSGDCore
import Foundation

/// The shared meeting point of W in-process ranks: slots for each rank's
/// contribution and a reusable barrier. Create one per run and hand each
/// rank thread an `InProcessCommunicator` on it.
public final class InProcessFabric: @unchecked Sendable {
    public let size: Int
    let condition = NSCondition()
    var arrived = 0
    var generation = 0
    var abortedBy: (Int, String)?
    /// Pool threads with a rank suspended in `barrier`, woken when it ends.
    var sleepers: [PoolThreadWaker] = []
    // Raw slot storage: ranks write their own slot concurrently, which Swift
    // arrays (copy-on-write, exclusivity-checked) do not allow.
    let byteSlots: UnsafeMutablePointer<[UInt8]>
    let pointerSlots: UnsafeMutablePointer<UnsafeMutableBufferPointer<Float>?>
    let rawSlots: UnsafeMutablePointer<UnsafeRawBufferPointer>
    /// Each rank's block lengths during an all-to-all (W counts, lent).
    let countSlots: UnsafeMutablePointer<UnsafePointer<Int>?>
    var reduced: UnsafeMutablePointer<Float>?
    var reducedCount = 0

    public init(size: Int) {
        precondition(size >= 1)
        self.size = size
        byteSlots = .allocate(capacity: size)
        byteSlots.initialize(repeating: [], count: size)
        pointerSlots = .allocate(capacity: size)
        pointerSlots.initialize(repeating: nil, count: size)
        rawSlots = .allocate(capacity: size)
        rawSlots.initialize(repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: size)
        countSlots = .allocate(capacity: size)
        countSlots.initialize(repeating: nil, count: size)
    }

    deinit {
        byteSlots.deinitialize(count: size)
        byteSlots.deallocate()
        pointerSlots.deallocate()
        rawSlots.deallocate()
        countSlots.deallocate()
        reduced?.deallocate()
    }

    /// Scratch for all-reduce results, grown by rank 0 between barriers.
    func ensureReduced(_ n: Int) {
        if reducedCount < n {
            reduced?.deallocate()
            reduced = .allocate(capacity: n)
            reducedCount = n
        }
    }

    /// Waits for all ranks; throws if any rank aborted.
    func barrier() throws {
        condition.lock()
        defer { condition.unlock() }
        if let (r, why) = abortedBy { throw CommunicatorError.aborted(rank: r, reason: why) }
        let gen = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            wakeAll()
        } else if let fiber = RankFiber.current {
            // A rank sharing its thread: let the thread run its other ranks.
            while generation == gen && abortedBy == nil {
                sleepers.append(fiber.thread)
                condition.unlock()
                fiber.suspend()
                condition.lock()
            }
        } else {
            while generation == gen && abortedBy == nil { condition.wait() }
        }
        if let (r, why) = abortedBy { throw CommunicatorError.aborted(rank: r, reason: why) }
    }

    func abort(rank: Int, reason: String) {
        condition.lock()
        if abortedBy == nil { abortedBy = (rank, reason) }
        wakeAll()
        condition.unlock()
    }

    /// Wakes every rank waiting in `barrier`; called holding `condition`.
    private func wakeAll() {
        condition.broadcast()
        for s in sleepers { s.wake() }
        sleepers.removeAll(keepingCapacity: true)
    }
}

/// One rank's handle on an `InProcessFabric`: the in-process implementation
/// of `Communicator`. All-reduce is a reduce-scatter by rank-ordered sums
/// (rank r sums slice r of every buffer) followed by a gather, so each rank
/// does 1/W of the arithmetic and the result is the same bits on every rank
/// and for every W-way partition.
public final class InProcessCommunicator: Communicator {
    public let rank: Int
    let fabric: InProcessFabric
    public var size: Int { fabric.size }

    public init(fabric: InProcessFabric, rank: Int) {
        precondition(rank >= 0 && rank < fabric.size)
        self.fabric = fabric
        self.rank = rank
    }

    public func barrier() throws { try fabric.barrier() }

    public func abort(reason: String) { fabric.abort(rank: rank, reason: reason) }

    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        if size == 1 { return [bytes] }
        fabric.byteSlots[rank] = bytes
        try fabric.barrier()
        let all = (0..<size).map { fabric.byteSlots[$0] }
        try fabric.barrier()
        return all
    }

    public func allGather(_ bytes: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        if size == 1 { return try body(0, bytes) }
        fabric.rawSlots[rank] = bytes
        try fabric.barrier()
        // Every sender's memory stays valid until the second barrier.
        var failure: Error?
        for r in 0..<size where failure == nil {
            do { try body(r, fabric.rawSlots[r]) } catch { failure = error }
        }
        try fabric.barrier()
        if let failure { throw failure }
    }

    /// Each rank lends its blocks and their lengths; each reads the block
    /// every sender addressed to it, in rank order, between two barriers.
    public func allToAll(_ bytes: UnsafeRawBufferPointer, counts: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        try AllToAllBlocks.check(bytes: bytes.count, counts: counts, size: size)
        if size == 1 { return try body(0, bytes) }
        try counts.withUnsafeBufferPointer { c in
            fabric.rawSlots[rank] = bytes
            fabric.countSlots[rank] = c.baseAddress!
            try fabric.barrier()
            // Every sender's memory stays valid until the second barrier.
            var failure: Error?
            for s in 0..<size where failure == nil {
                let sc = fabric.countSlots[s]!
                var offset = 0
                for j in 0..<rank { offset += sc[j] }
                let block = UnsafeRawBufferPointer(rebasing: fabric.rawSlots[s][offset ..< offset + sc[rank]])
                do { try body(s, block) } catch { failure = error }
            }
            try fabric.barrier()
            if let failure { throw failure }
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try allReduceSum(buffer) { sum in buffer.baseAddress!.update(from: sum.baseAddress!, count: sum.count) }
    }

    /// Every rank reads the one result (`fabric.reduced`) in `body`, between
    /// the barrier that ends the sums and the one that frees it for the next
    /// collective.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, reading body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        if size == 1 { return try body(UnsafeBufferPointer(buffer)) }
        let n = buffer.count
        fabric.pointerSlots[rank] = buffer
        if rank == 0 { fabric.ensureReduced(n) }
        try fabric.barrier()
        // Each rank compares its length with the next rank's: a mismatch
        // anywhere shows in some pair, and the rank that sees it throws
        // (aborting the fabric) before the barrier that ends the sums, so no
        // rank copies a result of the wrong length. Until then every read is
        // bounded by its buffer's length and every write by rank 0's, which
        // sized the result. O(1) a rank, not O(W).
        let next = (rank + 1) % size
        let nNext = fabric.pointerSlots[next]?.count ?? 0
        if nNext != n {
            throw CommunicatorError.mismatch("all-reduce of \(n) floats on rank \(rank), rank \(next) sent \(nNext)")
        }
        // Slice `rank` of the result, summed in rank order, a chunk at a
        // time so that the chunk of the result stays in L1 while the W
        // senders' chunks are added to it (one pass over the slice, not W).
        let n0 = fabric.pointerSlots[0]!.count
        let lo = n0 * rank / size, hi = n0 * (rank + 1) / size
        if lo < hi {
            let o = fabric.reduced!
            let first = fabric.pointerSlots[0]!.baseAddress!
            var c = lo
            while c < hi {
                let ce = min(hi, c + 2048)
                for i in c..<ce { o[i] = first[i] }
                for r in 1..<size {
                    let slot = fabric.pointerSlots[r]!
                    let p = slot.baseAddress!, end = min(ce, slot.count)
                    if c < end { for i in c..<end { o[i] += p[i] } }
                }
                c = ce
            }
        }
        try fabric.barrier()
        var failure: Error?
        do { try body(UnsafeBufferPointer(start: fabric.reduced!, count: n)) } catch { failure = error }
        try fabric.barrier()
        if let failure { throw failure }
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        if size == 1 { return }
        fabric.pointerSlots[rank] = buffer
        try fabric.barrier()
        if rank != root {
            guard let src = fabric.pointerSlots[root], src.count == buffer.count else {
                throw CommunicatorError.mismatch("broadcast of \(buffer.count) floats")
            }
            buffer.baseAddress!.update(from: src.baseAddress!, count: buffer.count)
        }
        try fabric.barrier()
    }
}
