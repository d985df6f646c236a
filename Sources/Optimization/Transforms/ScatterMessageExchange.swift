import Communication
import Compression
import CSGDCore

/// A compressor that can be applied block by block: the compressor of the
/// same kind for a block of `length` of its d coordinates (TopK keeps the
/// same fraction K/d of each block, at least one; sign and fp64 are the same
/// compressor on fewer coordinates, each block with its own scale; QSGD
/// quantises each block with its own norm, in a 16-bit field, and
/// S·√(d_j/d) levels).
public protocol BlockCompressor: Compressor {
    func block(length: Int) -> Self
    /// The bits of every message, when they do not depend on the vector
    /// (every rank can then tell a block's length without being told);
    /// nil when they do (Elias-coded QSGD).
    var fixedBits: Int? { get }
}

extension TopK: BlockCompressor {
    public func block(length: Int) -> TopK {
        TopK(dimension: length, k: max(1, min(length, Int((Double(k) * Double(length) / Double(dimension)).rounded()))))
    }

    public var fixedBits: Int? { k * (32 + indexBits) }
}

extension ScaledSign: BlockCompressor {
    public func block(length: Int) -> ScaledSign { ScaledSign(dimension: length) }

    public var fixedBits: Int? { 32 + dimension }
}

/// A block of d_j coordinates, quantised with its own norm, gets
/// s_j = S·√(d_j/d) levels, exactly: ⌈s_j⌉ integer levels with the norm
/// field scaled by ⌈s_j⌉/s_j (`QSGD.normScale`), so its variance bound
/// β_j = min(d_j/s_j², √d_j/s_j) is the whole compressor's β = min(d/S², √d/S),
/// and its expected non-zeros, about s_j·‖v_j‖₁/‖v_j‖₂ (QSGD §3.2), add up
/// over the W blocks to the whole message's. With S levels on every block
/// the Elias-coded blocks would hold about √W times the whole message's
/// non-zeros (each block's norm is about 1/√W of the whole), so the bits
/// received would grow with W; rounding s_j up to an integer would add up
/// to 1/s_j more (7% at qsgd:15, W = 64). The blocks' norm fields have 16
/// bits (`QSGD.normBits`: the Float32's upper half, rounded up, which keeps
/// the message unbiased and grows β by at most 2⁻⁷), since 2(W − 1) 32-bit
/// norms weigh on the sparse Elias-coded blocks at large W. Below one level
/// (s_j < 1) a block takes 1, with the larger β of 1 level.
extension QSGD: BlockCompressor {
    public func block(length: Int) -> QSGD {
        let s = Double(levels) / Double(normScale) * (Double(length) / Double(dimension)).squareRoot()
        guard s > 1 else { return QSGD(dimension: length, levels: 1, coding: coding, normBits: 16) }
        let whole = min(levels, Int(s.rounded(.up)))
        return QSGD(dimension: length, levels: whole, coding: coding, normScale: max(1, Float(Double(whole) / s)), normBits: 16)
    }

    public var fixedBits: Int? { coding == .fixed ? normBits + dimension * fieldWidth : nil }
}

extension Float64Wire: BlockCompressor {
    public func block(length: Int) -> Float64Wire { Float64Wire(dimension: length) }

    public var fixedBits: Int? { 64 * dimension }
}

/// The two-stage exchange of DoubleSqueeze (Tang, Yu, Lian, Zhang & Liu,
/// *DoubleSqueeze: Parallel Stochastic Gradient Descent with Double-Pass
/// Error-Compensated Compression*, ICML 2019), with the owners of the
/// parameter server's role spread over the ranks, so that the bits a rank
/// receives do not grow with W.
///
/// The d coordinates are cut into W contiguous slices, slice j
/// (`d·j/W ..< d·(j+1)/W`, lengths differing by at most 1) owned by rank j.
/// - Stage 1 (every rank, inside error feedback): the compressor is applied
///   block-wise, C_B(v) = (C_{d_1}(v_1), …, C_{d_W}(v_W)), block j with the
///   key (seed, t, W·rank + j, `blockQuantization`); the residual v − C_B(v)
///   stays in the rank's error memory. Rank r sends block j to its owner j
///   (one all-to-all).
/// - Stage 2 (owner j): p̄_j = (1/W) Σ_r C_{d_j}(v_j⁽ʳ⁾), the decoded blocks
///   added in rank order (scaled by 1/W) from 0; q_j = e^s_j + p̄_j; u_j =
///   C_{d_j}(q_j) with the owner's key (seed, t, j, `ownerQuantization`);
///   e^s_j ← q_j − u_j, the owner's error memory (d/W floats a rank, in its
///   checkpoints). The u_j are all-gathered; every rank's update is
///   u = (u_1, …, u_W), the same bits everywhere, and x ← x − η u.
///
/// Bits: a rank sends its W − 1 blocks of stage 1 and u_r (counted once, as
/// the all-gather counts a message), and receives W − 1 blocks of its slice
/// and the W − 1 other slices' u_j: about 2(W − 1)/W of one whole message
/// plus W − 1 block headers each way (sign's and QSGD's 32-bit scale or norm;
/// TopK's indices get shorter, ⌈log₂ d_j⌉ bits; QSGD's fewer levels make
/// its fixed-width fields narrower), where the all-gather receives W − 1
/// whole messages.
///
/// Convergence. With g⁽ⁱ⁾_t the worker's noisy stochastic gradient,
/// p⁽ⁱ⁾_t = C_B(e⁽ⁱ⁾_t + g⁽ⁱ⁾_t), e⁽ⁱ⁾_{t+1} = e⁽ⁱ⁾_t + g⁽ⁱ⁾_t − p⁽ⁱ⁾_t,
/// e^s_{t+1} = e^s_t + p̄_t − u_t and x_{t+1} = x_t − η u_t, the virtual iterate
/// x̃_t = x_t − η(ē_t + e^s_t) (ē the mean of the workers' memories) obeys
///
///     x̃_{t+1} = x_t − η u_t − η(ē_t + ḡ_t − p̄_t + e^s_t + p̄_t − u_t) = x̃_t − η ḡ_t,
///
/// the same recursion as Algorithm 1's x̃_t = x_t − η ē_t (Avdiukhin &
/// Yaroslavtsev 2021), so its analysis of x̃ carries over unchanged. What
/// changes is the distance ‖x_t − x̃_t‖ = η‖ē_t + e^s_t‖ ≤ η(‖ē_t‖ + ‖e^s_t‖).
/// A block compressor with per-block contraction ‖C(v_j) − v_j‖² ≤
/// (1 − μ_j)‖v_j‖² contracts v by μ_B = min_j μ_j (sum the blocks), and per
/// block μ_j is of the whole compressor's class (TopK: k_j/d_j ≈ K/d; sign:
/// ‖v_j‖₁²/(d_j‖v_j‖₂²)), so the workers' memories obey the paper's bound with
/// μ_B. The owners' memory is error feedback of the second compressor on p̄:
/// by ‖a + b‖² ≤ (1 + μ/2)‖a‖² + (1 + 2/μ)‖b‖²,
/// ‖e^s_{t+1}‖² ≤ (1 − μ_B)‖e^s_t + p̄_t‖² ≤ (1 − μ_B/2)‖e^s_t‖² + (1 + 2/μ_B)‖p̄_t‖²,
/// hence sup_t ‖e^s_t‖² ≤ (2/μ_B)(1 + 2/μ_B) sup_t ‖p̄_t‖² ≤ (6/μ_B²) sup_t ‖p̄_t‖²,
/// and ‖p̄_t‖ ≤ max_i ‖e⁽ⁱ⁾_t + g⁽ⁱ⁾_t‖ for TopK and sign (‖C(v)‖ ≤ ‖v‖), a
/// quantity the paper's analysis already bounds: the error term grows by a
/// constant factor (1 + O(1/μ_B)), and the escape and convergence rates keep
/// their form with μ_B in place of μ.
///
/// Without error feedback (`memory` false: SGD, QSGD-SGD, perturbed SGD
/// with an unbiased compressor, `CompressMessage`) the owners keep no memory:
/// u_j = C_{d_j}(p̄_j) with the owner's key. For QSGD (Alistarh et al. 2017;
/// Kalan, Soltanolkotabi & Avestimehr 2019), E[C(v)] = v and
/// E‖C(v) − v‖² ≤ ω‖v‖², and a block of d_j coordinates with S·√(d_j/d)
/// levels has the whole compressor's ω = min(d/S², √d/S), so C_B has ω₁ = ω
/// (sum the blocks) and the owners' C_B too, ω₂ = ω. The keys of the blocks
/// and of the owners are distinct, so the roundings are independent given
/// the ranks' vectors g_i: E[p̄] = ḡ = (1/W) Σ_i g_i,
/// E‖p̄ − ḡ‖² = (1/W²) Σ_i E‖C_B(g_i) − g_i‖² ≤ (ω₁/W²) Σ_i ‖g_i‖², and
/// E[u | p̄] = p̄, so E[u] = ḡ (unbiased) and, the cross term vanishing,
///
///     E‖u − ḡ‖² = E‖u − p̄‖² + E‖p̄ − ḡ‖² ≤ ω₂ E‖p̄‖² + (ω₁/W²) Σ_i ‖g_i‖²,
///     E‖p̄‖² = ‖ḡ‖² + E‖p̄ − ḡ‖² ≤ ‖ḡ‖² + (ω₁/W²) Σ_i ‖g_i‖²,
///     E‖u − ḡ‖² ≤ ω₂ ‖ḡ‖² + (1 + ω₂)(ω₁/W²) Σ_i ‖g_i‖².
///
/// With E‖g_i‖² ≤ B² (the second-moment bound of QSGD's analysis) this
/// gives E‖u‖² ≤ (1 + ω)(1 + ω/W) B², against (1 + ω/W) B² for the
/// all-gathered mean: the update is still an unbiased stochastic gradient,
/// and Alistarh et al.'s and Kalan et al.'s QSGD guarantees hold with the
/// second moment larger by the factor 1 + ω (1.06 for 8-bit QSGD,
/// S = 127, on d = 1,000; √d/S on large d). fp64 is exact (ω = 0): the two
/// stages are a reduce-scatter and an all-gather, and u is the mean p̄ the
/// all-gather computes, added in the same rank order. A biased compressor
/// (TopK, sign) has no such bound without memory and is not given this
/// exchange (`Collective.scatters`).
final class ScatterMessageExchange<C: BlockCompressor>: MessageExchange {
    let typed: C
    let workers: Int
    /// Whether the owners keep an error memory e^s (error feedback) or
    /// compress p̄ alone (unbiased compressors without error feedback).
    let keepsMemory: Bool
    /// The compressor of each block and where its slice starts (W + 1 bounds).
    let blocks: [C]
    let bounds: [Int]
    /// This rank's stage-1 messages, one a block.
    var messages: [C.Message]
    /// The decode scratch of each block (stage 1: this rank's own slice; stage 2: every slice).
    var scratch: [C.Message]
    /// u_r, this rank's stage-2 message (made when it knows its rank).
    var owned: C.Message?
    /// e^s, this rank's owner memory, and p̄ of its slice: ⌈d/W⌉ floats each,
    /// the first d_r used (the rest stay zero), so the state has one size on
    /// every rank before the rank is known.
    let memory: FloatBuffer
    let mean: FloatBuffer
    var writer: BitWriter
    var ownerWriter: BitWriter
    var counts: [Int]
    /// Each block's bytes when every message of its compressor has the same
    /// length (`BlockCompressor.fixedBits`), so that the collectives need not
    /// exchange lengths first; nil otherwise.
    let blockBytes: [Int]?
    /// With `blockBytes`: what every rank sends this one in stage 1 (its own
    /// block's bytes, W times), made when the rank is known.
    var receiving: [Int] = []
    var compressor: any Compressor { typed }

    init(_ c: C, workers: Int, memory: Bool = true) {
        precondition(workers >= 1 && workers <= c.dimension, "the two-stage exchange needs d ≥ W")
        precondition(memory || c.isUnbiased, "the two-stage exchange without memory needs an unbiased compressor")
        typed = c
        self.workers = workers
        keepsMemory = memory
        let d = c.dimension
        bounds = (0...workers).map { d * $0 / workers }
        blocks = (0..<workers).map { c.block(length: d * ($0 + 1) / workers - d * $0 / workers) }
        messages = blocks.map { $0.makeMessage() }
        scratch = blocks.map { $0.makeMessage() }
        writer = BitWriter(reservingBits: 32 * d + 64 * workers)
        ownerWriter = BitWriter(reservingBits: 32 * (d / workers + 1) + 64)
        counts = [Int](repeating: 0, count: workers)
        let fixed = blocks.compactMap { $0.fixedBits.map { ($0 + 7) / 8 } }
        blockBytes = fixed.count == workers ? fixed : nil
        self.memory = FloatBuffer(count: memory ? (d + workers - 1) / workers : 0)
        mean = FloatBuffer(count: (d + workers - 1) / workers)
    }

    /// The slice of block j in a vector of d floats.
    private func slice(_ v: UnsafeMutableBufferPointer<Float>, _ j: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: v[bounds[j] ..< bounds[j + 1]])
    }

    /// Block j's key on the sender whose worker key is `key`.
    private func blockKey(_ key: RandomKey, sender: Int, block j: Int) -> RandomKey {
        key.with(purpose: .blockQuantization).forWorker(sender * workers + j)
    }

    private func ownerKey(_ key: RandomKey, owner j: Int) -> RandomKey {
        key.with(purpose: .ownerQuantization).forWorker(j)
    }

    /// e^s and p̄ of slice `rank` (their first d_rank floats).
    private func ownerBuffers(rank: Int) -> (UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) {
        if owned == nil { owned = blocks[rank].makeMessage() }
        let n = bounds[rank + 1] - bounds[rank]
        return (UnsafeMutableBufferPointer(rebasing: memory.buffer[0 ..< (keepsMemory ? n : 0)]), UnsafeMutableBufferPointer(rebasing: mean.buffer[0 ..< n]))
    }

    /// Stage 1 without communication: block-wise C_B(v); the bits of all W blocks.
    func compress(_ v: UnsafeBufferPointer<Float>, key: RandomKey) -> Int {
        compressBlocks(v, key: key, sender: Int(key.worker))
    }

    /// messages ← C_B(v), block j with the key of (sender, j); the bits of all W blocks.
    private func compressBlocks(_ v: UnsafeBufferPointer<Float>, key: RandomKey, sender: Int) -> Int {
        var bits = 0
        for j in 0..<workers {
            blocks[j].compress(UnsafeBufferPointer(rebasing: v[bounds[j] ..< bounds[j + 1]]),
                               key: blockKey(key, sender: sender, block: j), into: &messages[j])
            bits += blocks[j].bits(of: messages[j])
        }
        return bits
    }

    func compressKeepingResidual(_ v: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> Int {
        try checkSize(communicator)
        var bits = 0
        for j in 0..<workers {
            blocks[j].compressKeepingResidual(slice(v, j), key: blockKey(key, sender: communicator.rank, block: j), into: &messages[j])
            bits += blocks[j].bits(of: messages[j])
        }
        return bits
    }

    func compress(_ v: UnsafeBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> Int {
        try checkSize(communicator)
        return compressBlocks(v, key: key, sender: communicator.rank)
    }

    func subtractMessage(from v: UnsafeMutableBufferPointer<Float>) {
        for j in 0..<workers { blocks[j].add(messages[j], scaledBy: -1, into: slice(v, j)) }
    }

    private func checkSize(_ comm: Communicator) throws {
        guard comm.size == workers else {
            throw CommunicatorError.mismatch("two-stage exchange made for \(workers) rank(s), run on \(comm.size)")
        }
    }

    /// The owner memory e^s of this rank's slice, padded with zeros to ⌈d/W⌉ floats.
    var ownerMemory: UnsafeMutableBufferPointer<Float>? { keepsMemory ? memory.buffer : nil }

    func average(into avg: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator comm: Communicator) throws -> (Int, Int) {
        try checkSize(comm)
        let w = workers, r = comm.rank
        let (es, pbar) = ownerBuffers(rank: r)
        // Stage 1: block j of every rank to its owner j.
        writer.reset()
        var upload = 0
        for j in 0..<w {
            let before = writer.bitCount / 8
            blocks[j].encode(messages[j], into: &writer)
            writer.padToByte()
            counts[j] = writer.bitCount / 8 - before
            if j != r { upload += blocks[j].bits(of: messages[j]) }
        }
        let scale = 1 / Float(w)
        let mine = blocks[r]
        let p = pbar
        Kernels.zero(p)
        var download = 0
        func receive(_ s: Int, _ block: UnsafeRawBufferPointer) throws {
            if s == r {
                mine.add(messages[r], scaledBy: scale, into: p)
                return
            }
            var reader = BitReader(block)
            try mine.decode(from: &reader, key: blockKey(key, sender: s, block: r), into: &scratch[r])
            try reader.finish()
            download += mine.bits(of: scratch[r])
            mine.add(scratch[r], scaledBy: scale, into: p)
        }
        try writer.bytes.withUnsafeBytes { bytes in
            if let sizes = blockBytes {
                // Every block's length is known to every rank: no lengths are exchanged.
                guard counts == sizes else { throw CommunicatorError.mismatch("two-stage blocks of \(counts) bytes, \(sizes) expected") }
                if receiving.count != w { receiving = [Int](repeating: sizes[r], count: w) }
                try comm.allToAll(bytes, counts: counts, receiving: receiving, receive)
            } else {
                try comm.allToAll(bytes, counts: counts, receive)
            }
        }
        let ownKey = ownerKey(key, owner: r)
        if keepsMemory {
            // q = e^s + p̄; u = C(q) with the owner's key; e^s ← q − u.
            let e = es
            let n = e.count
            if n > 0 {
                let ep = e.baseAddress!, pp = UnsafePointer(p.baseAddress!)
                for i in 0..<n { ep[i] += pp[i] }
            }
            mine.compressKeepingResidual(e, key: ownKey, into: &owned!)
        } else {
            // u = C(p̄) with the owner's key, no memory.
            mine.compress(UnsafeBufferPointer(p), key: ownKey, into: &owned!)
        }
        upload += mine.bits(of: owned!)
        // Stage 2: all-gather the owners' u_j; the update is their concatenation.
        ownerWriter.reset()
        mine.encode(owned!, into: &ownerWriter)
        ownerWriter.padToByte()
        func gathered(_ s: Int, _ block: UnsafeRawBufferPointer) throws {
            guard s >= 0 && s < w else { throw CommunicatorError.mismatch("two-stage exchange: message from rank \(s) of \(w)") }
            let out = slice(avg, s)
            if s == r {
                mine.decompress(owned!, into: out)
                return
            }
            var reader = BitReader(block)
            try blocks[s].decode(from: &reader, key: ownerKey(key, owner: s), into: &scratch[s])
            try reader.finish()
            download += blocks[s].bits(of: scratch[s])
            blocks[s].decompress(scratch[s], into: out)
        }
        try ownerWriter.bytes.withUnsafeBytes { bytes in
            if let sizes = blockBytes {
                try comm.allGather(bytes, lengths: sizes, gathered)
            } else {
                try comm.allGather(bytes, gathered)
            }
        }
        return (upload, download)
    }

    func sparseCapacity(workers: Int) -> Int? { nil }

    func averageSparse(into out: SparseUpdate, zeroed: UnsafeMutableBufferPointer<Float>, key: RandomKey, communicator: Communicator) throws -> (Int, Int) {
        preconditionFailure("the two-stage exchange gives a dense update")
    }
}
