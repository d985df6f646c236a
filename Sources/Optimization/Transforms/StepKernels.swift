import CSGDCore

/// The fused elementwise loops of a step: each is one pass over d floats
/// doing the work of several (noise generation, memory add, the squared norm
/// of the gradient read on the way). The Float operations are the ones of the
/// unfused sequence they replace, in the same order, so fusing changes no bit:
/// `compensate` equals `RandomFill.gaussian(accumulate:)` into v followed by
/// e ← v + e, and the norms equal `Kernels.sumSquares` (same 1024-blocks,
/// SIMD16 lanes, its rule for blocks whose Float sum is not ordinary,
/// Double across blocks).
enum StepKernels {
    static let block = 1024
    /// Blocks a call of the fused noise pass covers (64 K elements).
    static let noiseChunk = 64

    @inline(__always) static func load16(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always) static func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// e ← (v + σ·ξ) + e with ξ the Gaussian stream of `noise` (or e ← v + e
    /// without noise). Returns Σv². With a splitter (and d ≥ 2¹⁶) the whole
    /// blocks are shared among its threads, each block's Σv² kept in `sums`
    /// (one Double a block) and added in block order afterwards: the same
    /// bits as one thread.
    static func compensate(_ v: UnsafeBufferPointer<Float>, noise: NoiseDraw?, into e: UnsafeMutableBufferPointer<Float>,
                           splitter: PassSplitter? = nil, sums: BlockSums? = nil, pass: CompensatePass? = nil) -> Double {
        precondition(v.count == e.count, "size mismatch")
        let n = v.count
        guard n > 0 else { return 0 }
        let pv = v.baseAddress!, pe = e.baseAddress!
        let blocks = n / block
        var total = 0.0
        if let splitter, let sums, blocks >= 64 {
            precondition(sums.count >= blocks, "block sums too small")
            let job = pass ?? CompensatePass()
            job.v = pv; job.e = pe; job.noise = noise; job.blocks = blocks; job.sums = sums.pointer
            splitter.run(job)
            for b in 0..<blocks { total += sums.pointer[b] }
        } else {
            total = compensateBlocks(pv, noise, pe, 0..<blocks, sums: nil)
        }
        let full = blocks * block
        if full < n {
            // The last partial block: its norm as Kernels does it, then the update.
            total += Kernels.sumSquares(UnsafeBufferPointer(rebasing: v[full...]))
            if let noise {
                let s = noise.sigma
                GaussianSIMD.forEachRun(noise.key, count: n - full, offset: full) { j, z, m in
                    for k in 0..<m { pe[full + j + k] = (pv[full + j + k] + s * z[k]) + pe[full + j + k] }
                }
            } else {
                for i in full..<n { pe[i] = pv[i] + pe[i] }
            }
        }
        return total
    }

    /// `compensate` on whole blocks `range`: returns their Σv² added in
    /// order, and stores each block's into `sums[b]` when given.
    static func compensateBlocks(_ pv: UnsafePointer<Float>, _ noise: NoiseDraw?, _ pe: UnsafeMutablePointer<Float>,
                                 _ range: Range<Int>, sums: UnsafeMutablePointer<Double>?) -> Double {
        var total = 0.0
        // Kernels.sumSquares' rule for a block: its Float sum when that is
        // finite and not tiny, else its own exact recount.
        @inline(__always) func finish(_ b: Int, _ acc: SIMD16<Float>) {
            let f = acc.sum()
            let blockSum = f.isFinite && f >= 0x1p-60 ? Double(f) : Kernels.sumSquares(UnsafeBufferPointer(start: pv + b * block, count: block))
            sums?[b] = blockSum
            total += blockSum
        }
        if let noise {
            // The noise, the memory update and the lane sums of v² in one C
            // pass (GaussianSIMD's stream, the same Float operations), a
            // chunk of blocks a call.
            withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: noiseChunk) { accs in
                var b = range.lowerBound
                while b < range.upperBound {
                    let m = min(noiseChunk, range.upperBound - b)
                    let start = b * block
                    GaussianSIMD.compensate(noise.key, firstGroup: UInt32(truncatingIfNeeded: start / GaussianSIMD.groupSize),
                                            count: m * block / GaussianSIMD.groupSize, sigma: noise.sigma,
                                            v: pv + start, e: pe + start, laneSums: accs.baseAddress!)
                    for j in 0..<m { finish(b + j, accs[j]) }
                    b += m
                }
            }
            return total
        }
        for b in range {
            let start = b * block
            var acc = SIMD16<Float>()
            var i = start
            while i < start + block {
                for c in 0..<4 {
                    let a = load16(pv, i + 16 * c)
                    acc += a * a
                    store16(a + load16(pe, i + 16 * c), pe, i + 16 * c)
                }
                i += 64
            }
            finish(b, acc)
        }
        return total
    }

    /// x ← x + (−η)·u over the listed coordinates (`axpy`'s rounding:
    /// multiply, then add). Zero values (the repeats of an index) are
    /// skipped: x + (−η)·(+0) = x for every x, ±0 included, so skipping
    /// changes no bit and saves the random accesses.
    static func sparseStep(_ x: UnsafeMutableBufferPointer<Float>, minusEta a: Float, _ u: SparseUpdate) {
        let px = x.baseAddress!
        for j in 0..<u.count {
            let v = u.values[j]
            if v.bitPattern == 0 { continue }
            let i = Int(u.indices[j])
            px[i] = px[i] + a * v
        }
    }
}

/// σ·ξ with ξ ~ N(0, I) the Gaussian stream of `key`: the perturbation
/// error feedback adds in its pass.
public struct NoiseDraw: Sendable {
    public var sigma: Float
    public var key: RandomKey
    public init(sigma: Float, key: RandomKey) { self.sigma = sigma; self.key = key }
}

/// `compensate` as a `SplitPass`: its arguments, set before each run.
final class CompensatePass: SplitPass {
    var v: UnsafePointer<Float>?
    var e: UnsafeMutablePointer<Float>?
    var noise: NoiseDraw?
    var blocks = 0
    var sums: UnsafeMutablePointer<Double>?

    func run(part: Int, of ways: Int) {
        _ = StepKernels.compensateBlocks(v!, noise, e!, blocks * part / ways ..< blocks * (part + 1) / ways, sums: sums)
    }
}

/// One Double a block of `StepKernels.block` floats (per-block partial sums).
final class BlockSums {
    let count: Int
    let pointer: UnsafeMutablePointer<Double>
    init(dimension: Int) {
        count = max(1, dimension / StepKernels.block)
        pointer = .allocate(capacity: count)
        pointer.initialize(repeating: 0, count: count)
    }
    deinit { pointer.deallocate() }
}
