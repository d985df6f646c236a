#if MPI
import CMPI
import Communication
import CSGDCore
import Distributed
import Foundation

/// The `Communicator` over Open MPI: one process a rank, launched by
/// `mpirun -np W`. Built only with the package trait `MPI`
/// (`swift build --traits MPI`).
///
/// Its float all-reduce is a rank-ordered reduce-scatter (`MPI_Alltoallv`)
/// followed by an all-gather of the reduced slices (`MPI_Allgatherv`),
/// summing element `i` as `((b₀ + b₁) + b₂) + …` exactly as the in-process
/// fabric does. `MPI_Allreduce` would move the same number of bytes but may
/// associate the sum differently for W > 2 (its algorithm depends on message
/// size and W), so runs under mpirun would not replay bit for bit against
/// `--backend inproc`. Byte messages use `MPI_Allgather` of the lengths and
/// `MPI_Allgatherv` of the bytes. Errors are returned, not fatal, and thrown
/// as `CommunicatorError`; `abort` prints its reason and calls `MPI_Abort`,
/// which ends every rank.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    let world: MPI_Comm
    var counts: [Int32], displs: [Int32]
    var scratch: FloatBuffer

    /// Initialises MPI (once per process) and joins `MPI_COMM_WORLD`.
    public init() throws {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            let rc = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
            guard rc == csgd_mpi_success() else { throw CSGDError("MPI_Init failed: \(Self.message(rc))") }
        }
        world = csgd_mpi_comm_world()
        MPI_Comm_set_errhandler(world, csgd_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        rank = Int(r)
        size = Int(s)
        counts = Array(repeating: 0, count: Int(s))
        displs = Array(repeating: 0, count: Int(s))
        scratch = FloatBuffer(count: 0)
    }

    /// Ends MPI for this process; call once, after the last collective.
    public static func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// True when this process was started by mpirun (Open MPI sets these).
    public static var launchedByMPIRun: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    static func message(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: Int(csgd_mpi_max_error_string()) + 1)
        var len: Int32 = 0
        MPI_Error_string(code, &buf, &len)
        return String(decoding: buf.prefix(Int(len)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func check(_ rc: Int32, _ what: String) throws {
        guard rc != csgd_mpi_success() else { return }
        throw CommunicatorError.mismatch("\(what) failed on rank \(rank): \(Self.message(rc))")
    }

    /// Slice boundaries of the reduce-scatter, as the in-process fabric's.
    func slice(_ r: Int, of n: Int) -> (lo: Int, hi: Int) { (n * r / size, n * (r + 1) / size) }

    /// The all-reduce's per-rank counts and offsets for n floats, kept
    /// between calls (a run all-reduces the same n every step).
    struct SliceTable {
        var n = -1
        var sendCounts: [Int32] = [], sendDispls: [Int32] = [], recvCounts: [Int32] = [], recvDispls: [Int32] = []
    }
    var table = SliceTable()

    func sliceTable(for n: Int) -> SliceTable {
        if table.n == n { return table }
        let (lo, hi) = slice(rank, of: n)
        var t = SliceTable(n: n)
        for j in 0..<size {
            let (a, b) = slice(j, of: n)
            t.sendCounts.append(Int32(b - a)); t.sendDispls.append(Int32(a))
            t.recvCounts.append(Int32(hi - lo)); t.recvDispls.append(Int32(j * (hi - lo)))
        }
        table = t
        if scratch.count < (hi - lo) * size { scratch = FloatBuffer(count: (hi - lo) * size + size) }
        return t
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        if size == 1 { return }
        let n = buffer.count
        guard n < Int(Int32.max) else { throw CommunicatorError.mismatch("all-reduce of \(n) floats exceeds MPI's 32-bit counts") }
        let (lo, hi) = slice(rank, of: n)
        let mine = hi - lo
        // Rank j receives everyone's slice j, in rank order.
        let t = sliceTable(for: n)
        let s = scratch.buffer.baseAddress!
        try check(MPI_Alltoallv(buffer.baseAddress, t.sendCounts, t.sendDispls, csgd_mpi_float(),
                                s, t.recvCounts, t.recvDispls, csgd_mpi_float(), world), "MPI_Alltoallv")
        let out = buffer.baseAddress! + lo
        for i in 0..<mine { out[i] = s[i] }
        for r in 1..<size {
            let p = s + r * mine
            for i in 0..<mine { out[i] += p[i] }
        }
        try check(MPI_Allgatherv(csgd_mpi_in_place(), 0, csgd_mpi_float(), buffer.baseAddress, t.sendCounts, t.sendDispls,
                                 csgd_mpi_float(), world), "MPI_Allgatherv")
    }

    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        if size == 1 { return [bytes] }
        guard bytes.count < Int(Int32.max) else { throw CommunicatorError.mismatch("message of \(bytes.count) bytes exceeds MPI's 32-bit counts") }
        var mine = Int32(bytes.count)
        try check(MPI_Allgather(&mine, 1, csgd_mpi_int(), &counts, 1, csgd_mpi_int(), world), "MPI_Allgather")
        var total = 0
        for r in 0..<size { displs[r] = Int32(total); total += Int(counts[r]) }
        guard total < Int(Int32.max) else { throw CommunicatorError.mismatch("gathered messages of \(total) bytes exceed MPI's 32-bit counts") }
        var all = [UInt8](repeating: 0, count: max(total, 1))
        try bytes.withUnsafeBytes { src in
            try all.withUnsafeMutableBytes { dst in
                try check(MPI_Allgatherv(src.baseAddress, mine, csgd_mpi_byte(), dst.baseAddress, counts, displs,
                                         csgd_mpi_byte(), world), "MPI_Allgatherv")
            }
        }
        return (0..<size).map { r in Array(all[Int(displs[r]) ..< Int(displs[r]) + Int(counts[r])]) }
    }

    /// The bytes of `allGather(_:lengths:_:)`, kept between calls.
    var gatherBytes = [UInt8]()

    /// The lengths are known: `MPI_Allgatherv` alone, straight from the
    /// caller's buffer, the blocks handed to `body` in rank order.
    public func allGather(_ bytes: UnsafeRawBufferPointer, lengths: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        try KnownLengths.check(lengths, own: bytes.count, rank: rank, size: size)
        if size == 1 { return try body(0, bytes) }
        var total = 0
        for r in 0..<size {
            guard lengths[r] < Int(Int32.max) - total else { throw CommunicatorError.mismatch("gathered messages exceed MPI's 32-bit counts") }
            counts[r] = Int32(lengths[r]); displs[r] = Int32(total); total += lengths[r]
        }
        if gatherBytes.count < max(total, 1) { gatherBytes = [UInt8](repeating: 0, count: max(total, 1)) }
        var one: UInt8 = 0
        try withUnsafeMutablePointer(to: &one) { dummy in
            try gatherBytes.withUnsafeMutableBytes { dst in
                try check(MPI_Allgatherv(bytes.baseAddress ?? UnsafeRawPointer(dummy), Int32(bytes.count), csgd_mpi_byte(), dst.baseAddress,
                                         counts, displs, csgd_mpi_byte(), world), "MPI_Allgatherv")
            }
        }
        try gatherBytes.withUnsafeBytes { raw in
            for r in 0..<size {
                let lo = Int(displs[r])
                try body(r, UnsafeRawBufferPointer(rebasing: raw[lo ..< lo + Int(counts[r])]))
            }
        }
    }

    /// Send and receive buffers of `allToAll`, kept between calls.
    var alltoallSend: [Int32] = [], alltoallRecv: [Int32] = [], alltoallSendDispls: [Int32] = [], alltoallRecvDispls: [Int32] = []
    var alltoallBytes = [UInt8]()

    /// `MPI_Alltoall` of the block lengths, then `MPI_Alltoallv` of the
    /// bytes straight from the caller's buffer; blocks are handed to `body`
    /// in rank order.
    public func allToAll(_ bytes: UnsafeRawBufferPointer, counts: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        try allToAll(bytes, counts: counts, known: nil, body)
    }

    /// The counts every rank addresses to this one are known: no `MPI_Alltoall` of them.
    public func allToAll(_ bytes: UnsafeRawBufferPointer, counts: [Int], receiving: [Int], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        try KnownLengths.check(receiving, own: counts.indices.contains(rank) ? counts[rank] : -1, rank: rank, size: size)
        try allToAll(bytes, counts: counts, known: receiving, body)
    }

    private func allToAll(_ bytes: UnsafeRawBufferPointer, counts: [Int], known: [Int]?, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        try AllToAllBlocks.check(bytes: bytes.count, counts: counts, size: size)
        if size == 1 { return try body(0, bytes) }
        guard bytes.count < Int(Int32.max) else { throw CommunicatorError.mismatch("all-to-all of \(bytes.count) bytes exceeds MPI's 32-bit counts") }
        alltoallSend = counts.map { Int32($0) }
        alltoallSendDispls = AllToAllBlocks.offsets(counts).map { Int32($0) }
        if let known {
            guard known.allSatisfy({ $0 < Int(Int32.max) }) else { throw CommunicatorError.mismatch("all-to-all block exceeds MPI's 32-bit counts") }
            alltoallRecv = known.map { Int32($0) }
        } else {
            if alltoallRecv.count != size { alltoallRecv = [Int32](repeating: 0, count: size) }
            try check(MPI_Alltoall(alltoallSend, 1, csgd_mpi_int(), &alltoallRecv, 1, csgd_mpi_int(), world), "MPI_Alltoall")
        }
        let total = alltoallRecv.reduce(0) { $0 + Int($1) }
        guard total < Int(Int32.max) else { throw CommunicatorError.mismatch("all-to-all receiving \(total) bytes exceeds MPI's 32-bit counts") }
        alltoallRecvDispls = AllToAllBlocks.offsets(alltoallRecv.map { Int($0) }).map { Int32($0) }
        if alltoallBytes.count < max(total, 1) { alltoallBytes = [UInt8](repeating: 0, count: max(total, 1)) }
        // Open MPI reads no bytes from a null buffer when all its counts are 0, but wants a valid address.
        var one: UInt8 = 0
        try withUnsafeMutablePointer(to: &one) { dummy in
            try alltoallBytes.withUnsafeMutableBytes { dst in
                try check(MPI_Alltoallv(bytes.baseAddress ?? UnsafeRawPointer(dummy), alltoallSend, alltoallSendDispls, csgd_mpi_byte(),
                                        dst.baseAddress, alltoallRecv, alltoallRecvDispls, csgd_mpi_byte(), world), "MPI_Alltoallv")
            }
        }
        try alltoallBytes.withUnsafeBytes { raw in
            for s in 0..<size {
                let lo = Int(alltoallRecvDispls[s])
                try body(s, UnsafeRawBufferPointer(rebasing: raw[lo ..< lo + Int(alltoallRecv[s])]))
            }
        }
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        if size == 1 { return }
        guard buffer.count < Int(Int32.max) else { throw CommunicatorError.mismatch("broadcast of \(buffer.count) floats exceeds MPI's 32-bit counts") }
        try check(MPI_Bcast(buffer.baseAddress, Int32(buffer.count), csgd_mpi_float(), Int32(root), world), "MPI_Bcast")
    }

    public func barrier() throws {
        try check(MPI_Barrier(world), "MPI_Barrier")
    }

    public func abort(reason: String) {
        FileHandle.standardError.write(Data("csgd: error: rank \(rank) stops the run: \(CSGDError.oneLine(reason))\n".utf8))
        MPI_Abort(world, 3)
    }
}
#endif
