/// Reads bit fields written by `BitWriter` from untrusted bytes.
///
/// Every read is bounds-checked and throws `WireFormatError.truncated` past
/// the end; `finish()` rejects trailing bytes and non-zero padding, so a
/// decoder that ends with it accepts exactly one encoding of each message.
/// The reader borrows its bytes: use it inside `withUnsafeBytes`.
public struct BitReader {
    public let bytes: UnsafeRawBufferPointer
    public var position: Int = 0   // in bits

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Bits left before the end of the bytes (padding included).
    @inlinable public var remainingBits: Int { bytes.count * 8 - position }

    /// Throws unless at least `n` more bits are available.
    @inlinable @inline(__always)
    public func require(_ n: Int) throws {
        if n > remainingBits || n < 0 { throw WireFormatError.truncated(neededBits: n, availableBits: remainingBits) }
    }

    @inline(__always) @usableFromInline
    func load64(atByte i: Int) -> UInt64 {
        let n = bytes.count
        if i + 8 <= n { return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) }
        var w: UInt64 = 0
        var k = 0
        while i + k < n && k < 8 {
            w |= UInt64(bytes[i + k]) << UInt64(8 * k)
            k += 1
        }
        return w
    }

    /// Reads `n` bits (`0 <= n <= 64`).
    @inlinable @inline(__always)
    public mutating func read(bits n: Int) throws -> UInt64 {
        if n == 0 { return 0 }
        try require(n)
        let byte = position >> 3, off = position & 7
        var v = load64(atByte: byte) >> UInt64(off)
        let got = 64 - off
        if n > got { v |= load64(atByte: byte + 8) << UInt64(got) }
        position += n
        return n == 64 ? v : v & ((1 << UInt64(n)) - 1)
    }

    /// Reads `out.count` fields of `n` bits each (`0 <= n <= 32`), as
    /// `read(bits:)` would one after another: one bounds check for the whole
    /// run, then a single unaligned 64-bit load a field (a field starts at
    /// most 7 bits into a byte, so 7 + 32 bits fit), with the last few
    /// fields near the end of the bytes read one by one.
    public mutating func read(bits n: Int, into out: UnsafeMutableBufferPointer<UInt32>) throws {
        precondition(n >= 0 && n <= 32, "field width \(n) not in 0...32")
        let count = out.count
        guard count > 0 else { return }
        if n == 0 { out.update(repeating: 0); return }
        try require(n * count)
        let mask = (UInt64(1) << UInt64(n)) - 1
        let dst = out.baseAddress!
        var j = 0
        if let base = bytes.baseAddress, bytes.count >= 8 {
            let lastSafeByte = bytes.count - 8
            var pos = position
            while j < count && pos >> 3 <= lastSafeByte {
                let w = UInt64(littleEndian: (base + (pos >> 3)).loadUnaligned(as: UInt64.self))
                dst[j] = UInt32(truncatingIfNeeded: (w >> UInt64(pos & 7)) & mask)
                pos += n
                j += 1
            }
            position = pos
        }
        while j < count {
            dst[j] = UInt32(truncatingIfNeeded: try read(bits: n))
            j += 1
        }
    }

    /// Reads one bit.
    @inlinable @inline(__always)
    public mutating func readBit() throws -> Bool { try read(bits: 1) == 1 }

    /// Reads a Float32 bit pattern.
    @inlinable @inline(__always)
    public mutating func readFloat() throws -> Float {
        Float(bitPattern: UInt32(truncatingIfNeeded: try read(bits: 32)))
    }

    /// Returns the next `count` whole bytes; the stream must be at a byte
    /// boundary.
    public mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard position % 8 == 0 else { throw WireFormatError.invalid("byte field not at a byte boundary") }
        guard count >= 0, count <= remainingBits / 8 else {
            throw WireFormatError.truncated(neededBits: max(0, count) * 8, availableBits: remainingBits)
        }
        let start = position / 8
        position += count * 8
        return UnsafeRawBufferPointer(rebasing: bytes[start ..< start + count])
    }

    /// Reads `out.count` Float32 values.
    public mutating func read(floats out: UnsafeMutableBufferPointer<Float>) throws {
        if position % 8 == 0 {
            let raw = try readBytes(out.count * 4)
            if let dst = out.baseAddress, out.count > 0 {
                UnsafeMutableRawPointer(dst).copyMemory(from: raw.baseAddress!, byteCount: out.count * 4)
            }
        } else {
            try require(out.count * 32)
            for i in 0..<out.count { out[i] = try readFloat() }
        }
    }

    /// Checks that the message ended here: no whole byte left over and the
    /// padding bits of the last byte are zero.
    public func finish() throws {
        let rem = remainingBits
        if rem >= 8 { throw WireFormatError.trailingBytes(rem / 8) }
        if rem > 0 {
            let last = bytes[bytes.count - 1]
            if last >> UInt8(8 - rem) != 0 { throw WireFormatError.nonZeroPadding }
        }
    }
}
