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
