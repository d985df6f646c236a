import CSGDCore

/// A `Communicator` decorator that times every collective and counts the
/// payload bytes this rank sends and receives, splitting a run's wall time
/// into communication (inside a collective, waiting for the slowest rank
/// included) and compute (everything else). `InProcessRun` and `MPIRun` wrap
/// every rank's communicator in one; the cost is two monotonic clock reads a
/// collective.
///
/// Bytes are those of a direct exchange, each message once to each rank that
/// needs it, with the slices of the rank-ordered reduce-scatter both
/// back-ends use: `allReduceSum` of n floats sends the n − m floats of the
/// other ranks' slices and its own m-float reduced slice to each of the W − 1
/// others (and receives as many); `allGather` of b bytes sends b to each of
/// the W − 1 others and receives every other rank's message; `allToAll`
/// sends each other rank the block addressed to it and receives the block
/// each addressed to this rank; `broadcast` of n floats sends n·(W − 1) from the root and receives n elsewhere; a barrier
/// moves nothing. Headers, the lengths Open MPI exchanges before a variable
/// gather, and relaying inside MPI's algorithms are not counted: the
/// interface counters of `scripts/netbench` show the real total.
///
/// One rank's decorator is used by that rank's thread only; read its totals
/// on that thread or after the rank has finished.
public final class TimedCommunicator: Communicator, @unchecked Sendable {
    /// The communicator doing the work.
    public let base: Communicator
    /// Seconds spent inside collectives (minus the caller's gather bodies).
    public private(set) var communicationSeconds = 0.0
    /// Payload bytes this rank sent, by the direct-exchange model above.
    public private(set) var bytesSent = 0
    /// Payload bytes this rank received, by the same model.
    public private(set) var bytesReceived = 0
    /// Collectives called.
    public private(set) var collectives = 0

    public init(_ base: Communicator) { self.base = base }

    /// Runs `body` without counting its collectives (bytes, time, calls):
    /// for bookkeeping exchanges that are not the method's traffic, such as
    /// a checkpoint's agreement, so that a run resumed from a checkpoint
    /// reports the same traffic as one that never stopped.
    public func uncounted<T>(_ body: () throws -> T) rethrows -> T {
        let saved = (bytesSent, bytesReceived, communicationSeconds, collectives)
        defer { (bytesSent, bytesReceived, communicationSeconds, collectives) = saved }
        return try body()
    }

    /// Sets the totals to those of the part of the run before a resume
    /// (kept in its checkpoint), so that a resumed run reports the whole
    /// run's traffic. A restore replaces a rank's state, so what this
    /// instance counted before is replaced too (a resume's own exchanges
    /// before it restores are `uncounted`).
    public func resumeTotals(bytesSent sent: Int, bytesReceived received: Int, communicationSeconds seconds: Double) {
        bytesSent = sent
        bytesReceived = received
        communicationSeconds = seconds
    }

    public var rank: Int { base.rank }
    public var size: Int { base.size }

    /// Runs one collective, adding its duration to the communication time.
    @inline(__always)
    private func timed<T>(_ body: () throws -> T) rethrows -> T {
        let t0 = Clock.now()
        defer {
            communicationSeconds += Clock.now() - t0
            collectives += 1
        }
        return try body()
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try timed { try base.allReduceSum(buffer) }
        countAllReduce(buffer.count)
    }

    /// The base's, timed; `body`'s own time counts as communication too
    /// (it runs inside the collective, before its last barrier).
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, reading body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        try timed { try base.allReduceSum(buffer, reading: body) }
        countAllReduce(buffer.count)
    }

    /// The traffic of an all-reduce of n floats (see the type's model).
    private func countAllReduce(_ n: Int) {
        let w = size
        guard w > 1 else { return }
        let mine = n * (rank + 1) / w - n * rank / w
        let floats = (n - mine) + mine * (w - 1)
        bytesSent += 4 * floats
        bytesReceived += 4 * floats
    }

    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        let all = try timed { try base.allGather(bytes) }
        count(own: bytes.count, all: all.map(\.count))
        return all
    }

    public func allGather(_ bytes: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let received = try metered(body) { try base.allGather(bytes, $0) }
        count(own: bytes.count, all: received)
    }

    public func allGather(_ bytes: UnsafeRawBufferPointer, lengths: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let received = try metered(body) { try base.allGather(bytes, lengths: lengths, $0) }
        count(own: bytes.count, all: received)
    }

    /// Sends the blocks addressed to the W − 1 others, receives theirs (the
    /// block to itself moves nothing).
    public func allToAll(_ bytes: UnsafeRawBufferPointer, counts: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let received = try metered(body) { try base.allToAll(bytes, counts: counts, $0) }
        countAllToAll(counts: counts, received: received)
    }

    public func allToAll(_ bytes: UnsafeRawBufferPointer, counts: [Int], receiving: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let received = try metered(body) { try base.allToAll(bytes, counts: counts, receiving: receiving, $0) }
        countAllToAll(counts: counts, received: received)
    }

    /// Runs a collective that hands blocks to `body` (`collective` gets the
    /// metered body); returns the length of each sender's block. Its time,
    /// less the body's, is communication (`close`).
    private func metered(_ body: (Int, UnsafeRawBufferPointer) throws -> Void,
                         _ collective: ((Int, UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> [Int] {
        var meter = BodyMeter(size: size)
        let t0 = Clock.now()
        defer { close(meter, since: t0) }
        // `body` runs only inside `collective` (Swift cannot see that a
        // closure passed to a closure parameter does not escape).
        try withoutActuallyEscaping(body) { body in try collective { try meter.pass($0, $1, body) } }
        return meter.lengths
    }

    /// The blocks addressed to the W − 1 others are sent, theirs received.
    private func countAllToAll(counts: [Int], received: [Int]) {
        let me = rank
        for (j, c) in counts.enumerated() where j != me { bytesSent += c }
        for (s, c) in received.enumerated() where s != me { bytesReceived += c }
    }

    /// A collective that hands blocks to the caller's body ends: its time,
    /// less the body's (the caller's decoding is compute), is communication.
    private func close(_ meter: BodyMeter, since t0: Double) {
        communicationSeconds += Clock.now() - t0 - meter.inBody
        collectives += 1
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try timed { try base.broadcast(buffer, root: root) }
        let w = size
        guard w > 1 else { return }
        if rank == root { bytesSent += 4 * buffer.count * (w - 1) } else { bytesReceived += 4 * buffer.count }
    }

    public func barrier() throws { try timed { try base.barrier() } }

    public func abort(reason: String) { base.abort(reason: reason) }

    private func count(own: Int, all lengths: [Int]) {
        let w = size
        guard w > 1 else { return }
        bytesSent += own * (w - 1)
        for (r, b) in lengths.enumerated() where r != rank { bytesReceived += b }
    }
}

/// What a collective with a body sees: the time spent in the caller's body
/// and the bytes each source's block had.
private struct BodyMeter {
    var inBody = 0.0
    var lengths: [Int]

    init(size: Int) { lengths = [Int](repeating: 0, count: size) }

    mutating func pass(_ r: Int, _ view: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let b0 = Clock.now()
        defer { inBody += Clock.now() - b0 }
        if r >= 0 && r < lengths.count { lengths[r] = view.count }
        try body(r, view)
    }
}
