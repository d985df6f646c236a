import CSGDCore

/// How a transform moves the iterate x_t, which the ranks of one process
/// may hold once between them (`StepContext.sharesIterate`: W in-process
/// ranks, one x): a write then happens once, not W times, between two
/// barriers, so that no rank still reads x_t while it changes and every
/// rank reads the new x after. Every rank calls these at the same point of
/// its step (a method's control flow is the same on every rank: its
/// decisions come from values identical on every rank). With an iterate of
/// its own (one rank a process, as under MPI) a write is just the write.
extension StepContext {
    /// The coordinates of x rank `rank` of `ranks` writes in `writeIterate`:
    /// a contiguous part, its ends on multiples of 64 floats (so a
    /// vectorised element-wise kernel splits into whole blocks and gives
    /// each coordinate the bits it gives on the whole vector).
    public static func iteratePart(rank: Int, of ranks: Int, dimension d: Int) -> Range<Int> {
        part(rank: rank, of: ranks, dimension: d, block: 64)
    }

    /// Rank `rank`'s share of 0..<d cut on whole blocks of `block` floats
    /// (the last block may be short): contiguous, in rank order, every
    /// coordinate in exactly one rank's part.
    static func part(rank: Int, of ranks: Int, dimension d: Int, block: Int) -> Range<Int> {
        let blocks = (d + block - 1) / block
        return min(d, blocks * rank / ranks * block) ..< min(d, blocks * (rank + 1) / ranks * block)
    }

    /// An element-wise move of x: `body` writes the coordinates it is given
    /// (all of them with an iterate of its own; this rank's part,
    /// `iteratePart`, of a shared one), and must compute each from values
    /// identical on every rank.
    public func writeIterate(_ body: (Range<Int>) throws -> Void) throws {
        if sharesIterate { try communicator.barrier() }
        try writeIterateAfterCollective(body)
    }

    /// `writeIterate` right after a collective that every rank has left and
    /// with nothing between: no rank reads x_t any more (each read it before
    /// it entered the collective, which no rank leaves before all have
    /// entered), so only the barrier after the write is needed.
    public func writeIterateAfterCollective(_ body: (Range<Int>) throws -> Void) throws {
        guard sharesIterate else { return try body(0..<dimension) }
        try body(Self.iteratePart(rank: communicator.rank, of: communicator.size, dimension: dimension))
        try communicator.barrier()
    }

    /// A move of x that is not element-wise (or too small to split): `body`
    /// runs on this rank with an iterate of its own, on rank 0 alone with a
    /// shared one. It must change nothing but x.
    public func writeIterateOnce(_ body: () throws -> Void) throws {
        guard sharesIterate else { return try body() }
        try communicator.barrier()
        if communicator.rank == 0 { try body() }
        try communicator.barrier()
    }
}
