import CSGDCore

/// MPI's collectives, nothing more: what a rank of a data-parallel run needs
/// to exchange messages with the others. The in-process implementation runs
/// W ranks as threads of one process; an Open MPI one drops in behind the
/// same protocol without touching the methods.
///
/// Every collective is called by all ranks in the same order. Results never
/// depend on timing: sums are taken in rank order, gathers are ordered by rank.
public protocol Communicator: AnyObject {
    /// This rank, in `0 ..< size`.
    var rank: Int { get }
    /// The number of ranks W.
    var size: Int { get }
    /// buffer ← Σ over ranks of buffer (summed in rank order, element by element).
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// The same sum, the same bits, handed to `body` where it lies: the
    /// default sums into `buffer` and passes it on; the in-process fabric
    /// lends the one result its ranks share (valid only during the call; no
    /// copy a rank). `buffer` is left as `allReduceSum` leaves it or as it was.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, reading body: (UnsafeBufferPointer<Float>) throws -> Void) throws
    /// Every rank's bytes, indexed by rank.
    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Calls `body(rank, bytes)` with every rank's bytes in rank order; the
    /// views are valid only during the call. The default goes through
    /// `allGather(_:)`; the in-process fabric lends the senders' memory
    /// instead, allocating nothing.
    func allGather(_ bytes: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws
    /// All-to-all of byte blocks of differing lengths (MPI_Alltoallv):
    /// `bytes` holds this rank's W blocks back to back in rank order,
    /// `counts[j]` bytes for rank j. Calls `body(source, block)` with the
    /// block every rank `source` addressed to this rank, in rank order (this
    /// rank's own block to itself included, never sent); the views are valid
    /// only during the call. The in-process fabric lends the senders' memory.
    func allToAll(_ bytes: UnsafeRawBufferPointer, counts: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws
    /// `allGather(_:_:)` when every rank knows every rank's length in
    /// advance (`lengths[r]` bytes from rank r, this rank's own included):
    /// a communicator may then skip exchanging the lengths (Open MPI: no
    /// `MPI_Allgather` before the `MPI_Allgatherv`). A block of another
    /// length is a `CommunicatorError.mismatch`. The default checks the
    /// lengths around `allGather(_:_:)`.
    func allGather(_ bytes: UnsafeRawBufferPointer, lengths: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws
    /// `allToAll(_:counts:_:)` when this rank knows in advance how many
    /// bytes every rank addresses to it (`receiving[s]` from rank s, its own
    /// block included): a communicator may then skip exchanging the counts
    /// (Open MPI: no `MPI_Alltoall` before the `MPI_Alltoallv`). The default
    /// checks the lengths around `allToAll(_:counts:_:)`.
    func allToAll(_ bytes: UnsafeRawBufferPointer, counts: [Int], receiving: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws
    /// buffer ← root's buffer.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws
    /// Returns when every rank has called it.
    func barrier() throws
    /// Tells every rank to stop: their pending and later collectives throw
    /// `CommunicatorError.aborted` carrying `reason`.
    func abort(reason: String)
}

/// Why a collective failed.
public enum CommunicatorError: Error, CustomStringConvertible, Equatable {
    /// Another rank gave up (its reason is carried along).
    case aborted(rank: Int, reason: String)
    /// Ranks disagreed on a collective's shape (a programming error).
    case mismatch(String)

    public var description: String {
        switch self {
        case let .aborted(rank, reason): return "rank \(rank) stopped the run: \(reason)"
        case let .mismatch(what): return "collective mismatch: \(what)"
        }
    }
}

extension Communicator {
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, reading body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        try allReduceSum(buffer)
        try body(UnsafeBufferPointer(buffer))
    }

    public func allGather(_ bytes: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let all = try allGather(Array(bytes))
        for (r, b) in all.enumerated() { try b.withUnsafeBytes { try body(r, $0) } }
    }

    public func allGather(_ bytes: UnsafeRawBufferPointer, lengths: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        try KnownLengths.check(lengths, own: bytes.count, rank: rank, size: size)
        try allGather(bytes) { r, view in
            try KnownLengths.expect(view, from: r, lengths)
            try body(r, view)
        }
    }

    public func allToAll(_ bytes: UnsafeRawBufferPointer, counts: [Int], receiving: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        try KnownLengths.check(receiving, own: counts.indices.contains(rank) ? counts[rank] : -1, rank: rank, size: size)
        try allToAll(bytes, counts: counts) { s, view in
            try KnownLengths.expect(view, from: s, receiving)
            try body(s, view)
        }
    }

    /// An all-to-all through `allGather(_:)`, for communicators without
    /// their own: correct, but every rank receives every block.
    public func allToAll(_ bytes: UnsafeRawBufferPointer, counts: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        try AllToAllBlocks.check(bytes: bytes.count, counts: counts, size: size)
        var packed = [UInt8]()
        for c in counts { withUnsafeBytes(of: UInt64(c).littleEndian) { packed.append(contentsOf: $0) } }
        packed.append(contentsOf: bytes)
        let all = try allGather(packed)
        for (source, p) in all.enumerated() {
            try p.withUnsafeBytes { raw in
                guard raw.count >= 8 * size else { throw CommunicatorError.mismatch("all-to-all from rank \(source)") }
                var offset = 8 * size
                for j in 0..<size {
                    let c = Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * j, as: UInt64.self)))
                    guard c <= raw.count - offset else { throw CommunicatorError.mismatch("all-to-all from rank \(source)") }
                    if j == rank { try body(source, UnsafeRawBufferPointer(rebasing: raw[offset ..< offset + c])) }
                    offset += c
                }
            }
        }
    }

    /// Σ over ranks of a few Double scalars (exact order: rank order).
    public func allReduceSum(_ values: [Double]) throws -> [Double] {
        let parts = try allGather(values.withUnsafeBytes { Array($0) })
        var out = [Double](repeating: 0, count: values.count)
        for p in parts {
            guard p.count == 8 * values.count else { throw CommunicatorError.mismatch("scalar all-reduce of \(values.count) values") }
            p.withUnsafeBytes { raw in
                for i in 0..<values.count { out[i] += raw.loadUnaligned(fromByteOffset: 8 * i, as: Double.self) }
            }
        }
        return out
    }
}


/// Checks of an all-to-all's arguments shared by the communicators.
public enum AllToAllBlocks {
    /// Throws unless `counts` has one non-negative count a rank and they add up to `bytes`.
    public static func check(bytes: Int, counts: [Int], size: Int) throws {
        guard counts.count == size, counts.allSatisfy({ $0 >= 0 }), counts.reduce(0, +) == bytes else {
            throw CommunicatorError.mismatch("all-to-all of \(bytes) bytes in blocks \(counts) over \(size) ranks")
        }
    }

    /// The offsets of the blocks of `counts`, back to back from 0.
    public static func offsets(_ counts: [Int]) -> [Int] {
        var out = [Int](), o = 0
        for c in counts { out.append(o); o += c }
        return out
    }
}

/// The checks of the collectives whose lengths every rank knows in advance.
public enum KnownLengths {
    /// Throws unless `lengths` has one entry a rank, none negative, and this rank's is `own`.
    public static func check(_ lengths: [Int], own: Int, rank: Int, size: Int) throws {
        guard lengths.count == size, lengths.allSatisfy({ $0 >= 0 }), lengths[rank] == own else {
            throw CommunicatorError.mismatch("known lengths \(lengths) on rank \(rank) of \(size) (its own: \(own) bytes)")
        }
    }

    /// Throws unless the block from `source` has the length announced for it.
    public static func expect(_ view: UnsafeRawBufferPointer, from source: Int, _ lengths: [Int]) throws {
        guard source >= 0 && source < lengths.count && view.count == lengths[source] else {
            throw CommunicatorError.mismatch("a block of \(view.count) bytes from rank \(source), \(source >= 0 && source < lengths.count ? String(lengths[source]) : "none") announced")
        }
    }
}
