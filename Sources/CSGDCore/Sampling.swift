import CKernels
/// Reusable scratch memory for `Sampling.withoutReplacement`, so that drawing
/// K indices every step allocates nothing after the first draw.
public struct SamplingWorkspace: Sendable {
    @usableFromInline var table: [UInt32] = []   // open-addressing set of index + 1 (0 = empty)
    @usableFromInline var bitmap: [UInt64] = []
    @usableFromInline var scratch: [UInt32] = []
    public init() {}
}

/// Uniform sampling of K distinct indices out of d from a keyed stream.
public enum Sampling {
    /// Writes K = `out.count` distinct indices drawn uniformly without
    /// replacement from `0 ..< d`, in ascending order, into `out`.
    ///
    /// Floyd's algorithm draws exactly K bounded integers from the stream of
    /// `key` (`RandomStream.nextInt(below:)`'s words and rejections). When K
    /// is small against d, membership is kept in a hash set and a radix sort
    /// orders the K indices. Otherwise (K ≥ d/1024) a C kernel
    /// (`csgd_sample_bitmap`) keeps it in a bitmap of d bits and reads the
    /// ascending list back from the bitmap, clearing it as it goes. Both give
    /// the same set for the same key, so the result depends only on (key, K,
    /// d). Expected time O(K): the bitmap path's scan of d/64 words is at most
    /// 16·K of them.
    /// - Precondition: `0 <= K <= d <= 2^32`.
    public static func withoutReplacement(
        d: Int, key: RandomKey, into out: UnsafeMutableBufferPointer<UInt32>,
        workspace ws: inout SamplingWorkspace
    ) {
        withoutReplacement(d: d, key: key, into: out, workspace: &ws, useBitmap: out.count * 1024 >= d)
    }

    /// The same draw with the membership structure chosen by the caller, and
    /// for the bitmap, the path of its Philox words (`csgd_philox_blocks`:
    /// sixteen blocks at a time on AVX-512, eight on AVX2, one portably). All
    /// must agree; tests check that they do.
    static func withoutReplacement(
        d: Int, key: RandomKey, into out: UnsafeMutableBufferPointer<UInt32>,
        workspace ws: inout SamplingWorkspace, useBitmap: Bool, path: KernelPath = .best
    ) {
        let k = out.count
        precondition(k >= 0 && k <= d && d <= (1 << 32), "need 0 <= K <= d <= 2^32")
        guard k > 0 else { return }
        if useBitmap {
            precondition(path.isAvailable, "this CPU cannot run the \(path) path")
            let words = (d + 63) / 64
            // All zeros between calls (the kernel clears what it sets).
            if ws.bitmap.count < words { ws.bitmap = [UInt64](repeating: 0, count: words) }
            let n = ws.bitmap.withUnsafeMutableBufferPointer { bm in
                csgd_sample_bitmap(path, key.k0, key.k1, key.c1, key.c2, key.c3, UInt64(d), k,
                                   bm.baseAddress!, out.baseAddress!)
            }
            precondition(n == k, "bitmap sampling found \(n) indices, not \(k)")
            return
        }
        var stream = RandomStream(key: key)
        drawWithHashSet(d: d, stream: &stream, into: out, workspace: &ws)
        if ws.scratch.count < k + radixCountSlots { ws.scratch = [UInt32](repeating: 0, count: k + radixCountSlots) }
        ws.scratch.withUnsafeMutableBufferPointer { tmp in
            radixSort(out, scratch: UnsafeMutableBufferPointer(rebasing: tmp[0..<(k + radixCountSlots)]), maxValue: UInt32(d - 1))
        }
    }

    /// Floyd's draws with membership in an open-addressing hash set of
    /// capacity 2^c ≥ 2K; `out` gets the K indices in table order.
    private static func drawWithHashSet(d: Int, stream: inout RandomStream, into out: UnsafeMutableBufferPointer<UInt32>,
                                        workspace ws: inout SamplingWorkspace) {
        let k = out.count
        var cap = 16
        while cap < 2 * k { cap <<= 1 }
        let shift = UInt64(64 - cap.trailingZeroBitCount)
        if ws.table.count < cap { ws.table = [UInt32](repeating: 0, count: cap) }
        ws.table.withUnsafeMutableBufferPointer { tab in
            for i in 0..<cap { tab[i] = 0 }
            let mask = cap - 1
            var n = 0
            // Inserts v unless present; returns false when it was present.
            @inline(__always) func insert(_ v: Int) -> Bool {
                var h = Int(truncatingIfNeeded: (UInt64(v) &* 0x9E37_79B9_7F4A_7C15) >> shift)
                let tag = UInt32(v + 1)
                while true {
                    let e = tab[h]
                    if e == 0 { tab[h] = tag; return true }
                    if e == tag { return false }
                    h = (h + 1) & mask
                }
            }
            for j in (d - k)..<d {
                let t = Int(stream.nextInt(below: UInt64(j + 1)))
                if !insert(t) { _ = insert(j) }
                n += 1
            }
            var m = 0
            for i in 0..<cap where tab[i] != 0 {
                out[m] = tab[i] - 1
                m += 1
            }
            precondition(m == k && n == k)
        }
    }

    /// Extra scratch (beyond `a.count`) with which `radixSort` needs no
    /// allocation: its 2048 digit counts.
    public static let radixCountSlots = 2048

    /// LSD radix sort of `a` in place (11-bit digits, only as many passes as
    /// `maxValue` needs). `scratch` must be at least as long as `a`; when it
    /// has `radixCountSlots` more, the digit counts live there too and the
    /// sort allocates nothing (otherwise they take a temporary allocation).
    public static func radixSort(
        _ a: UnsafeMutableBufferPointer<UInt32>, scratch: UnsafeMutableBufferPointer<UInt32>, maxValue: UInt32
    ) {
        let n = a.count
        guard n > 1 else { return }
        precondition(scratch.count >= n)
        precondition(n < 1 << 32, "radixSort counts in UInt32")
        if scratch.count >= n + radixCountSlots {
            radixPasses(a, scratch: scratch.baseAddress!, counts: scratch.baseAddress! + n, maxValue: maxValue)
        } else {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: radixCountSlots) { c in
                radixPasses(a, scratch: scratch.baseAddress!, counts: c.baseAddress!, maxValue: maxValue)
            }
        }
    }

    private static func radixPasses(_ a: UnsafeMutableBufferPointer<UInt32>, scratch: UnsafeMutablePointer<UInt32>,
                                    counts c: UnsafeMutablePointer<UInt32>, maxValue: UInt32) {
        let n = a.count
        let bitsNeeded = 32 - maxValue.leadingZeroBitCount
        var src = a.baseAddress!, dst = scratch
        var shift: UInt32 = 0
        var passes = 0
        while Int(shift) < bitsNeeded {
            for i in 0..<radixCountSlots { c[i] = 0 }
            for i in 0..<n { c[Int((src[i] >> shift) & 2047)] &+= 1 }
            var sum: UInt32 = 0
            for i in 0..<radixCountSlots { let t = c[i]; c[i] = sum; sum &+= t }
            for i in 0..<n {
                let v = src[i]
                let b = Int((v >> shift) & 2047)
                dst[Int(c[b])] = v
                c[b] &+= 1
            }
            swap(&src, &dst)
            shift += 11
            passes += 1
        }
        if passes % 2 == 1 { a.baseAddress!.update(from: scratch, count: n) }
    }
}
