/// The Philox4x32-10 counter-based generator (Salmon et al., SC'11; Random123).
///
/// A pure function from a 128-bit counter and a 64-bit key to 128 random bits:
/// there is no hidden state, so any worker can compute any block of any stream
/// without communication, in any order, and get the same bits. Checked against
/// the Random123 known-answer vectors in the tests.
public enum Philox4x32 {
    @usableFromInline static let m0: UInt64 = 0xD251_1F53
    @usableFromInline static let m1: UInt64 = 0xCD9E_8D57
    @usableFromInline static let w0: UInt32 = 0x9E37_79B9
    @usableFromInline static let w1: UInt32 = 0xBB67_AE85

    /// Ten rounds of Philox4x32 on `counter` under `key`.
    @inlinable @inline(__always)
    public static func block(
        _ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32,
        key k0: UInt32, _ k1: UInt32
    ) -> (UInt32, UInt32, UInt32, UInt32) {
        var x0 = c0, x1 = c1, x2 = c2, x3 = c3
        var a = k0, b = k1
        @inline(__always) func round() {
            let p0 = m0 &* UInt64(x0)
            let p1 = m1 &* UInt64(x2)
            let y0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ x1 ^ a
            let y1 = UInt32(truncatingIfNeeded: p1)
            let y2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ x3 ^ b
            let y3 = UInt32(truncatingIfNeeded: p0)
            x0 = y0; x1 = y1; x2 = y2; x3 = y3
        }
        round()
        for _ in 1..<10 {
            a &+= w0; b &+= w1
            round()
        }
        return (x0, x1, x2, x3)
    }
}
