import CSGDCore

/// The message of `sign`: the scale ‖x‖₁/d and one sign bit a coordinate,
/// packed 64 to a word (bit i % 64 of word i / 64 is 1 when x_i is negative).
public struct SignMessage: Sendable, Equatable {
    public var scale: Float = 0
    public var words: [UInt64]
    public init(dimension: Int) { words = [UInt64](repeating: 0, count: (dimension + 63) / 64) }
}

/// `sign`: C(x) = (‖x‖₁/d)·sign(x), the scaled sign of signSGD with error
/// feedback (Karimireddy et al. 2019). μ = ‖x‖₁²/(d‖x‖₂²) ≥ 1/d; neither
/// linear nor unbiased. The sign is the IEEE sign bit, so +0 maps to +scale.
///
/// Wire: the scale as Float32, then d sign bits (1 = negative): d + 32 bits.
/// The decoder requires a finite, non-negative scale.
public struct ScaledSign: Compressor {
    public let dimension: Int

    public init(dimension: Int) {
        precondition(dimension >= 1, "dimension must be positive")
        self.dimension = dimension
    }

    public var isLinear: Bool { false }
    public var isUnbiased: Bool { false }
    public var description: String { "sign" }

    public func makeMessage() -> SignMessage { SignMessage(dimension: dimension) }

    public func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into m: inout SignMessage) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        let n = dimension
        // One pass: sign bits and Σ|x_i| together (the pass is memory-bound,
        // so reading x once is what matters). The sum is blocked as in
        // `Kernels`: 16 Float lanes over 1024 elements, blocks added in Double.
        var total = 0.0
        m.words.withUnsafeMutableBufferPointer { w in
            let raw = UnsafeRawPointer(x.baseAddress!)
            let lane = SIMD16<Int32>(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
            let zero = SIMD16<Int32>(repeating: 0)
            let full = n / 64
            var wi = 0
            while wi < full {
                let blockEnd = min(full, wi + 16)
                var accF = SIMD16<Float>()
                while wi < blockEnd {
                    var word: UInt64 = 0
                    for q in 0..<4 {
                        let v = raw.loadUnaligned(fromByteOffset: wi * 256 + q * 64, as: SIMD16<Int32>.self)
                        let bitsMask = zero.replacing(with: lane, where: v .< zero).wrappedSum()
                        word |= UInt64(UInt16(truncatingIfNeeded: bitsMask)) << UInt64(16 * q)
                        let magnitude = unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF
                        accF += unsafeBitCast(magnitude, to: SIMD16<Float>.self)
                    }
                    w[wi] = word
                    wi += 1
                }
                total += Double(accF.sum())
            }
            if full < w.count {
                var word: UInt64 = 0
                var s = 0.0
                for i in (full * 64)..<n {
                    let f = x[i]
                    word |= UInt64(f.bitPattern >> 31) << UInt64(i - full * 64)
                    s += Double(abs(f))
                }
                w[full] = word
                total += s
            }
        }
        if total == .infinity {
            // A block's Float lanes overflowed (|x_i| near Float.greatestFiniteMagnitude):
            // sum again in Double, where ‖x‖₁ of finite Floats cannot overflow, so
            // the scale ‖x‖₁/d ≤ max|x_i| stays finite. Non-finite x keep their ∞ or NaN.
            total = 0
            for i in 0..<n { total += Double(abs(x[i])) }
        }
        m.scale = Float(total / Double(n))
    }

    public func bits(of m: SignMessage) -> Int { 32 + dimension }

    public func encode(_ m: SignMessage, into w: inout BitWriter) {
        w.write(m.scale)
        let fullBytes = dimension / 8
        m.words.withUnsafeBytes { raw in
            if w.bitCount % 8 == 0 {
                w.write(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<fullBytes]))
            } else {
                // After fields that end mid-byte: the same bits, a byte at a time.
                for i in 0..<fullBytes { w.write(UInt64(raw[i]), bits: 8) }
            }
            let rest = dimension % 8
            if rest > 0 { w.write(UInt64(raw[fullBytes]), bits: rest) }
        }
    }

    public func decode(from r: inout BitReader, key: RandomKey, into m: inout SignMessage) throws {
        try r.require(32 + dimension)
        let s = try r.readFloat()
        guard s.isFinite, s.sign == .plus else { throw WireFormatError.invalid("sign scale \(s) is not a finite non-negative number") }
        if m.words.count != (dimension + 63) / 64 { m = SignMessage(dimension: dimension) }
        m.scale = s
        let fullBytes = dimension / 8, rest = dimension % 8
        try m.words.withUnsafeMutableBytes { dst in
            for i in 0..<dst.count { dst[i] = 0 }
            if r.position % 8 == 0 {
                let raw = try r.readBytes(fullBytes)
                if fullBytes > 0 { dst.baseAddress!.copyMemory(from: raw.baseAddress!, byteCount: fullBytes) }
            } else {
                // The message starts mid-byte: read the sign bytes as 8-bit fields.
                for i in 0..<fullBytes { dst[i] = UInt8(try r.read(bits: 8)) }
            }
            if rest > 0 { dst[fullBytes] = UInt8(try r.read(bits: rest)) }
        }
        // Words are stored little-endian on the wire; convert on big-endian hosts.
        for i in 0..<m.words.count { m.words[i] = UInt64(littleEndian: m.words[i]) }
    }

    public func add(_ m: SignMessage, scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension)
        expand(m, scaledBy: s, into: y, accumulate: true)
    }

    /// y ← C(x), written in one pass (no zeroing first); the same values as
    /// zero-then-`add` (0 + v, so a zero scale gives +0 everywhere).
    public func decompress(_ m: SignMessage, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension)
        expand(m, scaledBy: 1, into: y, accumulate: false)
    }

    /// y ← y + s·C(x) (accumulate) or y ← 0 + s·C(x).
    @inline(__always)
    private func expand(_ m: SignMessage, scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
        let pos = s * m.scale, neg = -pos
        let n = dimension
        m.words.withUnsafeBufferPointer { w in
            let p = y.baseAddress!
            let full = n / 64
            // Flip the sign bit of `pos` where the message bit is set.
            let posBits = SIMD16<UInt32>(repeating: pos.bitPattern)
            let shifts = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            let raw = UnsafeMutableRawPointer(p)
            for wi in 0..<full {
                let word = w[wi]
                for q in 0..<4 {
                    let b16 = UInt32(truncatingIfNeeded: word >> UInt64(16 * q)) & 0xFFFF
                    let signs = ((SIMD16<UInt32>(repeating: b16) &>> shifts) & 1) &<< 31
                    let v = unsafeBitCast(posBits ^ signs, to: SIMD16<Float>.self)
                    let off = wi * 256 + q * 64
                    let y16 = accumulate ? raw.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self) : SIMD16<Float>()
                    raw.storeBytes(of: y16 + v, toByteOffset: off, as: SIMD16<Float>.self)
                }
            }
            for i in (full * 64)..<n {
                let v = (w[full] >> UInt64(i - full * 64)) & 1 == 0 ? pos : neg
                p[i] = (accumulate ? p[i] : 0) + v
            }
        }
    }
}
