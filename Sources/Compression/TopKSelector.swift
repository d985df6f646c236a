import CSGDCore

/// Exact top-K selection by magnitude in O(d): the K indices of largest |x_i|,
/// ties broken toward the lower index, returned in ascending order.
///
/// Magnitudes are compared as the integer key `bitPattern & 0x7FFF_FFFF`,
/// whose order equals the order of |x_i| (NaN counts as larger than ∞). A
/// threshold on the top 16 bits of the key is estimated from a strided sample
/// of 2^16 coordinates; one vectorised pass over x collects the candidates at
/// or above it (about 1.25 K for smooth data); two rounds of radix selection
/// (16 then 15 bits) on the candidates find the exact set. When the sample
/// misjudges (fewer than K or far too many candidates) the threshold comes
/// from an exact histogram of all of x instead, so the result never depends on
/// the sample, only the time does. Holds reusable scratch; one per worker.
public struct TopKSelector: Sendable {
    var candidates: [UInt32] = []
    var candidateKeys: [UInt32] = []
    var candidateCount = 0
    var selected: [UInt32] = []
    var scratch: [UInt32] = []
    var histogram: [UInt32] = []
    var packed: [UInt64] = []

    public init() {}

    static let sampleSize = 1 << 16
    static let chunk = 4096
    /// Below this d a comparison sort beats clearing 2^16-bin histograms.
    static let smallDimension = 1 << 13

    /// Writes the top-`k` indices of `x` (by |x_i|, ties to the lower index),
    /// ascending, into `out` (whose count must be `k`, 1 ≤ k ≤ x.count).
    public mutating func select(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<UInt32>) {
        let n = x.count, k = out.count
        precondition(k >= 1 && k <= n, "need 1 <= K <= d")
        if k == n {
            for i in 0..<n { out[i] = UInt32(i) }
            return
        }
        if n <= TopKSelector.smallDimension {
            selectBySorting(x, into: out)
            return
        }
        if histogram.isEmpty { histogram = [UInt32](repeating: 0, count: 1 << 16) }
        x.withMemoryRebound(to: UInt32.self) { bits in
            var found = false
            if n >= 8 * TopKSelector.sampleSize, let (b, above) = sampledThreshold(bits, k: k) {
                let expected = above * (n / TopKSelector.sampleSize)
                found = collect(bits, digitAtLeast: b, capacity: min(n, 2 * expected + 2 * k + 4096), k: k)
            }
            if !found {
                let b = exactThreshold(bits, k: k)
                let ok = collect(bits, digitAtLeast: b, capacity: n, k: k)
                precondition(ok, "exact top-K threshold must yield at least K candidates")
            }
        }
        refine(k: k, maxIndex: UInt32(n - 1), into: out)
    }

    /// Small d: sort (¬key, index) pairs, so larger magnitudes and then lower
    /// indices come first; keep K; order them by index.
    private mutating func selectBySorting(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<UInt32>) {
        let n = x.count, k = out.count
        if packed.count < n { packed = [UInt64](repeating: 0, count: n) }
        packed.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                let key = x[i].bitPattern & 0x7FFF_FFFF
                p[i] = (UInt64(0x7FFF_FFFF - key) << 32) | UInt64(i)
            }
            var head = UnsafeMutableBufferPointer(rebasing: p[0..<n])
            head.sort()
            for j in 0..<k { out[j] = UInt32(truncatingIfNeeded: head[j]) }
        }
        var sorted = out
        sorted.sort()
    }

    /// A 16-bit digit whose share of a strided sample exceeds K/d with a
    /// margin of about 5 standard deviations, and the sample count at or above it.
    private mutating func sampledThreshold(_ bits: UnsafeBufferPointer<UInt32>, k: Int) -> (Int, Int)? {
        let n = bits.count, m = TopKSelector.sampleSize
        let step = n / m
        let qm = Double(k) * Double(m) / Double(n)
        let want = Int(1.1 * qm + 4 * qm.squareRoot() + 16)
        return histogram.withUnsafeMutableBufferPointer { h -> (Int, Int)? in
            for i in 0..<h.count { h[i] = 0 }
            for j in 0..<m { h[Int((bits[j * step] & 0x7FFF_FFFF) >> 15)] &+= 1 }
            var cum = 0
            for b in stride(from: h.count - 1, through: 0, by: -1) {
                cum += Int(h[b])
                if cum >= want { return (b, cum) }
            }
            return nil   // even the whole sample is short of `want`: exact path
        }
    }

    /// The largest 16-bit digit b with count(digit ≥ b) ≥ k, from all of x.
    private mutating func exactThreshold(_ bits: UnsafeBufferPointer<UInt32>, k: Int) -> Int {
        histogram.withUnsafeMutableBufferPointer { h in
            for i in 0..<h.count { h[i] = 0 }
            for w in bits { h[Int((w & 0x7FFF_FFFF) >> 15)] &+= 1 }
            var cum = 0
            for b in stride(from: h.count - 1, through: 0, by: -1) {
                cum += Int(h[b])
                if cum >= k { return b }
            }
            return 0
        }
    }

    /// Collects, in ascending order, every index (and key) whose key has top
    /// digit ≥ b. Returns false when more than `capacity` or fewer than `k` qualify.
    private mutating func collect(_ bits: UnsafeBufferPointer<UInt32>, digitAtLeast b: Int, capacity: Int, k: Int) -> Bool {
        let n = bits.count
        let t = UInt32(b) << 15
        let chunk = TopKSelector.chunk
        if candidates.count < capacity + chunk {
            candidates = [UInt32](repeating: 0, count: capacity + chunk)
            candidateKeys = [UInt32](repeating: 0, count: capacity + chunk)
        }
        var c = 0
        let ok: Bool = candidates.withUnsafeMutableBufferPointer { cand in
            candidateKeys.withUnsafeMutableBufferPointer { ck in
                let out = cand.baseAddress!, outKey = ck.baseAddress!
                let src = bits.baseAddress!
                let raw = UnsafeRawPointer(src)
                // Keys are < 2^31, so signed lane compares are exact.
                let tv = SIMD16<Int32>(repeating: Int32(bitPattern: t))
                let lane = SIMD16<Int32>(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
                var start = 0
                while start < n {
                    if c > capacity { return false }
                    let end = min(n, start + chunk)
                    var i = start
                    while i + 16 <= end {
                        let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Int32>.self) & 0x7FFF_FFFF
                        let hit = v .>= tv
                        if any(hit) {
                            // Visit only the lanes at or above the threshold.
                            var mask = UInt32(truncatingIfNeeded: (SIMD16<Int32>(repeating: 0).replacing(with: lane, where: hit)).wrappedSum())
                            while mask != 0 {
                                let j = i + mask.trailingZeroBitCount
                                out[c] = UInt32(truncatingIfNeeded: j)
                                outKey[c] = src[j] & 0x7FFF_FFFF
                                c += 1
                                mask &= mask &- 1
                            }
                        }
                        i += 16
                    }
                    while i < end {
                        let key = src[i] & 0x7FFF_FFFF
                        out[c] = UInt32(truncatingIfNeeded: i)
                        outKey[c] = key
                        c &+= key >= t ? 1 : 0
                        i += 1
                    }
                    start = end
                }
                return c <= capacity
            }
        }
        candidateCount = c
        return ok && c >= k
    }

    /// Exact selection among the collected candidates (ascending indices) by
    /// two radix rounds on the 31-bit key: its top 16 bits, then the low 15.
    private mutating func refine(k: Int, maxIndex: UInt32, into out: UnsafeMutableBufferPointer<UInt32>) {
        if selected.count < k { selected = [UInt32](repeating: 0, count: k) }
        var nSel = 0
        var remaining = k
        var nCand = candidateCount
        candidates.withUnsafeMutableBufferPointer { cand in
            candidateKeys.withUnsafeMutableBufferPointer { ck in
                selected.withUnsafeMutableBufferPointer { sel in
                    histogram.withUnsafeMutableBufferPointer { h in
                        for (shift, mask) in [(UInt32(15), UInt32(0xFFFF)), (UInt32(0), UInt32(0x7FFF))] where remaining > 0 {
                            for i in 0...Int(mask) { h[i] = 0 }
                            for j in 0..<nCand { h[Int((ck[j] >> shift) & mask)] &+= 1 }
                            var cum = 0
                            var b = Int(mask)
                            while b > 0 && cum + Int(h[b]) < remaining { cum += Int(h[b]); b -= 1 }
                            // Digits above b are all selected; digit b stays candidate.
                            var kept = 0
                            for j in 0..<nCand {
                                let dgt = Int((ck[j] >> shift) & mask)
                                if dgt > b { sel[nSel] = cand[j]; nSel += 1 }
                                else if dgt == b { cand[kept] = cand[j]; ck[kept] = ck[j]; kept += 1 }
                            }
                            remaining -= cum
                            nCand = kept
                        }
                        // Equal keys: the lowest indices win.
                        for j in 0..<remaining { sel[nSel] = cand[j]; nSel += 1 }
                    }
                }
            }
        }
        precondition(nSel == k)
        // k for the sort's buffer plus its digit counts: no allocation per call.
        if scratch.count < k + Sampling.radixCountSlots { scratch = [UInt32](repeating: 0, count: k + Sampling.radixCountSlots) }
        selected.withUnsafeMutableBufferPointer { sel in
            scratch.withUnsafeMutableBufferPointer { tmp in
                let s = UnsafeMutableBufferPointer(rebasing: sel[0..<k])
                Sampling.radixSort(s, scratch: tmp, maxValue: maxIndex)
                out.baseAddress!.update(from: s.baseAddress!, count: k)
            }
        }
    }
}
