/// Appends bit fields, least significant bit first, to a growing byte string.
///
/// Bit `i` of the stream is bit `i % 8` of byte `i / 8`; the last byte is
/// padded with zero bits. Every wire format in csgd is written through it, so
/// `bitCount` is exactly the number of bits a message carries.
public struct BitWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    @usableFromInline var acc: UInt64 = 0
    @usableFromInline var accBits: Int = 0

    public init(reservingBits bits: Int = 0) { bytes.reserveCapacity((bits + 7) / 8 + 8) }

    /// The number of bits written so far.
    @inlinable public var bitCount: Int { bytes.count * 8 + accBits }

    /// Forgets the contents, keeping capacity.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        acc = 0
        accBits = 0
    }

    /// Appends the low `n` bits of `value` (`0 <= n <= 64`; higher bits of
    /// `value` must be zero).
    @inlinable @inline(__always)
    public mutating func write(_ value: UInt64, bits n: Int) {
        if n == 0 { return }
        acc |= value &<< UInt64(accBits)
        let total = accBits + n
        if total >= 64 {
            appendWord(acc)
            acc = accBits == 0 ? 0 : value &>> UInt64(64 - accBits)
            accBits = total - 64
        } else {
            accBits = total
        }
    }

    @usableFromInline mutating func appendWord(_ w: UInt64) {
        withUnsafeBytes(of: w.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends one bit.
    @inlinable @inline(__always)
    public mutating func write(bit: Bool) { write(bit ? 1 : 0, bits: 1) }

    /// Appends the IEEE-754 bit pattern of `f` (32 bits).
    @inlinable @inline(__always)
    public mutating func write(_ f: Float) { write(UInt64(f.bitPattern), bits: 32) }

    /// Appends whole bytes; the stream must be at a byte boundary.
    public mutating func write(bytes raw: UnsafeRawBufferPointer) {
        precondition(accBits % 8 == 0, "write(bytes:) needs a byte boundary")
        flushWholeBytes()
        bytes.append(contentsOf: raw)
    }

    /// Appends Float32 bit patterns; fast when at a byte boundary.
    public mutating func write(floats x: UnsafeBufferPointer<Float>) {
        if accBits % 8 == 0 {
            write(bytes: UnsafeRawBufferPointer(x))
        } else {
            for v in x { write(v) }
        }
    }

    mutating func flushWholeBytes() {
        while accBits >= 8 {
            bytes.append(UInt8(truncatingIfNeeded: acc))
            acc >>= 8
            accBits -= 8
        }
    }

    /// Pads the stream to whole bytes in place (zero bits), so that `bytes`
    /// is the finished stream without the copy `finished()` makes. Writes
    /// after it continue after the padding.
    public mutating func padToByte() {
        flushWholeBytes()
        if accBits > 0 {
            bytes.append(UInt8(truncatingIfNeeded: acc))
            acc = 0
            accBits = 0
        }
    }

    /// The stream padded to whole bytes.
    public func finished() -> [UInt8] {
        var out = bytes
        var a = acc, b = accBits
        while b > 0 {
            out.append(UInt8(truncatingIfNeeded: a))
            a >>= 8
            b -= 8
        }
        return out
    }
}
