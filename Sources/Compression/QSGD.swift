import CSGDCore

#if _endian(big)
#error("QSGD's packed fields are stored as little-endian 32-bit words")
#endif

/// One QSGD message: the norm ‖x‖₂ as a Float32 and the signed levels
/// sign(x_i)·ξ_i ∈ {−S, …, S}, stored the way its coding sends them.
///
/// With `.fixed` coding the message holds the packed field stream itself
/// (`QSGD` documents the layout), so encoding is a byte copy; with `.elias`
/// it holds the non-zero coordinates and their signed levels in increasing
/// index order, plus the exact encoded size. Equality compares the norm's bit
/// pattern and the levels, never scratch memory. A message is reusable:
/// compressing or decoding into it again allocates nothing once it has grown.
public struct QSGDMessage: Sendable, Equatable, CustomStringConvertible {
    /// d.
    public let dimension: Int
    /// S, the number of non-zero levels.
    public let levels: Int
    /// How the message is (and will be) encoded.
    public let coding: QSGDCoding
    /// ‖x‖₂ rounded to Float32: finite and ≥ 0 (+0 for the zero message);
    /// for a block compressor's message, the scale its levels multiply
    /// (`QSGD.normScale`, `QSGD.normBits`).
    public internal(set) var norm: Float = 0
    /// Bits of the norm field: 32 (every whole message), or 16 (the upper
    /// half of the Float32, for the blocks of the two-stage exchange).
    public let normBits: Int

    /// Fixed coding: the field stream (d·w bits, LSB first, zero padded);
    /// Elias coding: scratch for `compress`.
    @usableFromInline var fields: [UInt32] = []
    /// Elias coding: the non-zero coordinates, increasing.
    @usableFromInline var indices: [UInt32] = []
    /// Elias coding: their signed levels (never 0, |level| ≤ S).
    @usableFromInline var values: [Int32] = []
    /// Elias coding: the exact number of bits `encode` writes.
    @usableFromInline var eliasBits: Int = 0
    /// Scratch: per-1024-element partial sums of the parallel norm.
    @usableFromInline var normScratch: [Double] = []
    /// Scratch: x·2^64 when ‖x‖ < 2^-64.
    @usableFromInline var scaledInput: [Float] = []

    init(dimension: Int, levels: Int, coding: QSGDCoding, normBits: Int = 32) {
        self.dimension = dimension
        self.levels = levels
        self.coding = coding
        self.normBits = normBits
        if coding == .fixed {
            fields = [UInt32](repeating: 0, count: QSGD.fieldWords(dimension: dimension, width: QSGD.fieldWidth(levels: levels)))
        } else {
            eliasBits = normBits + EliasOmega.bits(of: 1)
        }
    }

    /// w = ⌈log₂(S+1)⌉ + 1, the fixed-coding bits a coordinate.
    @inlinable public var fieldWidth: Int { QSGD.fieldWidth(levels: levels) }

    /// The number of coordinates with a non-zero level.
    public var nonZeroCount: Int {
        switch coding {
        case .elias: return indices.count
        case .fixed:
            var n = 0
            forEachFixedLevel { _, v in if v != 0 { n += 1 } }
            return n
        }
    }

    /// The signed level sign(x_i)·ξ_i of coordinate `i` (Q(x)_i = norm·level/S).
    public func level(at i: Int) -> Int {
        precondition(i >= 0 && i < dimension, "index out of range")
        switch coding {
        case .elias:
            var lo = 0, hi = indices.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if Int(indices[mid]) < i { lo = mid + 1 } else { hi = mid }
            }
            return lo < indices.count && Int(indices[lo]) == i ? Int(values[lo]) : 0
        case .fixed:
            return Int(fields.withUnsafeBufferPointer { QSGD.fixedField(i, dimension: dimension, width: fieldWidth, words: $0.baseAddress!) })
        }
    }

    /// All d signed levels (for tests and inspection, not hot loops).
    public func signedLevels() -> [Int32] {
        var out = [Int32](repeating: 0, count: dimension)
        switch coding {
        case .elias:
            for (i, v) in zip(indices, values) { out[Int(i)] = v }
        case .fixed:
            forEachFixedLevel { i, v in out[i] = v }
        }
        return out
    }

    func forEachFixedLevel(_ body: (Int, Int32) -> Void) {
        let w = fieldWidth
        fields.withUnsafeBufferPointer { words in
            QSGD.forEachField(dimension: dimension, width: w, words: words.baseAddress!) { i, v in
                for l in 0..<4 { body(i + l, v[l]) }
            } tail: { i, v in body(i, v) }
        }
    }

    public static func == (a: QSGDMessage, b: QSGDMessage) -> Bool {
        guard a.dimension == b.dimension, a.levels == b.levels, a.coding == b.coding,
              a.norm.bitPattern == b.norm.bitPattern else { return false }
        switch a.coding {
        case .elias: return a.indices == b.indices && a.values == b.values
        case .fixed: return a.fields == b.fields
        }
    }

    public var description: String {
        "QSGDMessage(d: \(dimension), S: \(levels), coding: \(coding.rawValue), norm: \(norm), nnz: \(nonZeroCount))"
    }
}

/// `qsgd:S`: QSGD stochastic quantization (Alistarh et al. 2017):
/// Q(x)_i = ‖x‖₂·ℓ_i/S with the signed level ℓ_i = sign(x_i)·ξ_i, ξ_i an
/// unbiased stochastic rounding of |x_i|·S/‖x‖₂ to {0, …, S}. Unbiased, not
/// linear, E‖Q(x)‖² ≤ (1 + min(d/S², √d/S))‖x‖² (`varianceBound`).
///
/// **Rounding rule.** N = Float(`Kernels.norm2`(x)). If N is 0 or not finite
/// (x holds a NaN or ±∞, or ‖x‖ overflows), the message is the zero message
/// (norm +0, every level 0). Otherwise (x and N multiplied by 2⁶⁴ first when
/// N < 2⁻⁶⁴, an exact scaling) σ = fl(256S/N), except that when
/// fl(M·σ) > 256S for M = max|x_i| (a coordinate carrying nearly all the norm)
/// σ = fl(256S/M), then lowered an ulp at a time until fl(M·σ) ≤ 256S. With
/// r_i = fl(x_i·σ) ∈ [−256S, 256S] and q_i = r_i/256 ≈ x_i·S/N,
/// ℓ_i = ⌊q_i⌋ + [u_i < (q_i − ⌊q_i⌋)·2³²], the comparison exact over the reals
/// against a 32-bit uniform word u_i: |ℓ_i| rounds |q_i| up with probability
/// frac(|q_i|) (to within 2⁻³²) and |ℓ_i| ≤ S. u_i is a pure function of
/// (key, i), never of how the vector is split over threads: for
/// i = 64p + 16a + 4c + b (0 ≤ a, b, c < 4) its top byte is byte c (bits
/// 8c…8c+7) of word a of Philox block 4p + b of `key` (`key.block`), and its low
/// 24 bits are those of word i mod 4 of block 2³¹ + ⌊i/4⌋. The low bits are
/// only drawn when the top byte ties with the byte of the probability (p = 1/256).
///
/// **Fixed wire format** (`coding=fixed`), w = ⌈log₂(S+1)⌉ + 1 bits a
/// coordinate, 32 + d·w bits in all: the norm's IEEE-754 bit pattern (32 bits),
/// then the field stream. Field i is ℓ_i in w-bit two's complement (so there is
/// no negative zero; −2^(w−1) and anything beyond ±S is invalid). The stream
/// holds ⌊d/128⌋ blocks of 128 coordinates, each 128·w bits laid out
/// "vertically" as four interleaved 32-bit lanes: the block is 4w 32-bit words,
/// word 4j + l is word j of lane l, lane l carries the coordinates 128B + 4k + l
/// (k = 0…31) and field k sits at bits [k·w, k·w + w) of the lane (bit t of the
/// lane is bit t mod 32 of its word ⌊t/32⌋). The last d mod 128 coordinates
/// follow as plain consecutive w-bit fields. All bits are in csgd's LSB-first
/// stream order, so on a byte boundary a word is its 4 little-endian bytes and
/// encoding is a byte copy of the message.
///
/// **Elias wire format** (`coding=elias`, the default): the norm (32 bits),
/// EliasOmega(nnz + 1), then for every non-zero coordinate in increasing
/// order EliasOmega(i − previous) (previous starts at −1), one sign bit
/// (1 = negative) and EliasOmega(|ℓ_i|) (1 ≤ |ℓ_i| ≤ S).
///
/// Both formats are unchanged for every whole message. The blocks of the
/// two-stage exchange (`normBits` 16) write only the upper 16 bits of the
/// norm's bit pattern (a bfloat16, the norm rounded up to it), the rest as
/// above; their norm may carry a scale c ≥ 1 (`normScale`), read like any norm.
///
/// Decoding throws on truncation, a negative, −0 or non-finite norm, a zero
/// norm with non-zero levels, levels beyond S (or 0 in Elias coding), more
/// than d non-zeros and gaps past d, so each message has one encoding.
///
/// **Speed.** For d ≥ 65536 `compress`, `add` and `decompress` run in chunks
/// of 32768 coordinates on Dispatch's threads. A first pass computes the norm;
/// the second (last chunk first, to reuse what the first pass left in cache)
/// draws the random bytes (Philox in bulk, `Philox4x32.fours`: one block for
/// 16 coordinates, sixteen blocks at a time on AVX-512), rounds
/// and packs each block of 128 coordinates in registers (for S ≤ 8191, with
/// the field width a compile-time constant; a scalar path for larger S), and
/// finishes the rare ties from a small stack list (`QSGD+Quantize.swift`).
/// Nothing is allocated once the message has grown. `decompress` writes
/// y once instead of zeroing it and adding.
public struct QSGD: Compressor {
    public typealias Message = QSGDMessage

    public let dimension: Int
    /// S ≥ 1.
    public let levels: Int
    public let coding: QSGDCoding
    /// c ≥ 1: the norm field carries N = c·‖x‖ (rounded up to `normBits`)
    /// and the levels are ℓ_i ∈ {0, …, S} with E ℓ_i = |x_i|·S/N, so the
    /// message is QSGD with S/c levels (a fraction of them) on the integer
    /// grid of S: unbiased, E‖Q(x) − x‖² ≤ min(d/s², √d/s)‖x‖² with s = S/c
    /// (Alistarh et al.'s Lemma 3.1 holds for any real s ≥ 1). 1 for every
    /// whole message; the two-stage exchange's blocks use it to keep the
    /// whole compressor's variance bound exactly.
    public let normScale: Float
    /// 32, or 16 for the blocks of the two-stage exchange: the norm field
    /// then holds the upper half of the Float32 N, rounded up (so N ≥ c·‖x‖
    /// still, |ℓ_i| ≤ S, and the variance factor grows by at most 2⁻⁷).
    public let normBits: Int

    public init(dimension: Int, levels: Int, coding: QSGDCoding = .elias, normScale: Float = 1, normBits: Int = 32) {
        precondition(dimension >= 1, "dimension must be positive")
        precondition(levels >= 1 && levels <= 1 << 30, "levels S must be in 1...2^30")
        precondition(dimension <= 1 << 32, "dimension must be at most 2^32 (32-bit indices)")
        precondition(normScale >= 1 && normScale.isFinite, "the norm's scale must be at least 1")
        precondition(normBits == 32 || normBits == 16, "the norm field has 32 or 16 bits")
        self.dimension = dimension
        self.levels = levels
        self.coding = coding
        self.normScale = normScale
        self.normBits = normBits
    }

    public var isLinear: Bool { false }
    public var isUnbiased: Bool { true }
    public var description: String { "qsgd:\(levels),coding=\(coding.rawValue)" }

    /// w = ⌈log₂(S+1)⌉ + 1, the fixed-coding bits a coordinate.
    public var fieldWidth: Int { QSGD.fieldWidth(levels: levels) }

    @inlinable static func fieldWidth(levels: Int) -> Int { ceilLog2(levels + 1) + 1 }
    static func fieldWords(dimension: Int, width: Int) -> Int { (dimension * width + 31) / 32 }

    /// The variance factor of the bound E‖Q(x)‖² ≤ (1 + β)‖x‖²: β = min(d/S², √d/S).
    public var varianceBound: Double {
        let d = Double(dimension), s = Double(levels) / Double(normScale)
        return min(d / (s * s), d.squareRoot() / s)
    }

    public func makeMessage() -> QSGDMessage {
        QSGDMessage(dimension: dimension, levels: levels, coding: coding, normBits: normBits)
    }

    // MARK: compress

    public func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into m: inout QSGDMessage) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        precondition(m.dimension == dimension && m.levels == levels && m.coding == coding && m.normBits == normBits,
                     "message of another compressor")
        let d = dimension, w = fieldWidth
        let fieldCount = QSGD.fieldWords(dimension: d, width: w)
        if m.fields.count != fieldCount { m.fields = [UInt32](repeating: 0, count: fieldCount) }
        let (normD, maxBound) = QSGD.normAndBound(x, scratch: &m.normScratch)
        var normF = Float(normD)
        if normScale != 1 { normF *= normScale }
        if normBits == 16, normF.bitPattern & 0xFFFF != 0 {
            // Round up to the 16-bit field (an infinite result is refused below, as an infinite norm is).
            normF = Float(bitPattern: (normF.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
        }
        guard normF.isFinite, normF > 0 else {
            m.norm = 0
            m.fields.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            m.indices.removeAll(keepingCapacity: true)
            m.values.removeAll(keepingCapacity: true)
            m.eliasBits = normBits + EliasOmega.bits(of: 1)
            return
        }
        m.norm = normF
        // Tiny norms: quantize x·2^64 against N·2^64 (exact scalings), so σ fits in a Float.
        let tiny = normF < 0x1p-64
        let n = tiny ? normF * 0x1p64 : normF
        let limit = Float(256 * levels)
        // The exact max |x_i| matters only when the bound says σ might be too
        // large (vectors dominated by a few coordinates): then scan for it.
        let mb = tiny ? maxBound * 0x1p64 : maxBound
        let maxAbs = mb * (limit / n) > limit ? QSGD.maxAbs(x) * (tiny ? 0x1p64 : 1) : 0
        let p = QuantParams(key: key, levels: levels, width: w, norm: n, maxAbs: maxAbs)
        if tiny {
            var scaled = m.scaledInput   // moved out and back: no copy
            m.scaledInput = []
            if scaled.count != d { scaled = [Float](repeating: 0, count: d) }
            scaled.withUnsafeMutableBufferPointer { xs in
                for i in 0..<d { xs[i] = x[i] * 0x1p64 }
            }
            scaled.withUnsafeBufferPointer { xs in
                m.fields.withUnsafeMutableBufferPointer { out in
                    QSGD.quantize(xs.baseAddress!, dimension: d, params: p, out: out.baseAddress!)
                }
            }
            m.scaledInput = scaled
        } else {
            m.fields.withUnsafeMutableBufferPointer { out in
                QSGD.quantize(x.baseAddress!, dimension: d, params: p, out: out.baseAddress!)
            }
        }
        if coding == .elias { m.extractNonZeros() }
    }

    /// ‖x‖₂ bit for bit as `Kernels.norm2(x)` (the same 1024-element blocks,
    /// summed in the same order, but in parallel chunks), and an upper bound
    /// of max |x_i| (`maxAbsBound`).
    static func normAndBound(_ x: UnsafeBufferPointer<Float>, scratch: inout [Double]) -> (norm: Double, max: Float) {
        let d = x.count
        guard d >= parallelThreshold else { return (Kernels.norm2(x), maxAbsBound(x)) }
        let blocks = (d + 1023) / 1024
        if scratch.count < 2 * blocks { scratch = [Double](repeating: 0, count: 2 * blocks) }
        return scratch.withUnsafeMutableBufferPointer { s in
            let sums = s.baseAddress!, maxima = s.baseAddress! + blocks
            let perChunk = chunkSize / 1024
            parallelFor((blocks + perChunk - 1) / perChunk) { c in
                for b in (c * perChunk)..<min(blocks, (c + 1) * perChunk) {
                    let (s, m) = squaresAndBound(x.baseAddress! + b * 1024, count: min(d, b * 1024 + 1024) - b * 1024)
                    sums[b] = s
                    maxima[b] = Double(m)
                }
            }
            var total = 0.0, m = 0.0
            for b in 0..<blocks {
                total += sums[b]
                m = max(m, maxima[b])
            }
            return (total.squareRoot(), Float(m))
        }
    }

    /// `Kernels.sumSquares` of one block of at most 1024 (the same Float
    /// lanes and order, so the same bits, and its exact path when the Float
    /// sum cannot be used) and `maxAbsBound` of it, in one pass.
    @inline(__always)
    static func squaresAndBound(_ p: UnsafePointer<Float>, count n: Int) -> (Double, Float) {
        var acc = SIMD16<Float>(), bits = SIMD16<UInt32>()
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i + 16 <= n {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            acc += v * v
            bits |= unsafeBitCast(v, to: SIMD16<UInt32>.self)
            i += 16
        }
        var f = acc.sum()
        var m: UInt32 = 0
        for l in 0..<16 { m |= bits[l] }
        while i < n {
            f += p[i] * p[i]
            m |= p[i].bitPattern
            i += 1
        }
        let s = f.isFinite && f >= 0x1p-60 ? Double(f) : Kernels.sumSquares(UnsafeBufferPointer(start: p, count: n))
        return (s, Float(bitPattern: m & 0x7FFF_FFFF))
    }

    /// max |x_i| (NaN-free input assumed; used only when the norm is finite).
    static func maxAbs(_ x: UnsafeBufferPointer<Float>) -> Float {
        guard let p = x.baseAddress else { return 0 }
        var m: UInt32 = 0
        for i in 0..<x.count { m = max(m, p[i].bitPattern & 0x7FFF_FFFF) }
        return Float(bitPattern: m)
    }

    /// An upper bound of max |x_i|: the OR of the bit patterns of |x_i|
    /// (for non-negative floats integer order is numeric order). Cheap enough
    /// to run while a block is in L1.
    static func maxAbsBound(_ x: UnsafeBufferPointer<Float>) -> Float {
        guard let p = x.baseAddress else { return 0 }
        var acc = SIMD16<UInt32>()
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 16 <= x.count {
            acc |= raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<UInt32>.self)
            i += 16
        }
        var m: UInt32 = 0
        for l in 0..<16 { m |= acc[l] }
        while i < x.count { m |= p[i].bitPattern; i += 1 }
        return Float(bitPattern: m & 0x7FFF_FFFF)
    }

    // MARK: bits, encode, decode

    public func bits(of m: QSGDMessage) -> Int {
        switch coding {
        case .fixed: return normBits + dimension * fieldWidth
        case .elias: return m.eliasBits
        }
    }

    public func encode(_ m: QSGDMessage, into w: inout BitWriter) {
        precondition(m.dimension == dimension && m.levels == levels && m.coding == coding && m.normBits == normBits,
                     "message of another compressor")
        if normBits == 16 { w.write(UInt64(m.norm.bitPattern >> 16), bits: 16) } else { w.write(m.norm) }
        switch coding {
        case .fixed:
            let nbits = dimension * fieldWidth
            m.fields.withUnsafeBytes { raw in
                if w.bitCount % 8 == 0 {
                    w.write(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<(nbits / 8)]))
                    if nbits % 8 != 0 { w.write(UInt64(raw[nbits / 8]), bits: nbits % 8) }
                } else {
                    let words = raw.bindMemory(to: UInt32.self)
                    var left = nbits, i = 0
                    while left > 0 {
                        let n = min(32, left)
                        w.write(UInt64(UInt32(littleEndian: words[i])), bits: n)
                        left -= n
                        i += 1
                    }
                }
            }
        case .elias:
            EliasOmega.write(UInt64(m.indices.count) + 1, into: &w)
            var prev = -1
            for (i, v) in zip(m.indices, m.values) {
                EliasOmega.write(UInt64(Int(i) - prev), into: &w)
                w.write(v < 0 ? 1 : 0, bits: 1)
                EliasOmega.write(UInt64(v.magnitude), into: &w)
                prev = Int(i)
            }
        }
    }

    public func decode(from r: inout BitReader, key: RandomKey, into m: inout QSGDMessage) throws {
        if m.dimension != dimension || m.levels != levels || m.coding != coding || m.normBits != normBits { m = makeMessage() }
        let start = r.position
        let field = UInt32(truncatingIfNeeded: try r.read(bits: normBits)) << (32 - normBits)
        let norm = Float(bitPattern: field)
        guard norm.isFinite, field >> 31 == 0 else {
            throw WireFormatError.invalid("QSGD norm \(norm) is not a finite non-negative number")
        }
        switch coding {
        case .fixed: try decodeFixed(from: &r, norm: norm, into: &m)
        case .elias: try decodeElias(from: &r, norm: norm, into: &m)
        }
        m.norm = norm
        if coding == .elias { m.eliasBits = r.position - start }
    }

    private func decodeFixed(from r: inout BitReader, norm: Float, into m: inout QSGDMessage) throws {
        let d = dimension, w = fieldWidth
        let nbits = d * w
        try r.require(nbits)
        let words = QSGD.fieldWords(dimension: d, width: w)
        if m.fields.count != words { m.fields = [UInt32](repeating: 0, count: words) }
        try m.fields.withUnsafeMutableBufferPointer { f in
            if r.position % 8 == 0 {
                let raw = try r.readBytes(nbits / 8)
                let dst = UnsafeMutableRawBufferPointer(f)
                dst.copyMemory(from: raw)
                let tailStart = nbits / 8
                if tailStart < dst.count {
                    for b in tailStart..<dst.count { dst[b] = 0 }
                    if nbits % 8 != 0 { dst[tailStart] = UInt8(try r.read(bits: nbits % 8)) }
                }
            } else {
                var left = nbits, i = 0
                while left > 0 {
                    let n = min(32, left)
                    f[i] = UInt32(try r.read(bits: n)).littleEndian
                    left -= n
                    i += 1
                }
            }
            // Every field must be a level in [−S, S]; a zero norm carries none.
            let bound = norm == 0 ? 0 : Int32(levels)
            let hi = SIMD4<Int32>(repeating: bound), lo = SIMD4<Int32>(repeating: -bound)
            var badLanes = SIMD4<Int32>()
            var bad = false
            QSGD.forEachField(dimension: d, width: w, words: f.baseAddress!) { _, v in
                badLanes |= ((v .> hi) .| (v .< lo))._storage
            } tail: { _, v in
                bad = bad || v > bound || v < -bound
            }
            if bad || badLanes != SIMD4<Int32>() {
                throw WireFormatError.invalid(norm == 0 ? "QSGD zero norm with non-zero levels" : "QSGD level beyond S = \(levels)")
            }
        }
    }

    private func decodeElias(from r: inout BitReader, norm: Float, into m: inout QSGDMessage) throws {
        let d = dimension
        let count = try EliasOmega.read(from: &r)
        guard count - 1 <= UInt64(d) else { throw WireFormatError.invalid("QSGD: \(count - 1) non-zeros exceed d = \(d)") }
        let nnz = Int(count - 1)
        if norm == 0 && nnz > 0 { throw WireFormatError.invalid("QSGD zero norm with non-zero levels") }
        // Each non-zero takes at least 3 bits (gap, sign, level): check before reserving.
        try r.require(nnz * 3)
        m.indices.removeAll(keepingCapacity: true)
        m.values.removeAll(keepingCapacity: true)
        m.indices.reserveCapacity(nnz)
        m.values.reserveCapacity(nnz)
        var prev = -1
        for _ in 0..<nnz {
            let gap = try EliasOmega.read(from: &r)
            guard gap <= UInt64(d - 1 - prev) else { throw WireFormatError.invalid("QSGD: index gap runs past d = \(d)") }
            prev += Int(gap)
            let negative = try r.read(bits: 1) == 1
            let level = try EliasOmega.read(from: &r)
            guard level <= UInt64(levels) else { throw WireFormatError.invalid("QSGD level \(level) beyond S = \(levels)") }
            m.indices.append(UInt32(prev))
            m.values.append(negative ? -Int32(level) : Int32(level))
        }
    }

    // MARK: add

    public func add(_ m: QSGDMessage, scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>) {
        expand(m, scaledBy: s, into: y, accumulate: true)
    }

    /// y ← Q(x), written in one pass (no zeroing first); the same values as
    /// zero-then-`add` (each coordinate is 0 + c·ℓ_i).
    public func decompress(_ m: QSGDMessage, into y: UnsafeMutableBufferPointer<Float>) {
        expand(m, scaledBy: 1, into: y, accumulate: false)
    }

    /// y ← y + s·Q(x) (accumulate) or y ← 0 + s·Q(x).
    private func expand(_ m: QSGDMessage, scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
        precondition(y.count == dimension, "vector length \(y.count) != d = \(dimension)")
        precondition(m.dimension == dimension && m.levels == levels && m.coding == coding, "message of another compressor")
        let exact = Double(s) * Double(m.norm) / Double(levels)
        let c = Float(exact)
        let py = y.baseAddress!
        let d = dimension
        if exact == 0 {
            if !accumulate { Kernels.zero(y) }
            return
        }
        if c.magnitude < Float.leastNormalMagnitude {
            // c = s·N/S below Float's normal range (a tiny norm, a large S):
            // c·ℓ_i in Float would be a multiple of the least subnormal, or 0;
            // multiply in Double instead, one rounding a value.
            let signed = m.signedLevels()
            for i in 0..<d where !accumulate || signed[i] != 0 {
                py[i] = (accumulate ? py[i] : 0) + Float(exact * Double(signed[i]))
            }
            return
        }
        switch coding {
        case .elias:
            if accumulate {
                for (i, v) in zip(m.indices, m.values) { py[Int(i)] += c * Float(v) }
                return
            }
            // Indices ascend (decode and compress guarantee it): zero the gaps
            // and write the values in one sequential pass.
            var next = 0
            for (i, v) in zip(m.indices, m.values) {
                let i = Int(i)
                precondition(i >= next && i < d, "QSGD message indices must ascend")
                SparseMessage.zero(py + next, count: i - next)
                py[i] = 0 + c * Float(v)
                next = i + 1
            }
            SparseMessage.zero(py + next, count: d - next)
        case .fixed:
            let w = fieldWidth
            m.fields.withUnsafeBufferPointer { f in
                let words = f.baseAddress!
                let blocks = d / 128
                let perChunk = QSGD.chunkSize / 128
                let cv = SIMD4<Float>(repeating: c)
                QSGD.parallelFor(d >= QSGD.parallelThreshold ? (blocks + perChunk - 1) / perChunk : 1) { chunk in
                    let range = d >= QSGD.parallelThreshold
                        ? (chunk * perChunk)..<min(blocks, (chunk + 1) * perChunk) : 0..<blocks
                    for b in range {
                        QSGD.forEachBlockField(block: b, width: w, words: words) { i, v in
                            let p = UnsafeMutableRawPointer(py + i)
                            let old = accumulate ? p.loadUnaligned(as: SIMD4<Float>.self) : SIMD4<Float>()
                            p.storeBytes(of: old + cv * SIMD4<Float>(v), as: SIMD4<Float>.self)
                        }
                    }
                }
                QSGD.forEachTailField(dimension: d, width: w, words: words) { i, v in
                    py[i] = (accumulate ? py[i] : 0) + c * Float(v)
                }
            }
        }
    }
}

// MARK: - Field layout

extension QSGD {
    /// Visits the fields of full block `b`: `body(i, v)` gets coordinates
    /// i…i+3 and their sign-extended levels.
    @inline(__always)
    static func forEachBlockField(block b: Int, width w: Int, words: UnsafePointer<UInt32>, _ body: (Int, SIMD4<Int32>) -> Void) {
        let base = UnsafeRawPointer(words + b * 4 * w)
        let mask = w == 32 ? UInt32.max : (1 << UInt32(w)) &- 1
        let half = UInt32(1) << UInt32(w - 1)
        var bit = 0
        for k in 0..<32 {
            let j = bit >> 5, sh = bit & 31
            var v = base.loadUnaligned(fromByteOffset: 16 * j, as: SIMD4<UInt32>.self) &>> UInt32(sh)
            if sh + w > 32 {
                v |= base.loadUnaligned(fromByteOffset: 16 * (j + 1), as: SIMD4<UInt32>.self) &<< UInt32(32 - sh)
            }
            v &= mask
            let s = SIMD4<Int32>(truncatingIfNeeded: (v ^ half) &- half)
            body(b * 128 + 4 * k, s)
            bit += w
        }
    }

    /// Visits the last d mod 128 fields (consecutive w-bit fields).
    @inline(__always)
    static func forEachTailField(dimension d: Int, width w: Int, words: UnsafePointer<UInt32>, _ body: (Int, Int32) -> Void) {
        let first = d / 128 * 128
        var bit = first * w
        for i in first..<d {
            body(i, readField(words, bit: bit, width: w))
            bit += w
        }
    }

    static func forEachField(
        dimension d: Int, width w: Int, words: UnsafePointer<UInt32>,
        _ body: (Int, SIMD4<Int32>) -> Void, tail: (Int, Int32) -> Void
    ) {
        for b in 0..<(d / 128) { forEachBlockField(block: b, width: w, words: words, body) }
        forEachTailField(dimension: d, width: w, words: words, tail)
    }

    /// The sign-extended w-bit field at stream bit `bit`.
    @inline(__always)
    static func readField(_ words: UnsafePointer<UInt32>, bit: Int, width w: Int) -> Int32 {
        let j = bit >> 5, sh = bit & 31
        var v = UInt64(UInt32(littleEndian: words[j])) >> UInt64(sh)
        if sh + w > 32 { v |= UInt64(UInt32(littleEndian: words[j + 1])) << UInt64(32 - sh) }
        let u = UInt32(truncatingIfNeeded: v) & (w == 32 ? UInt32.max : (1 << UInt32(w)) &- 1)
        let half = UInt32(1) << UInt32(w - 1)
        return Int32(bitPattern: (u ^ half) &- half)
    }

    /// ORs the low w bits of `value` into the stream at `bit` (zeroed before).
    @inline(__always)
    static func writeField(_ words: UnsafeMutablePointer<UInt32>, bit: Int, width w: Int, _ value: Int32) {
        let u = UInt64(UInt32(bitPattern: value) & (w == 32 ? UInt32.max : (1 << UInt32(w)) &- 1))
        let j = bit >> 5, sh = bit & 31
        let v = u << UInt64(sh)
        words[j] |= UInt32(truncatingIfNeeded: v)
        if sh + w > 32 { words[j + 1] |= UInt32(truncatingIfNeeded: v >> 32) }
    }

    /// The signed level of coordinate i in a fixed-coding field stream.
    static func fixedField(_ i: Int, dimension d: Int, width w: Int, words: UnsafePointer<UInt32>) -> Int32 {
        let full = d / 128 * 128
        if i >= full { return readField(words, bit: full * w + (i - full) * w, width: w) }
        let b = i / 128, r = i % 128, k = r / 4, l = r % 4
        let laneBit = k * w
        let j = laneBit >> 5, sh = laneBit & 31
        let base = words + b * 4 * w
        var v = UInt64(UInt32(littleEndian: base[4 * j + l])) >> UInt64(sh)
        if sh + w > 32 { v |= UInt64(UInt32(littleEndian: base[4 * (j + 1) + l])) << UInt64(32 - sh) }
        let u = UInt32(truncatingIfNeeded: v) & (w == 32 ? UInt32.max : (1 << UInt32(w)) &- 1)
        let half = UInt32(1) << UInt32(w - 1)
        return Int32(bitPattern: (u ^ half) &- half)
    }
}

extension QSGDMessage {
    /// Elias coding: rebuilds the non-zero list and the bit count from the
    /// field stream that `compress` wrote into `fields`.
    mutating func extractNonZeros() {
        // Work on local arrays (moved out, so no copy) to keep accesses simple.
        var idx = indices, val = values
        indices = []
        values = []
        idx.removeAll(keepingCapacity: true)
        val.removeAll(keepingCapacity: true)
        let d = dimension, w = fieldWidth
        var bits = 0
        var prev = -1
        @inline(__always) func note(_ i: Int, _ v: Int32) {
            idx.append(UInt32(i))
            val.append(v)
            bits += EliasOmega.bits(of: UInt64(i - prev)) + 1 + EliasOmega.bits(of: UInt64(v.magnitude))
            prev = i
        }
        fields.withUnsafeBufferPointer { f in
            let words = f.baseAddress!
            for b in 0..<(d / 128) {
                // Skip all-zero blocks fast (QSGD output is mostly zeros for S ≪ √d).
                let raw = UnsafeRawPointer(words + b * 4 * w)
                var any = SIMD4<UInt32>()
                for j in 0..<w { any |= raw.loadUnaligned(fromByteOffset: 16 * j, as: SIMD4<UInt32>.self) }
                if any == SIMD4<UInt32>() { continue }
                QSGD.forEachBlockField(block: b, width: w, words: words) { i, v in
                    if v == SIMD4<Int32>() { return }
                    for l in 0..<4 where v[l] != 0 { note(i + l, v[l]) }
                }
            }
            QSGD.forEachTailField(dimension: d, width: w, words: words) { i, v in if v != 0 { note(i, v) } }
        }
        indices = idx
        values = val
        eliasBits = normBits + EliasOmega.bits(of: UInt64(idx.count) + 1) + bits
    }
}
