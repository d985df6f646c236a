import Dispatch
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
    /// ‖x‖₂ rounded to Float32: finite and ≥ 0 (+0 for the zero message).
    public internal(set) var norm: Float = 0

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

    init(dimension: Int, levels: Int, coding: QSGDCoding) {
        self.dimension = dimension
        self.levels = levels
        self.coding = coding
        if coding == .fixed {
            fields = [UInt32](repeating: 0, count: QSGD.fieldWords(dimension: dimension, width: QSGD.fieldWidth(levels: levels)))
        } else {
            eliasBits = 32 + EliasOmega.bits(of: 1)
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
/// Decoding throws on truncation, a negative, −0 or non-finite norm, a zero
/// norm with non-zero levels, levels beyond S (or 0 in Elias coding), more
/// than d non-zeros and gaps past d, so each message has one encoding.
///
/// **Speed.** For d ≥ 65536 `compress` and `add` run in chunks of 32768
/// coordinates on Dispatch's threads. A first pass computes the norm; the
/// second draws the random bytes (SIMD Philox, one block for 16 coordinates),
/// rounds (SIMD for S ≤ 8191, a scalar path for larger S) and packs the fields.
public struct QSGD: Compressor {
    public typealias Message = QSGDMessage

    public let dimension: Int
    /// S ≥ 1.
    public let levels: Int
    public let coding: QSGDCoding

    public init(dimension: Int, levels: Int, coding: QSGDCoding = .elias) {
        precondition(dimension >= 1, "dimension must be positive")
        precondition(levels >= 1 && levels <= 1 << 30, "levels S must be in 1...2^30")
        precondition(dimension <= 1 << 32, "dimension must be at most 2^32 (32-bit indices)")
        self.dimension = dimension
        self.levels = levels
        self.coding = coding
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
        let d = Double(dimension), s = Double(levels)
        return min(d / (s * s), d.squareRoot() / s)
    }

    public func makeMessage() -> QSGDMessage {
        QSGDMessage(dimension: dimension, levels: levels, coding: coding)
    }

    // MARK: compress

    public func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into m: inout QSGDMessage) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        precondition(m.dimension == dimension && m.levels == levels && m.coding == coding, "message of another compressor")
        let d = dimension, w = fieldWidth
        let fieldCount = QSGD.fieldWords(dimension: d, width: w)
        if m.fields.count != fieldCount { m.fields = [UInt32](repeating: 0, count: fieldCount) }
        let stream = StreamKey(key)
        let (normD, maxBound) = QSGD.normAndBound(x, scratch: &m.normScratch)
        let normF = Float(normD)
        guard normF.isFinite, normF > 0 else {
            m.norm = 0
            m.fields.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            m.indices.removeAll(keepingCapacity: true)
            m.values.removeAll(keepingCapacity: true)
            m.eliasBits = 32 + EliasOmega.bits(of: 1)
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
        let p = QuantParams(stream: stream, levels: levels, width: w, norm: n, maxAbs: maxAbs)
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
                    let part = UnsafeBufferPointer(rebasing: x[(b * 1024)..<min(d, b * 1024 + 1024)])
                    sums[b] = Kernels.sumSquares(part)
                    maxima[b] = Double(maxAbsBound(part))   // while the block is in L1
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
        case .fixed: return 32 + dimension * fieldWidth
        case .elias: return m.eliasBits
        }
    }

    public func encode(_ m: QSGDMessage, into w: inout BitWriter) {
        precondition(m.dimension == dimension && m.levels == levels && m.coding == coding, "message of another compressor")
        w.write(m.norm)
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
        if m.dimension != dimension || m.levels != levels || m.coding != coding { m = makeMessage() }
        let start = r.position
        let normBits = UInt32(truncatingIfNeeded: try r.read(bits: 32))
        let norm = Float(bitPattern: normBits)
        guard norm.isFinite, normBits >> 31 == 0 else {
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
        precondition(y.count == dimension, "vector length \(y.count) != d = \(dimension)")
        precondition(m.dimension == dimension && m.levels == levels && m.coding == coding, "message of another compressor")
        let c = Float(Double(s) * Double(m.norm) / Double(levels))
        if c == 0 || m.norm == 0 { return }
        let py = y.baseAddress!
        switch coding {
        case .elias:
            for (i, v) in zip(m.indices, m.values) { py[Int(i)] += c * Float(v) }
        case .fixed:
            let d = dimension, w = fieldWidth
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
                            let old = p.loadUnaligned(as: SIMD4<Float>.self)
                            p.storeBytes(of: old + cv * SIMD4<Float>(v), as: SIMD4<Float>.self)
                        }
                    }
                }
                QSGD.forEachTailField(dimension: d, width: w, words: words) { i, v in py[i] += c * Float(v) }
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
        eliasBits = 32 + EliasOmega.bits(of: UInt64(idx.count) + 1) + bits
    }
}

// MARK: - Quantization kernel

extension QSGD {
    /// A value handed to `concurrentPerform`'s workers; see `QSGD.parallelFor`.
    struct UncheckedSendable<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }

    /// The Philox key and fixed counter words of one `RandomKey`'s stream.
    struct StreamKey {
        var k0: UInt32, k1: UInt32, c1: UInt32, c2: UInt32, c3: UInt32

        init(_ key: RandomKey) {
            k0 = key.k0; k1 = key.k1; c1 = key.c1; c2 = key.c2; c3 = key.c3
        }

        /// `key.block(counter)`.
        @inline(__always) func block(_ counter: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
            Philox4x32.block(counter, c1, c2, c3, key: k0, k1)
        }
    }

    /// The constants of one `compress` call (see the rounding rule on `QSGD`).
    struct QuantParams {
        var stream: StreamKey
        var levels: Int
        var width: Int
        /// σ: r_i = x_i·σ, |r_i| ≤ 256·S.
        var sigma: Float

        /// `norm` and `maxAbs` already scaled by 2^64 for tiny norms; `maxAbs`
        /// may be 0 when it is known not to constrain σ.
        init(stream: StreamKey, levels: Int, width: Int, norm n: Float, maxAbs m: Float) {
            self.stream = stream
            self.levels = levels
            self.width = width
            let limit = Float(256 * levels)
            // σ = 256·S/N, lowered (rarely) until max|x_i|·σ ≤ 256·S.
            var s = limit / n
            if m * s > limit { s = limit / m }
            while m * s > limit { s = s.nextDown }
            sigma = s
        }

        @inline(__always) func block(_ counter: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
            stream.block(counter)
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

    /// Runs `body(0..<n)` on the calling thread and Dispatch's workers.
    /// Every caller gives each index a disjoint slice of memory to write, so
    /// the raw pointers its closure captures are safe to share.
    static func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 {
            if n == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: n) { shared.value($0) }
        }
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

    /// 32-bit × 32-bit → 64-bit products of four lanes, split into halves.
    @inline(__always)
    static func mulHiLo(_ x: SIMD4<UInt32>, _ m: UInt64) -> (hi: SIMD4<UInt32>, lo: SIMD4<UInt32>) {
        let p = SIMD4<UInt64>(truncatingIfNeeded: x) &* SIMD4<UInt64>(repeating: m)
        return (SIMD4<UInt32>(truncatingIfNeeded: p &>> 32), SIMD4<UInt32>(truncatingIfNeeded: p))
    }

    /// The Philox4x32-10 state of four blocks, one block a lane.
    struct PhiloxLanes {
        var x0, x1, x2, x3: SIMD4<UInt32>

        @inline(__always)
        init(counters: SIMD4<UInt32>, _ k: StreamKey) {
            x0 = counters
            x1 = SIMD4(repeating: k.c1); x2 = SIMD4(repeating: k.c2); x3 = SIMD4(repeating: k.c3)
        }

        @inline(__always)
        mutating func round(_ ka: SIMD4<UInt32>, _ kb: SIMD4<UInt32>) {
            let (h0, l0) = mulHiLo(x0, 0xD251_1F53)
            let (h1, l1) = mulHiLo(x2, 0xCD9E_8D57)
            x0 = h1 ^ x1 ^ ka; x1 = l1; x2 = h0 ^ x3 ^ kb; x3 = l0
        }

        @inline(__always)
        subscript(word a: Int) -> SIMD4<UInt32> {
            switch a {
            case 0: return x0
            case 1: return x1
            case 2: return x2
            default: return x3
            }
        }
    }

    /// The ten round keys of Philox4x32-10, as lane splats.
    struct PhiloxKeys {
        typealias Ten = (SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>,
                         SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>)
        var a: Ten
        var b: Ten

        init(_ p: StreamKey) {
            func keys(_ k: UInt32, _ step: UInt32) -> Ten {
                func s(_ r: UInt32) -> SIMD4<UInt32> { SIMD4(repeating: k &+ r &* step) }
                return (s(0), s(1), s(2), s(3), s(4), s(5), s(6), s(7), s(8), s(9))
            }
            a = keys(p.k0, 0x9E37_79B9)
            b = keys(p.k1, 0xBB67_AE85)
        }
    }

    /// Philox4x32-10 of eight consecutive blocks (two interleaved sets of
    /// four, lane = block), bit for bit `Philox4x32.block`.
    @inline(__always)
    static func philox8(_ first: UInt32, _ p: StreamKey, _ k: PhiloxKeys) -> (PhiloxLanes, PhiloxLanes) {
        let c = SIMD4<UInt32>(0, 1, 2, 3) &+ first
        var s = PhiloxLanes(counters: c, p), t = PhiloxLanes(counters: c &+ 4, p)
        s.round(k.a.0, k.b.0); t.round(k.a.0, k.b.0)
        s.round(k.a.1, k.b.1); t.round(k.a.1, k.b.1)
        s.round(k.a.2, k.b.2); t.round(k.a.2, k.b.2)
        s.round(k.a.3, k.b.3); t.round(k.a.3, k.b.3)
        s.round(k.a.4, k.b.4); t.round(k.a.4, k.b.4)
        s.round(k.a.5, k.b.5); t.round(k.a.5, k.b.5)
        s.round(k.a.6, k.b.6); t.round(k.a.6, k.b.6)
        s.round(k.a.7, k.b.7); t.round(k.a.7, k.b.7)
        s.round(k.a.8, k.b.8); t.round(k.a.8, k.b.8)
        s.round(k.a.9, k.b.9); t.round(k.a.9, k.b.9)
        return (s, t)
    }

    /// Full blocks for S ≤ 8191: Philox and rounding in SIMD into 32 field
    /// vectors a block, then packing specialized for the field width.
    ///
    /// With r = x·σ, ⌊r⌋ comes from r + 1.5·2^23 (`floorAndByte`); its low 8
    /// bits are the top byte of frac(q)·2^32 (q = r/256) and the bits above
    /// them are ⌊q⌋. The random top byte decides unless it equals that byte
    /// (p = 1/256): such lanes are rounded down here, listed, and finished by
    /// `patchTies`.
    static func quantizeBlocksSIMD(_ x: UnsafePointer<Float>, blocks: Range<Int>, params p: QuantParams, out: UnsafeMutablePointer<UInt32>) {
        // Blocks with ties are listed (branch-free) and finished after the
        // loop, so the rare, unpredictable patch path stays out of it.
        // `random` keeps the Philox words of every block of the chunk for the patch.
        withUnsafeTemporaryAllocation(of: SIMD4<UInt32>.self, capacity: 32 + 8 * blocks.count) { buffer in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: blocks.count) { tiedList in
            let fields = buffer.baseAddress!
            let random = fields + 32                            // block b: random + 8(b − first)
            let first = blocks.lowerBound
            let tied = tiedList.baseAddress!
            let keys = PhiloxKeys(p.stream)
            var tiedCount = 0
            let w = p.width
            let sigma = SIMD4<Float>(repeating: p.sigma)
            let mask = SIMD4<UInt32>(repeating: (1 << UInt32(w)) &- 1)
            for b in blocks {
                let xb = UnsafeRawPointer(x + b * 128)
                let words = random + 8 * (b - first)
                let (s, t) = philox8(UInt32(truncatingIfNeeded: b * 8), p.stream, keys)
                words[0] = s.x0; words[1] = s.x1; words[2] = s.x2; words[3] = s.x3
                words[4] = t.x0; words[5] = t.x1; words[6] = t.x2; words[7] = t.x3
                var tiedWords = 0
                // Field k of the block: coordinates 128b + 4k + lane.
                @inline(__always) func quantize(_ k: Int, _ top: SIMD4<UInt32>) -> SIMD4<Int32> {
                    let (floorR, byte) = floorAndByte(xb.loadUnaligned(fromByteOffset: 16 * k, as: SIMD4<Float>.self), sigma, top)
                    let frac = floorR & 255                              // the top byte of frac(q)·2^32
                    let up = (byte .< frac)._storage                     // −1: round up
                    fields[k] = SIMD4<UInt32>(truncatingIfNeeded: (floorR &>> 8) &- up) & mask
                    return (byte .== frac)._storage                      // −1: tie
                }
                // Field 16g + 4a + c (coordinates 128b + 64g + 16a + 4c + lane)
                // uses byte c of word a of Philox block 8b + 4g + lane.
                for a in 0..<8 {
                    let u = words[a]
                    let tie = quantize(4 * a, u & 0xFF) | quantize(4 * a + 1, (u &>> 8) & 0xFF)
                        | quantize(4 * a + 2, (u &>> 16) & 0xFF) | quantize(4 * a + 3, u &>> 24)
                    let t2 = unsafeBitCast(tie, to: SIMD2<UInt64>.self)
                    tiedWords |= (t2[0] | t2[1] != 0 ? 1 : 0) << a
                }
                pack(fields, into: out + b * 4 * w, width: w)
                tied[tiedCount] = b << 8 | tiedWords
                tiedCount &+= tiedWords != 0 ? 1 : 0
            }
            if tiedCount > 0 {
                patchTies(x, tied: UnsafeBufferPointer(start: tied, count: tiedCount), params: p, random: random, firstBlock: first, out: out)
            }
        }
        }
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

    /// Packs 32 vectors of w-bit fields into the 4w words of a block.
    @inline(__always)
    static func pack(_ fields: UnsafePointer<SIMD4<UInt32>>, into out: UnsafeMutablePointer<UInt32>, width w: Int) {
        switch w {
        case 2: pack(fields, into: out, Width2.self)
        case 3: pack(fields, into: out, Width3.self)
        case 4: pack(fields, into: out, Width4.self)
        case 5: pack(fields, into: out, Width5.self)
        case 6: pack(fields, into: out, Width6.self)
        case 7: pack(fields, into: out, Width7.self)
        case 8: pack(fields, into: out, Width8.self)
        case 9: pack(fields, into: out, Width9.self)
        case 10: pack(fields, into: out, Width10.self)
        case 11: pack(fields, into: out, Width11.self)
        case 12: pack(fields, into: out, Width12.self)
        case 13: pack(fields, into: out, Width13.self)
        default: pack(fields, into: out, Width14.self)
        }
    }

    /// Lane l's 32·w-bit stream gets field k at bit k·w; word j of lane l is
    /// `out[4j + l]`. Fully unrolled: every shift is a constant.
    static func pack<W: FieldWidth>(_ fields: UnsafePointer<SIMD4<UInt32>>, into out: UnsafeMutablePointer<UInt32>, _: W.Type) {
        let w = W.bits
        let o = UnsafeMutableRawPointer(out)
        var acc = SIMD4<UInt32>()
        var used = 0, j = 0
        @inline(__always) func step(_ k: Int) {
            let f = fields[k]
            acc |= f &<< UInt32(truncatingIfNeeded: used)
            used += w
            if used >= 32 {
                o.storeBytes(of: acc, toByteOffset: 16 * j, as: SIMD4<UInt32>.self)
                j += 1
                used -= 32
                acc = used == 0 ? SIMD4<UInt32>() : f &>> UInt32(truncatingIfNeeded: w - used)
            }
        }
        // Written out so that `used` and `j` fold to constants.
        step(0); step(1); step(2); step(3); step(4); step(5); step(6); step(7)
        step(8); step(9); step(10); step(11); step(12); step(13); step(14); step(15)
        step(16); step(17); step(18); step(19); step(20); step(21); step(22); step(23)
        step(24); step(25); step(26); step(27); step(28); step(29); step(30); step(31)
    }

    /// Finishes the tied lanes of the listed blocks (entries b·256 + mask of
    /// the random words with ties). The kernel rounded them down; u_i <
    /// frac(q)·2^32 holds exactly when the low 24 random bits are below
    /// frac(r)·2^24 (the top byte equals the byte of frac(q)), and then the
    /// field becomes ⌊q⌋ + 1. The low bits of eight ties at a time come from
    /// one SIMD Philox pass (`philoxLanes`), so their latency overlaps.
    @inline(never)
    static func patchTies(
        _ x: UnsafePointer<Float>, tied: UnsafeBufferPointer<Int>, params p: QuantParams,
        random: UnsafePointer<SIMD4<UInt32>>, firstBlock: Int, out: UnsafeMutablePointer<UInt32>
    ) {
        let w = p.width
        let mask = UInt64((1 << UInt32(w)) &- 1)
        let sigma = SIMD4<Float>(repeating: p.sigma)
        let keys = PhiloxKeys(p.stream)
        let magicBits = Int32(bitPattern: QSGD.magic.bitPattern)
        withUnsafeTemporaryAllocation(of: (index: Int, floor: Int32, r: Float).self, capacity: 8) { batch in
            var n = 0
            func flush() {
                var c = SIMD8<UInt32>()
                for j in 0..<n { c[j] = 0x8000_0000 | UInt32(truncatingIfNeeded: batch[j].index >> 2) }
                let s = philoxLanes(c.lowHalf, p.stream, keys), t = philoxLanes(c.highHalf, p.stream, keys)
                for j in 0..<n {
                    let (i, fl, r) = batch[j]
                    let lanes = j < 4 ? s : t
                    let low = lanes[word: i & 3][j & 3] & 0xFF_FFFF
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
            for entry in tied {
                let b = entry >> 8
                let words = random + 8 * (b - firstBlock)
                var pending = entry & 0xFF
                while pending != 0 {
                    let a = pending.trailingZeroBitCount
                    pending &= pending &- 1
                    for c in 0..<4 {
                        let k = 4 * a + c
                        let xv = UnsafeRawPointer(x + b * 128 + 4 * k).loadUnaligned(as: SIMD4<Float>.self)
                        let (floorR, byte) = floorAndByte(xv, sigma, (words[a] &>> UInt32(8 * c)) & 0xFF)
                        let tie = SIMD4<UInt32>(truncatingIfNeeded: (byte .== (floorR & 255))._storage)
                        var lanes = (tie & SIMD4(1, 2, 4, 8)).wrappedSum()
                        while lanes != 0 {
                            let l = lanes.trailingZeroBitCount
                            lanes &= lanes &- 1
                            // ⌊r⌋ = floorR − bits(1.5·2^23), exact.
                            batch[n] = (b * 128 + 4 * k + l, floorR[l] &- magicBits, xv[l] * p.sigma)
                            n += 1
                            if n == 8 { flush() }
                        }
                    }
                }
            }
            if n > 0 { flush() }
        }
    }

    /// Philox4x32-10 of four arbitrary counters (lane = block).
    @inline(__always)
    static func philoxLanes(_ counters: SIMD4<UInt32>, _ p: StreamKey, _ k: PhiloxKeys) -> PhiloxLanes {
        var s = PhiloxLanes(counters: counters, p)
        s.round(k.a.0, k.b.0); s.round(k.a.1, k.b.1); s.round(k.a.2, k.b.2); s.round(k.a.3, k.b.3); s.round(k.a.4, k.b.4)
        s.round(k.a.5, k.b.5); s.round(k.a.6, k.b.6); s.round(k.a.7, k.b.7); s.round(k.a.8, k.b.8); s.round(k.a.9, k.b.9)
        return s
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
