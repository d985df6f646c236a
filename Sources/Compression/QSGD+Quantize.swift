import CSGDCore

// QSGD's quantization kernel: the per-call constants, the chunked parallel
// driver, the SIMD block kernel with its tie patch (S ≤ 8191) and the scalar
// path (larger S). The random words are the key's Philox blocks, computed in
// bulk by `Philox4x32.fours` and `Philox4x32.blocks(_:at:)` (the shared C
// implementations, sixteen blocks at a time on AVX-512) or one at a time by
// `RandomKey.block`. The rounding rule it implements, bit for bit, is
// documented on `QSGD`.

extension QSGD {
    /// The constants of one `compress` call (see the rounding rule on `QSGD`).
    struct QuantParams {
        /// The stream of the random words.
        var key: RandomKey
        var levels: Int
        var width: Int
        /// σ: r_i = x_i·σ, |r_i| ≤ 256·S.
        var sigma: Float

        /// `norm` and `maxAbs` already scaled by 2^64 for tiny norms; `maxAbs`
        /// may be 0 when it is known not to constrain σ.
        init(key: RandomKey, levels: Int, width: Int, norm n: Float, maxAbs m: Float) {
            self.key = key
            self.levels = levels
            self.width = width
            let limit = Float(256 * levels)
            // σ = 256·S/N, lowered (rarely) until max|x_i|·σ ≤ 256·S.
            var s = limit / n
            if m * s > limit { s = limit / m }
            while m * s > limit { s = s.nextDown }
            sigma = s
        }

        /// `key.block(counter)`.
        @inline(__always) func block(_ counter: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
            key.block(counter)
        }
    }
}

extension QSGD {
    /// Coordinates a parallel task handles (a multiple of 1024 and of 128).
    static let chunkSize = 32768
    /// Below this d everything runs on the calling thread.
    static let parallelThreshold = 65536
    /// Levels up to this use the SIMD kernel: it needs |r| ≤ 256·S < 2^22 and
    /// 22 − 8 ≥ w bits of ⌊r⌋/256 from the Float's mantissa.
    static let simdLevelLimit = 8191
    /// 1.5·2^23: adding it rounds a Float in [−2^22, 2^22] to an integer.
    static let magic: Float = 0x1.8p23

    /// Runs `body(0..<n)` on the calling thread and Dispatch's workers
    /// (`ParallelLoop`); every caller gives each index disjoint memory.
    static func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        ParallelLoop.run(n, body)
    }

    /// Writes the whole field stream of Q(x) (all words, tail included).
    static func quantize(_ x: UnsafePointer<Float>, dimension d: Int, params p: QuantParams, out: UnsafeMutablePointer<UInt32>) {
        let blocks = d / 128
        let perChunk = chunkSize / 128
        let parallel = d >= parallelThreshold
        let chunks = parallel ? (blocks + perChunk - 1) / perChunk : (blocks > 0 ? 1 : 0)
        parallelFor(chunks) { i in
            // Last chunk first: the end of x is what the norm pass left in cache.
            let c = parallel ? chunks - 1 - i : i
            let range = parallel ? (c * perChunk)..<min(blocks, (c + 1) * perChunk) : 0..<blocks
            if p.levels <= simdLevelLimit {
                quantizeBlocksSIMD(x, blocks: range, params: p, out: out)
            } else {
                quantizeBlocksScalar(x, blocks: range, params: p, out: out)
            }
        }
        // Tail: plain consecutive fields after the full blocks.
        let full = blocks * 128
        let w = p.width
        let words = fieldWords(dimension: d, width: w)
        for j in (full * w / 32)..<words { out[j] = 0 }
        var bit = full * w
        for i in full..<d {
            writeField(out, bit: bit, width: w, level(x[i], index: i, p))
            bit += w
        }
    }

    /// The top byte of u_i: byte c of word a of Philox block 4q + b, for
    /// i = 64q + 16a + 4c + b.
    @inline(__always)
    static func uniformTop(_ i: Int, _ p: QuantParams) -> UInt32 {
        let w = p.block(UInt32(truncatingIfNeeded: (i >> 6) << 2 | (i & 3)))
        let word: UInt32
        switch (i >> 4) & 3 {
        case 0: word = w.0
        case 1: word = w.1
        case 2: word = w.2
        default: word = w.3
        }
        return (word >> UInt32(8 * ((i >> 2) & 3))) & 0xFF
    }

    /// The low 24 bits of u_i: the low 24 bits of word i mod 4 of Philox
    /// block 2^31 + ⌊i/4⌋ (a counter range the top bytes never reach).
    @inline(__always)
    static func uniformLow(_ i: Int, _ p: QuantParams) -> UInt32 {
        let w = p.block(0x8000_0000 | UInt32(truncatingIfNeeded: i >> 2))
        let word: UInt32
        switch i & 3 {
        case 0: word = w.0
        case 1: word = w.1
        case 2: word = w.2
        default: word = w.3
        }
        return word & 0xFF_FFFF
    }

    /// The 32-bit uniform word u_i = top byte · 2^24 + low 24 bits.
    static func uniform(_ i: Int, _ p: QuantParams) -> UInt32 {
        uniformTop(i, p) << 24 | uniformLow(i, p)
    }

    /// The signed level of coordinate i (value `x`): the rounding rule, one
    /// coordinate at a time and exact in Double (the tail of d mod 128
    /// coordinates, and every coordinate when S > 8191).
    @inline(__always)
    static func level(_ x: Float, index i: Int, _ p: QuantParams) -> Int32 {
        let q = Double(x * p.sigma) / 256                 // exact
        let h = q.rounded(.down)
        let f = q - h                                     // exact, [0, 1)
        let up = Double(uniform(i, p)) < f * 0x1p32
        return Int32(h) + (up ? 1 : 0)
    }

    /// Full blocks for S > 8191, one coordinate at a time.
    static func quantizeBlocksScalar(_ x: UnsafePointer<Float>, blocks: Range<Int>, params p: QuantParams, out: UnsafeMutablePointer<UInt32>) {
        let w = p.width
        for b in blocks {
            let o = out + b * 4 * w
            for j in 0..<(4 * w) { o[j] = 0 }
            for r in 0..<128 {
                let i = b * 128 + r
                let k = r / 4, l = r % 4
                let v = level(x[i], index: i, p)
                // Lane l's stream: word j of the lane is o[4j + l].
                let u = UInt64(UInt32(bitPattern: v) & (w == 32 ? UInt32.max : (1 << UInt32(w)) &- 1))
                let bit = k * w, j = bit >> 5, sh = bit & 31
                let s = u << UInt64(sh)
                o[4 * j + l] |= UInt32(truncatingIfNeeded: s)
                if sh + w > 32 { o[4 * (j + 1) + l] |= UInt32(truncatingIfNeeded: s >> 32) }
            }
        }
    }

    /// Full blocks for S ≤ 8191: Philox, rounding and packing in SIMD, one
    /// block of 128 coordinates at a time, specialized for the field width.
    ///
    /// With r = x·σ, ⌊r⌋ comes from r + 1.5·2^23 (`floorAndByte`). Adding
    /// v′ = 255 − (the random top byte of u_i) to the bits of ⌊r⌋ gives
    /// ⌊q⌋ + 1 in the bits above the low 8 exactly when the byte is below the
    /// top byte of frac(q)·2^32 (q = r/256), ⌊q⌋ otherwise; the low 8 bits are
    /// 255 exactly when the two bytes are equal (p = 1/256), where the low 24
    /// random bits decide. Such ties are left rounded down, their random
    /// words listed (at most `tieCapacity` at a time, on the stack), and
    /// finished by `patchTies`. Nothing is allocated.
    static func quantizeBlocksSIMD(_ x: UnsafePointer<Float>, blocks: Range<Int>, params p: QuantParams, out: UnsafeMutablePointer<UInt32>) {
        switch p.width {
        case 2: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width2.self)
        case 3: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width3.self)
        case 4: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width4.self)
        case 5: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width5.self)
        case 6: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width6.self)
        case 7: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width7.self)
        case 8: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width8.self)
        case 9: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width9.self)
        case 10: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width10.self)
        case 11: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width11.self)
        case 12: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width12.self)
        case 13: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width13.self)
        default: quantizeBlocks(x, blocks: blocks, params: p, out: out, Width14.self)
        }
    }

    /// Tied random words listed before `patchTies` runs (stack scratch:
    /// 16 + 8 bytes an entry, each list under 1 KiB).
    static let tieCapacity = 48

    /// Blocks of 128 coordinates whose random words one call computes
    /// (`Philox4x32.fours`, eight Philox blocks a block: 2 KiB on the stack).
    static let wordTile = 16

    static func quantizeBlocks<W: FieldWidth>(
        _ x: UnsafePointer<Float>, blocks: Range<Int>, params p: QuantParams, out: UnsafeMutablePointer<UInt32>, _: W.Type
    ) {
        withUnsafeTemporaryAllocation(of: SIMD4<UInt32>.self, capacity: tieCapacity) { tiedWords in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: tieCapacity) { tiedAt in
        withUnsafeTemporaryAllocation(of: SIMD4<UInt32>.self, capacity: 8 * wordTile) { tile in
            let words = tile.baseAddress!
            let sigma = SIMD4<Float>(repeating: p.sigma)
            var tiedCount = 0
            var b0 = blocks.lowerBound
            while b0 < blocks.upperBound {
                let n = min(wordTile, blocks.upperBound - b0)
                Philox4x32.fours(p.key, first: UInt32(truncatingIfNeeded: b0 * 8), count: 8 * n, into: words)
                for b in b0..<(b0 + n) {
                    let u = UnsafePointer(words + 8 * (b - b0))
                    let ties = quantizeBlock(UnsafeRawPointer(x + b * 128), u, sigma: sigma,
                                             out: UnsafeMutableRawPointer(out + b * 4 * W.bits), W.self)
                    if ties != 0 {   // p ≈ 0.4 a block at 8 random bits a coordinate
                        var pending = ties
                        while pending != 0 {
                            let a = pending.trailingZeroBitCount
                            pending &= pending &- 1
                            tiedWords[tiedCount] = u[a]
                            tiedAt[tiedCount] = b << 3 | a
                            tiedCount += 1
                            if tiedCount == tieCapacity {
                                patchTies(x, at: UnsafeBufferPointer(start: tiedAt.baseAddress!, count: tiedCount),
                                          words: tiedWords.baseAddress!, params: p, out: out)
                                tiedCount = 0
                            }
                        }
                    }
                }
                b0 += n
            }
            if tiedCount > 0 {
                patchTies(x, at: UnsafeBufferPointer(start: tiedAt.baseAddress!, count: tiedCount),
                          words: tiedWords.baseAddress!, params: p, out: out)
            }
        }
        }
        }
    }

    /// Quantizes and packs one full block b (coordinates xb[0..<128]) with
    /// the Philox words of blocks 8b…8b+7 in fours (`Philox4x32.fours`):
    /// u[a] holds word a of blocks 8b…8b+3 for a < 4, word a − 4 of blocks
    /// 8b+4…8b+7 otherwise, one block a lane. Returns a bit mask of the
    /// random words u[a] whose 16 coordinates hold a tie.
    ///
    /// Field k = 16g + 4a + c (coordinates 128b + 64g + 16a + 4c + lane)
    /// uses byte c of word a of Philox block 8b + 4g + lane; lane l's 32·w-bit
    /// stream gets field k at bit k·w (word j of lane l is out word 4j + l).
    /// Written out step by step so that every shift and offset is a constant.
    @inline(__always)
    static func quantizeBlock<W: FieldWidth>(
        _ xb: UnsafeRawPointer, _ u: UnsafePointer<SIMD4<UInt32>>, sigma: SIMD4<Float>,
        out o: UnsafeMutableRawPointer, _: W.Type
    ) -> Int {
        var k = BlockKernel<W>(x: xb, sigma: sigma, out: o)
        k.word(0, u[0]); k.word(1, u[1]); k.word(2, u[2]); k.word(3, u[3])
        k.word(4, u[4]); k.word(5, u[5]); k.word(6, u[6]); k.word(7, u[7])
        return k.ties
    }

    /// The state of `quantizeBlock` while it walks one block: the lane
    /// accumulator of the word being packed, its fill, the words written and
    /// the tie mask. Every method inlines, so for a constant W all shifts and
    /// offsets fold to constants.
    struct BlockKernel<W: FieldWidth> {
        let x: UnsafeRawPointer
        let sigma: SIMD4<Float>
        let out: UnsafeMutableRawPointer
        var acc = SIMD4<UInt32>()
        var used = 0
        var j = 0
        var ties = 0

        @inline(__always)
        init(x: UnsafeRawPointer, sigma: SIMD4<Float>, out: UnsafeMutableRawPointer) {
            self.x = x
            self.sigma = sigma
            self.out = out
        }

        /// bits(1.5·2^23) + ⌊r⌋ + 255 − byte for field k: its bits 8… are the
        /// field (plus magic bits above w), its low byte is 255 on a tie.
        @_transparent
        func sum(_ k: Int, _ u: SIMD4<UInt32>) -> SIMD4<UInt32> {
            let magic = SIMD4<Float>(repeating: QSGD.magic)
            let r = x.loadUnaligned(fromByteOffset: 16 * k, as: SIMD4<Float>.self) * sigma
            let rounded = r + magic
            let down = unsafeBitCast((r .< rounded - magic)._storage, to: SIMD4<UInt32>.self)   // all ones: rounded up
            let v = ~(u &>> UInt32(8 * (k & 3))) & 0xFF
            return unsafeBitCast(rounded, to: SIMD4<UInt32>.self) &+ down &+ v
        }

        /// Appends one field vector to the four lane streams.
        @_transparent
        mutating func put(_ sum: SIMD4<UInt32>) {
            let w = W.bits
            let f = (sum &>> 8) & SIMD4<UInt32>(repeating: (1 << UInt32(w)) &- 1)
            acc |= f &<< UInt32(truncatingIfNeeded: used)
            used += w
            if used >= 32 {
                out.storeBytes(of: acc, toByteOffset: 16 * j, as: SIMD4<UInt32>.self)
                j += 1
                used -= 32
                acc = used == 0 ? SIMD4<UInt32>() : f &>> UInt32(truncatingIfNeeded: w - used)
            }
        }

        /// The four fields of random word a (fields 4a…4a+3); notes a tie
        /// among their 16 lanes in bit a of `ties`.
        @_transparent
        mutating func word(_ a: Int, _ u: SIMD4<UInt32>) {
            let k = 4 * a
            let s0 = sum(k, u), s1 = sum(k + 1, u), s2 = sum(k + 2, u), s3 = sum(k + 3, u)
            put(s0); put(s1); put(s2); put(s3)
            // Byte-wise max: a lane's low byte is 255 iff one of the four is.
            let m = QSGD.maxBytes(QSGD.maxBytes(s0, s1), QSGD.maxBytes(s2, s3))
            ties |= any((m & 0xFF) .== 0xFF) ? 1 << a : 0
        }
    }

    /// The byte-wise unsigned maximum (one `pmaxub`).
    @_transparent
    static func maxBytes(_ a: SIMD4<UInt32>, _ b: SIMD4<UInt32>) -> SIMD4<UInt32> {
        let x = unsafeBitCast(a, to: SIMD16<UInt8>.self), y = unsafeBitCast(b, to: SIMD16<UInt8>.self)
        return unsafeBitCast(x.replacing(with: y, where: x .< y), to: SIMD4<UInt32>.self)
    }

    /// bits(1.5·2^23) + ⌊r⌋ for r = x·σ (|r| < 2^22: r + 1.5·2^23 rounds r to
    /// an integer in the mantissa; one less where that rounded up), and the
    /// random byte as Int32 lanes. Its low 8 bits are ⌊r⌋ mod 256, and for
    /// w ≤ 14 its bits 8…8+w−1 are ⌊r/256⌋ in w-bit two's complement.
    @inline(__always)
    static func floorAndByte(_ x: SIMD4<Float>, _ sigma: SIMD4<Float>, _ top: SIMD4<UInt32>) -> (SIMD4<Int32>, SIMD4<Int32>) {
        let r = x * sigma
        let magic = SIMD4<Float>(repeating: QSGD.magic)
        let t = r + magic                                                // 1.5·2^23 + round(r)
        let floorR = unsafeBitCast(t, to: SIMD4<Int32>.self) &+ (r .< t - magic)._storage
        return (floorR, SIMD4<Int32>(truncatingIfNeeded: top))
    }

    /// Tied coordinates whose low random bits one call computes
    /// (`Philox4x32.blocks(_:at:)`: sixteen blocks in one AVX-512 pass).
    static let tieBatch = 16

    /// Finishes the ties of the listed random words (entry b·8 + a with the
    /// word itself: u[a] of block b, see `quantizeBlock`). The kernel rounded
    /// tied lanes down; u_i < frac(q)·2^32 holds exactly when the low 24
    /// random bits are below frac(r)·2^24 (the top byte equals the byte of
    /// frac(q)), and then the field becomes ⌊q⌋ + 1. The low bits of
    /// `tieBatch` ties at a time come from one bulk Philox call, so their
    /// latency overlaps.
    @inline(never)
    static func patchTies(
        _ x: UnsafePointer<Float>, at entries: UnsafeBufferPointer<Int>, words: UnsafePointer<SIMD4<UInt32>>,
        params p: QuantParams, out: UnsafeMutablePointer<UInt32>
    ) {
        let w = p.width
        let mask = UInt64((1 << UInt32(w)) &- 1)
        let sigma = SIMD4<Float>(repeating: p.sigma)
        let magicBits = Int32(bitPattern: QSGD.magic.bitPattern)
        // A batch of tied coordinates (index, ⌊r⌋ and r), the counters of
        // their low bits' blocks and those blocks (stack, under 1 KiB).
        withUnsafeTemporaryAllocation(of: (index: Int, floor: Int32, r: Float).self, capacity: tieBatch) { batch in
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 5 * tieBatch) { scratch in
            let batch = batch.baseAddress!
            let counters = scratch.baseAddress!, blocks = counters + tieBatch
            var n = 0
            func flush() {
                for j in 0..<n { counters[j] = 0x8000_0000 | UInt32(truncatingIfNeeded: batch[j].index >> 2) }
                Philox4x32.blocks(p.key, at: UnsafeBufferPointer(start: counters, count: n), into: blocks)
                for j in 0..<n {
                    let (i, fl, r) = batch[j]
                    let low = blocks[4 * j + (i & 3)] & 0xFF_FFFF
                    // frac(r)·2^24 is exact in Double.
                    guard Double(low) < (Double(r) - Double(fl)) * 0x1p24 else { continue }
                    let v = UInt64(UInt32(bitPattern: (fl >> 8) + 1)) & mask
                    let b = i >> 7, k = (i >> 2) & 31, l = i & 3
                    let o = out + b * 4 * w
                    let bit = k * w, jw = bit >> 5, sh = UInt64(bit & 31)
                    var pair = UInt64(o[4 * jw + l])
                    if Int(sh) + w > 32 { pair |= UInt64(o[4 * (jw + 1) + l]) << 32 }
                    pair = (pair & ~(mask << sh)) | (v << sh)
                    o[4 * jw + l] = UInt32(truncatingIfNeeded: pair)
                    if Int(sh) + w > 32 { o[4 * (jw + 1) + l] = UInt32(truncatingIfNeeded: pair >> 32) }
                }
                n = 0
            }
            for e in 0..<entries.count {
                let b = entries[e] >> 3, a = entries[e] & 7
                let u = words[e]
                for c in 0..<4 {
                    let k = 4 * a + c
                    let xv = UnsafeRawPointer(x + b * 128 + 4 * k).loadUnaligned(as: SIMD4<Float>.self)
                    let (floorR, byte) = floorAndByte(xv, sigma, (u &>> UInt32(8 * c)) & 0xFF)
                    let tie = byte .== (floorR & 255)
                    guard any(tie) else { continue }
                    for l in 0..<4 where tie[l] {
                        // ⌊r⌋ = floorR − bits(1.5·2^23), exact.
                        batch[n] = (b * 128 + 4 * k + l, floorR[l] &- magicBits, xv[l] * p.sigma)
                        n += 1
                        if n == tieBatch { flush() }
                    }
                }
            }
            if n > 0 { flush() }
        }
        }
    }
}

extension QSGD {
    /// A field width known at compile time, for specializing the SIMD kernel.
    protocol FieldWidth { static var bits: Int { get } }
    enum Width2: FieldWidth { static var bits: Int { 2 } }
    enum Width3: FieldWidth { static var bits: Int { 3 } }
    enum Width4: FieldWidth { static var bits: Int { 4 } }
    enum Width5: FieldWidth { static var bits: Int { 5 } }
    enum Width6: FieldWidth { static var bits: Int { 6 } }
    enum Width7: FieldWidth { static var bits: Int { 7 } }
    enum Width8: FieldWidth { static var bits: Int { 8 } }
    enum Width9: FieldWidth { static var bits: Int { 9 } }
    enum Width10: FieldWidth { static var bits: Int { 10 } }
    enum Width11: FieldWidth { static var bits: Int { 11 } }
    enum Width12: FieldWidth { static var bits: Int { 12 } }
    enum Width13: FieldWidth { static var bits: Int { 13 } }
    enum Width14: FieldWidth { static var bits: Int { 14 } }
}
