import Foundation

/// A sequential reader over one keyed Philox stream.
///
/// Word `n` of the stream is word `n % 4` of block `n / 4` of the key, so the
/// numbers drawn depend only on the key and how many have been drawn before:
/// a stream can be re-created, skipped ahead (`position`) or split into chunks
/// generated in parallel, and it gives the same bits every time. Use it for
/// scalar draws; the bulk fillers in `RandomFill` are faster for vectors.
public struct RandomStream: Sendable {
    public let key: RandomKey
    @usableFromInline var blockIndex: UInt32
    @usableFromInline var buffered: (UInt32, UInt32, UInt32, UInt32)
    @usableFromInline var used: Int   // words of `buffered` already consumed (4 = empty)

    /// A stream at the start of `key`.
    public init(key: RandomKey) {
        self.key = key
        self.blockIndex = 0
        self.buffered = (0, 0, 0, 0)
        self.used = 4
    }

    /// The number of 32-bit words consumed so far (a checkpointable cursor).
    public var position: UInt64 {
        get { used == 4 ? UInt64(blockIndex) * 4 : (UInt64(blockIndex) - 1) * 4 + UInt64(used) }
        set {
            blockIndex = UInt32(truncatingIfNeeded: newValue / 4)
            let r = Int(newValue % 4)
            if r == 0 { used = 4 } else {
                buffered = key.block(blockIndex)
                blockIndex &+= 1
                used = r
            }
        }
    }

    /// The next uniform 32-bit word.
    @inlinable @inline(__always)
    public mutating func nextUInt32() -> UInt32 {
        if used == 4 {
            buffered = key.block(blockIndex)
            blockIndex &+= 1
            used = 0
        }
        let w: UInt32
        switch used {
        case 0: w = buffered.0
        case 1: w = buffered.1
        case 2: w = buffered.2
        default: w = buffered.3
        }
        used += 1
        return w
    }

    /// The next uniform 64-bit word (two 32-bit words, low first).
    @inlinable @inline(__always)
    public mutating func nextUInt64() -> UInt64 {
        let lo = UInt64(nextUInt32())
        return lo | (UInt64(nextUInt32()) << 32)
    }

    /// A uniform integer in `0 ..< bound`, exactly uniform (Lemire's
    /// multiply-shift with rejection). `bound` must be in `1 ... 2^32`.
    @inlinable
    public mutating func nextInt(below bound: UInt64) -> UInt64 {
        precondition(bound >= 1 && bound <= (1 << 32), "bound out of range")
        if bound == 1 << 32 { return UInt64(nextUInt32()) }
        var m = UInt64(nextUInt32()) &* bound
        var low = UInt32(truncatingIfNeeded: m)
        let b32 = UInt32(bound)
        if low < b32 {
            let threshold = (0 &- b32) % b32
            while low < threshold {
                m = UInt64(nextUInt32()) &* bound
                low = UInt32(truncatingIfNeeded: m)
            }
        }
        return m >> 32
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    @inlinable @inline(__always)
    public mutating func nextUnitFloat() -> Float {
        Float(nextUInt32() >> 8) * 0x1p-24
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    @inlinable @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(nextUInt64() >> 11) * 0x1p-53
    }

    /// A standard normal deviate (Box–Muller on two 53-bit uniforms; the sine
    /// branch is discarded so each call consumes exactly four words).
    @inlinable
    public mutating func nextGaussian() -> Double {
        let u1 = 1.0 - nextUnitDouble()   // (0, 1]
        let u2 = nextUnitDouble()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }
}
