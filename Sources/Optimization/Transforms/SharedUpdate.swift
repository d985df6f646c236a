import CSGDCore

/// The averaged update u_t that the W in-process ranks of one process hold
/// once, as they hold x_t once (`StepContext.sharesIterate`): it is the same
/// on every rank, so a dense average written W times over, and ‖u_t‖ summed
/// W times, would be W − 1 passes over d floats too many. Each rank writes
/// its part (`part`: whole blocks of the reductions' 1024 floats) and the
/// terms of ‖u_t‖² for those blocks (`blockSums`); after a barrier every
/// rank sums the terms in block order, which gives `Kernels.sumSquares`'
/// bits for the whole vector, so the records and the non-finite check are
/// what one rank alone computes. Used only where the update goes straight
/// into the SGD step (`AverageMessages.appliedOnly`), since a transform that
/// rewrote u_t would otherwise write it W times at once.
public final class SharedUpdate: @unchecked Sendable {
    /// u_t's d floats.
    public let values: UnsafeMutableBufferPointer<Float>
    /// What owns `values` (kept alive as long as this is).
    let storage: AnyObject
    let blockSums: UnsafeMutablePointer<Double>
    let blocks: Int

    /// `values` are d floats owned by `storage` (zero pages, say, so that a
    /// run whose update never takes this path pays no memory for it).
    public init(values: UnsafeMutableBufferPointer<Float>, storage: AnyObject) {
        self.values = values
        self.storage = storage
        let d = values.count
        blocks = Kernels.blockCount(d)
        blockSums = .allocate(capacity: max(blocks, 1))
        blockSums.initialize(repeating: 0, count: max(blocks, 1))
    }

    deinit { blockSums.deallocate() }

    /// The coordinates rank `rank` of `ranks` writes: whole blocks of the
    /// reductions, every block in exactly one rank's part.
    func part(rank: Int, of ranks: Int) -> Range<Int> {
        StepContext.part(rank: rank, of: ranks, dimension: values.count, block: Kernels.blockSize)
    }

    /// Whether `u` is this buffer.
    func holds(_ u: UnsafeMutableBufferPointer<Float>) -> Bool { u.baseAddress == values.baseAddress }

    /// Writes the terms of ‖u‖² for this rank's blocks (once it has written
    /// them); call before the barrier after which `sumSquares` reads them all.
    func writeSumSquares(rank: Int, of ranks: Int) {
        // The blocks of `part`: the same cut, counted in blocks.
        Kernels.sumSquaresBlocks(UnsafeBufferPointer(values), blocks: blocks * rank / ranks ..< blocks * (rank + 1) / ranks, into: blockSums)
    }

    /// ‖u‖², once every rank has written its terms.
    func sumSquares() -> Double { Kernels.sumOfBlockSums(blockSums, count: blocks) }
}
