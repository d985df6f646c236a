import CKernels
import CSGDCore

/// A Count Sketch (Charikar, Chen and Farach-Colton 2002) of vectors in R^d:
/// an R × C table where row r holds Σ_i s_r(i)·x_i in bucket h_r(i), with
/// hashes shared by every worker through a `RandomKey`.
///
/// Hashing: row r draws two uniform 64-bit words a_r, b_r (block r of the
/// Philox stream of the key (seed, step, `RandomKey.shared`, `.sketchHashes`);
/// the caller's `worker` and `purpose` are ignored) and computes
/// H_r(i) = (a_r·i + b_r) mod 2^64 for an index i < 2^32. Bits 31…63 of H_r
/// form Dietzfelbinger's multiply-add-shift hash to 33 bits, which is strongly
/// universal (pairwise independent and uniform) for 32-bit keys; the bucket
/// is Lemire's fastrange of the top 32 bits, h_r(i) = ((H_r(i) >> 32)·C) >> 32,
/// and the sign is bit 31, s_r(i) = −1 when it is set. Sign and bucket of one
/// index are therefore independent, and pairs of indices pairwise independent
/// (up to the fastrange rounding, at most C/2^32). Everything is a pure
/// function of (key, row, i): any worker recomputes the same hashes.
///
/// The sketch is linear: `accumulate` adds s_r(i)·x_i, so sketch(a) + sketch(b)
/// = sketch(a + b) up to float rounding (exactly for integer data). `estimate`
/// returns the median over rows of s_r(i)·table[r, h_r(i)]; for even R it is
/// the mean (0.5·lo + 0.5·hi, which cannot overflow) of the two middle values.
/// The coefficients live in a small array that `rekey` rewrites in place, so a
/// worker keeps one sketch and re-keys it every step without allocating.
public struct CountSketch: Sendable {
    /// d: indices hashed are `0 ..< dimension` (at most 2^32).
    public let dimension: Int
    /// R, the number of hash rows.
    public let rows: Int
    /// C, the number of buckets a row.
    public let cols: Int
    /// The normalised key the hashes come from (worker shared, `.sketchHashes`).
    public private(set) var key: RandomKey
    /// a_0, b_0, a_1, b_1, …: two words a row.
    @usableFromInline var coefficients: [UInt64]

    /// A sketch of R-by-C for vectors of dimension d with the hashes of `key`.
    /// - Precondition: `1 <= d <= 2^32`, `R >= 1`, `1 <= C <= 2^32`, R·C fits in Int.
    public init(dimension: Int, rows: Int, cols: Int, key: RandomKey) {
        precondition(dimension >= 1 && dimension <= 1 << 32, "need 1 <= d <= 2^32")
        precondition(rows >= 1, "need R >= 1")
        precondition(cols >= 1 && cols <= 1 << 32, "need 1 <= C <= 2^32")
        precondition(!rows.multipliedReportingOverflow(by: cols).overflow, "R·C overflows")
        self.dimension = dimension
        self.rows = rows
        self.cols = cols
        self.key = CountSketch.hashKey(key)
        self.coefficients = [UInt64](repeating: 0, count: 2 * rows)
        rekey(key)
    }

    /// The key the hashes of `key` are drawn from: same seed and step, the
    /// shared worker, purpose `.sketchHashes`.
    public static func hashKey(_ key: RandomKey) -> RandomKey {
        RandomKey(seed: key.seed, step: key.step, worker: RandomKey.shared, purpose: .sketchHashes)
    }

    /// Switches to the hashes of `key`, rewriting the coefficients in place.
    public mutating func rekey(_ key: RandomKey) {
        let k = CountSketch.hashKey(key)
        self.key = k
        coefficients.withUnsafeMutableBufferPointer { c in
            for r in 0..<rows {
                let w = k.block(UInt32(truncatingIfNeeded: r))
                c[2 * r] = UInt64(w.0) | (UInt64(w.1) << 32)
                c[2 * r + 1] = UInt64(w.2) | (UInt64(w.3) << 32)
            }
        }
    }

    /// R·C, the number of table entries.
    @inlinable public var tableCount: Int { rows * cols }

    /// H_r(i) = a_r·i + b_r mod 2^64.
    @inlinable @inline(__always)
    func rawHash(row r: Int, index i: Int) -> UInt64 {
        coefficients[2 * r] &* UInt64(truncatingIfNeeded: i) &+ coefficients[2 * r + 1]
    }

    @inlinable @inline(__always)
    static func bucket(_ h: UInt64, cols: UInt64) -> Int {
        Int(truncatingIfNeeded: ((h >> 32) &* cols) >> 32)
    }

    /// Bit 31 of H: set means the sign is −1 (XOR it into a Float's sign bit).
    @inlinable @inline(__always)
    static func signBit(_ h: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: h) & 0x8000_0000
    }

    /// h_r(i), the bucket of index i in row r (in `0 ..< cols`).
    @inlinable public func bucket(row r: Int, index i: Int) -> Int {
        precondition(r >= 0 && r < rows && i >= 0 && i < dimension)
        return CountSketch.bucket(rawHash(row: r, index: i), cols: UInt64(cols))
    }

    /// s_r(i) ∈ {+1, −1}.
    @inlinable public func sign(row r: Int, index i: Int) -> Float {
        precondition(r >= 0 && r < rows && i >= 0 && i < dimension)
        return CountSketch.signBit(rawHash(row: r, index: i)) == 0 ? 1 : -1
    }

    /// table[r·C + h_r(i)] += s_r(i)·x_i for every row r and index i (the
    /// table is row-major R × C). Linear in x; add several vectors into one
    /// table to sketch their sum. Rows are filled one after another so that
    /// the random writes of a pass stay within one row of the table; for
    /// d ≥ 2^16 the rows are spread over Dispatch's threads. Each bucket gets
    /// its terms in increasing index order either way, so the table is bit
    /// for bit the same on any number of threads.
    ///
    /// A pass reads x in order while it adds at random places of the row,
    /// and asks for x a fixed distance ahead (`prefetchDistance`) with a
    /// software prefetch. Once a row outgrows the L2 cache its misses keep
    /// the hardware prefetcher from staying ahead on x: at d = 2^24 (C = 4·K
    /// = 671,088, a row of 2.7 MB against a 2 MB L2; R = 5 on two threads)
    /// the explicit prefetch made an add about 2.0 ns instead of 2.3 ns (10
    /// to 20% less over repeated runs), and changed nothing measurable at
    /// d = 2^20 (a row of 168 KB, about 1.5 ns an add). Plain loads ahead
    /// instead of prefetches were no faster.
    ///
    /// (Measured at d = 2^24 and slower or no faster, each bit for bit the
    /// same table: rows split into L2-sized column slices, which cut an add
    /// to 1.6 ns but hash every coordinate once a slice; x sketched in blocks
    /// across the R rows, or two rows in one pass; (bucket, value) pairs
    /// radix-partitioned by column range before adding, whose partition pass
    /// costs more than the misses it saves; prefetching the row entries a
    /// fixed distance ahead (the adds seem limited by the misses a core
    /// keeps in flight, and a prefetch takes one of those too); and, against
    /// the 3 + 2 split of R = 5 rows over two threads, each thread taking
    /// half the buckets of the odd row, since a half pass still hashes every
    /// coordinate and cost about as much as a whole one. Splitting a row's
    /// coordinates between threads would change the order of the sums.)
    public func accumulate(_ x: UnsafeBufferPointer<Float>, into table: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        precondition(table.count == tableCount, "table size \(table.count) != R·C = \(tableCount)")
        let n = dimension, cols = self.cols, rows = self.rows
        let c64 = UInt64(cols)
        x.withMemoryRebound(to: UInt32.self) { xb in
            let src = xb.baseAddress!
            let t = table.baseAddress!
            coefficients.withUnsafeBufferPointer { coef in
                let coef = coef.baseAddress!
                let parallel = n >= CountSketch.parallelThreshold
                ParallelLoop.run(parallel ? rows : 1) { task in
                    for r in (parallel ? task..<(task + 1) : 0..<rows) {
                        CountSketch.addRow(src, count: n, a: coef[2 * r], b: coef[2 * r + 1], into: t + r * cols, cols: c64)
                    }
                }
            }
        }
    }

    /// Floats of x between the prefetch of a cache line and its use in
    /// `accumulate` (1 KiB, 16 lines; 128 to 1024 measured alike).
    static let prefetchDistance = 256

    /// row[h(i)] += s(i)·x_i for i = 0, 1, …, n − 1 in that order, where
    /// H(i) = a·i + b (x as bit patterns: the sign is XORed into bit 31).
    /// H(i+1) = H(i) + a: one add a coordinate instead of a multiply. Works
    /// in blocks of 16 coordinates (one 64-byte line of x), each first
    /// prefetching the line `prefetchDistance` floats ahead.
    @inline(__always)
    static func addRow(_ src: UnsafePointer<UInt32>, count n: Int, a: UInt64, b: UInt64,
                       into row: UnsafeMutablePointer<Float>, cols: UInt64) {
        var h = b
        var i = 0
        while i + prefetchDistance + 16 <= n {
            csgd_prefetch(src + i + prefetchDistance)
            for k in 0..<16 {
                row[bucket(h, cols: cols)] += Float(bitPattern: src[i + k] ^ signBit(h))
                h &+= a
            }
            i += 16
        }
        while i < n {
            row[bucket(h, cols: cols)] += Float(bitPattern: src[i] ^ signBit(h))
            h &+= a
            i += 1
        }
    }

    /// Below this d, sketching and estimating run on the calling thread.
    static let parallelThreshold = 1 << 16

    /// The estimate of one coordinate: the median over rows of
    /// s_r(i)·table[r, h_r(i)] (mean of the two middle values for even R),
    /// computed by the same code as the bulk `estimate`, so it agrees bit for
    /// bit (NaN included).
    public func estimate(_ table: UnsafeBufferPointer<Float>, index i: Int) -> Float {
        precondition(table.count == tableCount, "table size \(table.count) != R·C = \(tableCount)")
        precondition(i >= 0 && i < dimension)
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: rows + 1) { scratch in
            let v = scratch.baseAddress!
            for r in 0..<rows {
                let h = rawHash(row: r, index: i)
                let t = table[r * cols + CountSketch.bucket(h, cols: UInt64(cols))]
                v[r] = Float(bitPattern: t.bitPattern ^ CountSketch.signBit(h))
            }
            CountSketch.medians(v, rows: rows, stride: 1, count: 1, into: v + rows)
            return v[rows]
        }
    }

    /// Coordinates estimated a chunk: max(4096, C), at most d. Each row is
    /// read for a whole chunk before the next, so a chunk of about C gathers
    /// touches each cache line of the row about 16 times while it is hot
    /// (at d = 2^24 and C ≥ 2^18 this was 2–5× faster than chunks of 1024).
    public var chunk: Int { Swift.min(dimension, Swift.max(4096, cols)) }
    /// Threads the bulk estimate uses for d ≥ 2^16, each with its own
    /// scratch (a constant, so results never depend on the machine).
    static let estimateThreads = 2
    /// The scratch `estimate(_:into:scratch:)` needs: R·chunk floats a thread.
    public var scratchCount: Int { rows * chunk * (dimension >= CountSketch.parallelThreshold ? CountSketch.estimateThreads : 1) }

    /// est[i] = the median estimate of every coordinate i < d; allocates its
    /// scratch (see `estimate(_:into:scratch:)`).
    public func estimate(_ table: UnsafeBufferPointer<Float>, into est: UnsafeMutableBufferPointer<Float>) {
        var scratch = [Float](repeating: 0, count: scratchCount)
        scratch.withUnsafeMutableBufferPointer { estimate(table, into: est, scratch: $0) }
    }

    /// est[i] = the median estimate of every coordinate i < d (see
    /// `estimate(_:index:)`), using `scratch` (at least `scratchCount` floats).
    /// Works in chunks of coordinates: row by row, gather the signed table
    /// entries into scratch (independent loads, so many cache misses are in
    /// flight at once), then take medians across rows with branch-free
    /// comparison networks. For d ≥ 2^16 two threads take alternate chunks,
    /// each with its own half of the scratch; every estimate is computed the
    /// same way regardless. Never traps on NaN or ∞ in the table: comparisons
    /// then give some deterministic value.
    ///
    /// (At d = 2^24 a gather from a 2.7 MB row costs about 1.7–1.9 ns against
    /// 0.75 ns at d = 2^20, where the row fits L2; the loads seem limited by
    /// the misses a core keeps in flight. Measured there and no faster:
    /// prefetching the row entries ahead (any hint), write-prefetching or
    /// streaming the scratch past the caches, chunks of C/8 to C/2, grouping
    /// the requests by column range first (radix partition), visiting each
    /// chunk in bucket order, and the two threads taking half the buckets
    /// each instead of alternate chunks, which needs every coordinate hashed
    /// twice.)
    public func estimate(_ table: UnsafeBufferPointer<Float>, into est: UnsafeMutableBufferPointer<Float>,
                         scratch: UnsafeMutableBufferPointer<Float>) {
        precondition(table.count == tableCount, "table size \(table.count) != R·C = \(tableCount)")
        precondition(est.count == dimension, "estimate buffer \(est.count) != d = \(dimension)")
        precondition(scratch.count >= scratchCount, "scratch \(scratch.count) < \(scratchCount)")
        let n = dimension
        let c64 = UInt64(cols)
        let cols = self.cols, rows = self.rows
        let chunk = self.chunk
        let out = est.baseAddress!
        let chunks = (n + chunk - 1) / chunk
        let threads = n >= CountSketch.parallelThreshold ? CountSketch.estimateThreads : 1
        table.withMemoryRebound(to: UInt32.self) { tb in
            let t = tb.baseAddress!
            coefficients.withUnsafeBufferPointer { coef in
                let coef = coef.baseAddress!
                ParallelLoop.run(threads) { thread in
                    let v = scratch.baseAddress! + thread * rows * chunk
                    for c in stride(from: thread, to: chunks, by: threads) {
                        let start = c * chunk
                        let len = Swift.min(chunk, n - start)
                        for r in 0..<rows {
                            let a = coef[2 * r]
                            var h = a &* UInt64(start) &+ coef[2 * r + 1]
                            let row = t + r * cols
                            let dst = v + r * chunk
                            for j in 0..<len {
                                dst[j] = Float(bitPattern: row[CountSketch.bucket(h, cols: c64)] ^ CountSketch.signBit(h))
                                h &+= a
                            }
                        }
                        CountSketch.medians(v, rows: rows, stride: chunk, count: len, into: out + start)
                    }
                }
            }
        }
    }

    // MARK: medians (comparisons only: NaN gives a deterministic, arbitrary
    // pick, the same in the bulk and single-index paths)

    @inline(__always) static func min2(_ a: Float, _ b: Float) -> Float { b < a ? b : a }
    @inline(__always) static func max2(_ a: Float, _ b: Float) -> Float { a < b ? b : a }
    @inline(__always) static func mean2(_ a: Float, _ b: Float) -> Float { 0.5 * a + 0.5 * b }
    @inline(__always) static func median3(_ a: Float, _ b: Float, _ c: Float) -> Float {
        max2(min2(a, b), min2(max2(a, b), c))
    }
    /// The second and third smallest of four values (in some order): with
    /// a ≤ b and c ≤ d, they are max(a, c) and min(b, d).
    @inline(__always) static func middle4(_ a: Float, _ b: Float, _ c: Float, _ d: Float) -> (Float, Float) {
        (max2(min2(a, b), min2(c, d)), min2(max2(a, b), max2(c, d)))
    }

    /// out[j] = median over r of v[r·stride + j] for j < count. R ≤ 5 use
    /// fixed branch-free networks (the median of 5 is the median of the fifth
    /// value and the two middle values of the other four); larger R sort the
    /// rows in place, lane by lane, with an odd–even transposition network (R
    /// rounds of compare-exchanges). Even R: 0.5·lo + 0.5·hi of the two middle
    /// values (cannot overflow). Every loop runs over contiguous j without
    /// branches, so the compiler vectorises it.
    @usableFromInline
    static func medians(_ v: UnsafeMutablePointer<Float>, rows: Int, stride: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let p0 = v, p1 = v + stride, p2 = v + 2 * stride, p3 = v + 3 * stride, p4 = v + 4 * stride
        switch rows {
        case 1:
            out.update(from: p0, count: count)
        case 2:
            for j in 0..<count { out[j] = mean2(p0[j], p1[j]) }
        case 3:
            for j in 0..<count { out[j] = median3(p0[j], p1[j], p2[j]) }
        case 4:
            for j in 0..<count {
                let (lo, hi) = middle4(p0[j], p1[j], p2[j], p3[j])
                out[j] = mean2(lo, hi)
            }
        case 5:
            for j in 0..<count {
                let (lo, hi) = middle4(p0[j], p1[j], p2[j], p3[j])
                out[j] = median3(p4[j], lo, hi)
            }
        default:
            for round in 0..<rows {
                var r = round & 1
                while r + 1 < rows {
                    let a = v + r * stride, b = a + stride
                    for j in 0..<count {
                        let x = a[j], y = b[j]
                        a[j] = min2(x, y)
                        b[j] = max2(x, y)
                    }
                    r += 2
                }
            }
            let m = v + (rows / 2) * stride
            if rows % 2 == 1 {
                out.update(from: m, count: count)
            } else {
                let l = m - stride
                for j in 0..<count { out[j] = mean2(l[j], m[j]) }
            }
        }
    }
}
