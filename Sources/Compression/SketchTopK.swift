import CSGDCore

/// The message of `sketch-topk`: the worker's Count Sketch table, the K
/// heavy-hitter indices selected from it with the exact values there, and the
/// scratch (median estimates of all d coordinates, the selector, the hash
/// coefficients) that lets compressing every step allocate nothing after the
/// first.
public struct SketchTopKMessage: Sendable {
    /// The R × C table, row-major: the linear part, summable across workers.
    public internal(set) var table: [Float]
    /// The K selected indices (ascending) and the exact values of x there.
    public var pairs: SparseMessage
    var estimates: [Float]
    var scratch: [Float]
    var selector = TopKSelector()
    var sketch: CountSketch

    public init(dimension: Int, k: Int, rows: Int, cols: Int) {
        table = [Float](repeating: 0, count: rows * cols)
        pairs = SparseMessage(capacity: k)
        estimates = [Float](repeating: 0, count: dimension)
        sketch = CountSketch(dimension: dimension, rows: rows, cols: cols, key: RandomKey(seed: 0, purpose: .sketchHashes))
        scratch = [Float](repeating: 0, count: sketch.scratchCount)
    }
}

/// `sketch-topk:K,rows=R,cols=C`: heavy hitters from a Count Sketch, as in
/// Sketched-SGD (Ivkin et al. 2019). Each worker sketches x into an R × C
/// table with hashes shared through the key of (seed, step) (purpose
/// `.sketchHashes`, worker ignored); the K coordinates of largest |median
/// estimate| are selected (ties to the lower index, ascending) and the exact
/// values of x there are kept, modelling the second round in which workers
/// send their values at the heavy hitters. The sketch is linear, the
/// selection is not: `isLinear` is false, but `sketch(_:key:into:)` and
/// `select(fromTable:key:into:)` expose the two halves so that a distributed
/// run can all-reduce tables (R·C numbers), select once from the sum, and
/// all-reduce the K exact values. Neither linear nor unbiased; since the kept
/// values are exact, ‖x − C(x)‖² = ‖x‖² − ‖x_S‖² for the selected set S, so
/// μ equals the energy share the sketch finds (≤ the top-K share).
///
/// Wire: the R·C table as Float32 (byte-aligned, row-major), then the K exact
/// values as Float32 in ascending index order: exactly 32·R·C + 32·K bits. The
/// indices are not sent: the decoder re-derives them from the decoded table
/// with the same key, so decoding is deterministic and agrees with the
/// encoder bit for bit. Any bit pattern is accepted in the table and values
/// (NaN and ∞ included; selection compares bit patterns, so it cannot trap).
public struct SketchTopK: Compressor {
    public let dimension: Int
    public let k: Int
    public let rows: Int
    public let cols: Int

    /// The default R when the spec omits `rows`: 5. Each row's estimate of a
    /// coordinate is off by more than a few ‖tail‖/√C with constant
    /// probability; the median of R rows fails with probability exponentially
    /// small in R; 5 rows is what the Sketched-SGD reference code's example
    /// uses, and its median is a short branch-free network.
    public static func defaultRows(dimension: Int, k: Int) -> Int { 5 }

    /// The default C when the spec omits `cols`: 4·K, but at most ⌈d/R⌉ so
    /// that the table never holds more numbers than x itself (and at least 1).
    /// The Count Sketch error of a row is about ‖x_tail‖₂/√C, so C ∝ K (the
    /// heavy-hitter guarantee for K coordinates needs C = O(K) buckets) keeps
    /// it on the scale of the K-th largest |x_i| when the tail is light. The factor trades fidelity for
    /// bits: measured with R = 5 and K = 1% at d = 2^20 (and the same at the
    /// autoencoder's d = 210,369), the selected set holds 77%, 87%, 96% of the
    /// top-K energy of heavy-tailed vectors (Gaussian × e^{1.5·Gaussian}) at
    /// C = 2K, 4K, 10K, for 3.5, 6.7, 16.3 bits a coordinate. 4·K keeps the
    /// message ≈ 5× smaller than x at K = 1% (and the table cache-friendly)
    /// while finding most of the heavy energy; pass `cols` for more fidelity.
    public static func defaultCols(dimension: Int, k: Int, rows: Int) -> Int {
        let cap = (dimension + rows - 1) / max(rows, 1)
        return max(1, min(cap, 4 * k))
    }

    /// `sketch-topk:K,rows=R,cols=C` for vectors of dimension d.
    /// - Precondition: `1 <= K <= d <= 2^32`, `R >= 1`, `1 <= C <= 2^32`.
    public init(dimension: Int, k: Int, rows: Int, cols: Int) {
        precondition(dimension >= 1 && k >= 1 && k <= dimension, "need 1 <= K <= d")
        precondition(dimension <= 1 << 32, "need d <= 2^32")
        precondition(rows >= 1 && cols >= 1 && cols <= 1 << 32, "need R >= 1 and 1 <= C <= 2^32")
        precondition(!rows.multipliedReportingOverflow(by: cols).overflow
                     && !(rows * cols).multipliedReportingOverflow(by: 32).overflow, "R·C too large")
        self.dimension = dimension
        self.k = k
        self.rows = rows
        self.cols = cols
    }

    /// As above, with `defaultRows`/`defaultCols` for a missing R or C (what
    /// the spec parser passes as `nil`).
    public init(dimension: Int, k: Int, rows: Int?, cols: Int?) {
        let r = rows ?? SketchTopK.defaultRows(dimension: dimension, k: k)
        self.init(dimension: dimension, k: k, rows: r,
                  cols: cols ?? SketchTopK.defaultCols(dimension: dimension, k: k, rows: max(r, 1)))
    }

    public var isLinear: Bool { false }
    public var isUnbiased: Bool { false }
    public var description: String { "sketch-topk:\(k),rows=\(rows),cols=\(cols)" }

    public func makeMessage() -> SketchTopKMessage {
        SketchTopKMessage(dimension: dimension, k: k, rows: rows, cols: cols)
    }

    /// The Count Sketch of step `key` (hashes shared by all workers).
    public func countSketch(key: RandomKey) -> CountSketch {
        CountSketch(dimension: dimension, rows: rows, cols: cols, key: key)
    }

    /// The linear half: table ← sketch(x) (R·C entries, row-major). Tables of
    /// several workers made with the same key add up to the sketch of the sum.
    public func sketch(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into table: UnsafeMutableBufferPointer<Float>) {
        countSketch(key: key).accumulate(x, into: resetting(table))
    }

    private func resetting(_ t: UnsafeMutableBufferPointer<Float>) -> UnsafeMutableBufferPointer<Float> {
        Kernels.zero(t)
        return t
    }

    /// The non-linear half: copies `table` (for instance the sum of the
    /// workers' tables) into `m` and sets `m.pairs.indices` to the K
    /// coordinates of largest |median estimate|, ascending. The values are
    /// left as they were; fill them with `gatherValues`.
    public func select(fromTable table: UnsafeBufferPointer<Float>, key: RandomKey, into m: inout SketchTopKMessage) {
        precondition(table.count == rows * cols, "table size \(table.count) != R·C = \(rows * cols)")
        prepare(&m)
        m.sketch.rekey(key)
        m.table.withUnsafeMutableBufferPointer { t in
            if UnsafeRawPointer(t.baseAddress!) != UnsafeRawPointer(table.baseAddress!) {
                t.baseAddress!.update(from: table.baseAddress!, count: t.count)
            }
        }
        selectFromOwnTable(&m)
    }

    /// values ← x[indices] (what a worker sends in the second round).
    public func gatherValues(_ x: UnsafeBufferPointer<Float>, into m: inout SketchTopKMessage) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        m.pairs.gather(from: x)
    }

    /// Resizes `m` if it was made for other parameters (never in steady state).
    private func prepare(_ m: inout SketchTopKMessage) {
        if m.table.count != rows * cols || m.pairs.indices.count != k || m.estimates.count != dimension
            || m.sketch.rows != rows || m.sketch.cols != cols || m.sketch.dimension != dimension {
            m = makeMessage()
        }
    }

    /// indices ← top-K of |estimate(m.table)| under m.sketch's hashes.
    private func selectFromOwnTable(_ m: inout SketchTopKMessage) {
        let sketch = m.sketch
        m.table.withUnsafeBufferPointer { t in
            m.estimates.withUnsafeMutableBufferPointer { est in
                m.scratch.withUnsafeMutableBufferPointer { sketch.estimate(t, into: est, scratch: $0) }
                m.pairs.indices.withUnsafeMutableBufferPointer { idx in
                    m.selector.select(UnsafeBufferPointer(est), into: idx)
                }
            }
        }
    }

    public func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into m: inout SketchTopKMessage) {
        precondition(x.count == dimension, "vector length \(x.count) != d = \(dimension)")
        prepare(&m)
        m.sketch.rekey(key)
        let sketch = m.sketch
        m.table.withUnsafeMutableBufferPointer { t in
            Kernels.zero(t)
            sketch.accumulate(x, into: t)
        }
        selectFromOwnTable(&m)
        m.pairs.gather(from: x)
    }

    public func bits(of m: SketchTopKMessage) -> Int { 32 * (rows * cols + k) }

    public func encode(_ m: SketchTopKMessage, into w: inout BitWriter) {
        m.table.withUnsafeBufferPointer { w.write(floats: $0) }
        m.pairs.values.withUnsafeBufferPointer { w.write(floats: $0) }
    }

    public func decode(from r: inout BitReader, key: RandomKey, into m: inout SketchTopKMessage) throws {
        try r.require(32 * (rows * cols + k))
        prepare(&m)
        try m.table.withUnsafeMutableBufferPointer { try r.read(floats: $0) }
        try m.pairs.values.withUnsafeMutableBufferPointer { try r.read(floats: $0) }
        m.sketch.rekey(key)
        selectFromOwnTable(&m)
    }

    /// y ← C(x) in one write pass (`SparseMessage.write(into:)`).
    public func decompress(_ m: SketchTopKMessage, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension, "vector length \(y.count) != d = \(dimension)")
        m.pairs.write(into: y)
    }

    public func add(_ m: SketchTopKMessage, scaledBy s: Float, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count == dimension, "vector length \(y.count) != d = \(dimension)")
        m.pairs.add(scaledBy: s, into: y)
    }
}
