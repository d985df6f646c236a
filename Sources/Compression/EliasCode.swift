/// Elias-ω ("Elias recursive") codes of positive integers, as QSGD uses them
/// (Alistarh et al. 2017, §3.2) for run lengths and quantization levels.
///
/// The code of n ≥ 1 is a sequence of groups followed by a single `0` bit.
/// The last group is the binary form of n (with its leading `1`); each group
/// before it is the binary form of (bit length of the next group − 1); the
/// first group is the one of length 2 (`10` or `11`), and n = 1 has no group,
/// so its code is just `0`. Examples in stream order: 1 → `0`, 2 → `10 0`,
/// 4 → `10 100 0`, 16 → `10 100 10000 0`. The code takes
/// `1 + Σ (group lengths)` bits: 1 for n = 1, 3 for 2…3, 6 for 4…7, at most 76
/// for 64-bit values.
///
/// Bit layout in csgd's LSB-first `BitWriter` stream: every group is written
/// most significant bit first, so the bits appear in the stream in exactly the
/// textbook order above (the first stream bit of every group is its leading
/// `1`). Internally a group is bit-reversed and written with one `write` call.
/// The decoder reads the continue/stop bit, then the remaining bits of the
/// group; a group would have to be 65 bits or longer to overflow, and the
/// decoder throws at that point, so any bit string ends after at most six
/// groups (a valid code, a throw on truncation, or a throw on overflow).
public enum EliasOmega {
    /// The longest code of a 64-bit value (n ≥ 2^63): 1 + 2 + 3 + 6 + 64 bits.
    public static let maxBits = 76

    /// The exact length in bits of the code of `n` (n ≥ 1).
    @inlinable
    public static func bits(of n: UInt64) -> Int {
        precondition(n >= 1, "Elias-ω codes positive integers")
        var total = 1
        var v = n
        while v > 1 {
            let len = UInt64.bitWidth - v.leadingZeroBitCount
            total += len
            v = UInt64(len - 1)
        }
        return total
    }

    /// Writes the code of `n` (n ≥ 1).
    @inlinable
    public static func write(_ n: UInt64, into w: inout BitWriter) {
        precondition(n >= 1, "Elias-ω codes positive integers")
        if n >> 32 == 0 {
            // At most 1 + 2 + 3 + 5 + 32 = 43 bits: one word, one call.
            let c = code(n)
            w.write(c.value, bits: c.bits)
        } else {
            // Prefix groups for the length, then the 33…64-bit group, then 0.
            let len = UInt64.bitWidth - n.leadingZeroBitCount
            let prefix = code(UInt64(len - 1))
            w.write(prefix.value, bits: prefix.bits - 1)   // without its final 0
            w.write(reversed(n, bits: len), bits: len)
            w.write(0, bits: 1)
        }
    }

    /// Reads one code. Throws `WireFormatError.truncated` when the bytes end
    /// first and `.invalid` when the value would not fit in 64 bits.
    @inlinable
    public static func read(from r: inout BitReader) throws -> UInt64 {
        var n: UInt64 = 1
        while true {
            if try r.read(bits: 1) == 0 { return n }
            // The next group has n + 1 bits: the 1 just read and n more.
            guard n < 64 else { throw WireFormatError.invalid("Elias-ω code longer than 64 bits") }
            let k = Int(n)
            let low = try r.read(bits: k)
            n = (1 &<< UInt64(k)) | reversed(low, bits: k)
        }
    }

    /// The code of `n < 2^32` as a bit string in stream order (bit 0 first).
    @inlinable @inline(__always)
    static func code(_ n: UInt64) -> (value: UInt64, bits: Int) {
        // Built from the end: start with the final 0, prepend groups.
        var value: UInt64 = 0
        var total = 1
        var v = n
        while v > 1 {
            let len = UInt64.bitWidth - v.leadingZeroBitCount
            value = reversed(v, bits: len) | (value &<< UInt64(len))
            total += len
            v = UInt64(len - 1)
        }
        return (value, total)
    }

    /// The low `bits` bits of `v` in reverse order (1 ≤ bits ≤ 64).
    @inlinable @inline(__always)
    static func reversed(_ v: UInt64, bits: Int) -> UInt64 {
        var x = v
        x = ((x >> 1) & 0x5555_5555_5555_5555) | ((x & 0x5555_5555_5555_5555) << 1)
        x = ((x >> 2) & 0x3333_3333_3333_3333) | ((x & 0x3333_3333_3333_3333) << 2)
        x = ((x >> 4) & 0x0F0F_0F0F_0F0F_0F0F) | ((x & 0x0F0F_0F0F_0F0F_0F0F) << 4)
        return x.byteSwapped &>> UInt64(64 - bits)
    }
}
