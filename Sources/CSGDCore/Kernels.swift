/// Deterministic vector kernels on Float32 buffers.
///
/// Reductions use a fixed blocking (16 lanes of Float inside blocks of 1024
/// elements, blocks summed in Double), so a result depends only on the input,
/// never on thread counts or the BLAS build: the property that lets a run
/// replay bit for bit on any machine. Elementwise updates go to BLAS where it
/// is as fast and exact (`axpy`, `scal` touch each element once).
public enum Kernels {
    /// The reductions' block: 1024 elements, summed in Float, the blocks in Double.
    public static let blockSize = 1024

    @inline(__always) @usableFromInline
    static func load16(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Lane-wise |v| by clearing sign bits.
    @inline(__always) @usableFromInline
    static func absolute(_ v: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
    }

    /// Σ|x_i| in Double, deterministic.
    public static func sumAbs(_ x: UnsafeBufferPointer<Float>) -> Double {
        reduce(x) { absolute($0) } scalar: { abs($0) }
    }

    /// Σx_i² in Double, deterministic, without overflow or underflow.
    ///
    /// Each block of 1024 is summed in Float (16 lanes) as the other
    /// reductions are; a block whose Float sum is not finite (a square or the
    /// sum passed Float.greatestFiniteMagnitude, or x holds NaN/∞) or below
    /// 2⁻⁶⁰ (squares of |x_i| < 2⁻⁶³ underflow in Float) is summed again with
    /// Double squares, which neither overflow nor underflow for any Float. A
    /// block at or above 2⁻⁶⁰ loses at most 1024·2⁻¹²⁶ to underflow, below
    /// 2⁻⁵⁶ of its sum. So ‖x‖ is right for vectors of any scale (say 10²⁰ or
    /// 10⁻³⁰), and ordinary data takes the Float path at full speed.
    public static func sumSquares(_ x: UnsafeBufferPointer<Float>) -> Double {
        guard let p = x.baseAddress else { return 0 }
        return sumOfBlocks(x.count) { start, end in sumSquaresBlock(p, start, end) }
    }

    /// One block's term of `sumSquares`.
    @inline(__always) @usableFromInline
    static func sumSquaresBlock(_ p: UnsafePointer<Float>, _ start: Int, _ end: Int) -> Double {
        var acc = SIMD16<Float>()
        var i = start
        while i + 16 <= end { let v = load16(p, i); acc += v * v; i += 16 }
        var f = acc.sum()
        while i < end { f += p[i] * p[i]; i += 1 }
        return f.isFinite && f >= 0x1p-60 ? Double(f) : dotExact(p + start, p + start, count: end - start)
    }

    /// The number of blocks the reductions cut n elements into.
    public static func blockCount(_ n: Int) -> Int { (n + blockSize - 1) / blockSize }

    /// `sumSquares` in two halves, for a vector several threads share:
    /// `sums[b]` ← the term of block b (elements b·1024 ..< (b+1)·1024) for
    /// each b in `blocks`; `sumOfBlockSums` over all the blocks then gives
    /// `sumSquares(x)` bit for bit, whoever computed which blocks.
    public static func sumSquaresBlocks(_ x: UnsafeBufferPointer<Float>, blocks: Range<Int>, into sums: UnsafeMutablePointer<Double>) {
        guard let p = x.baseAddress else { return }
        for b in blocks { sums[b] = sumSquaresBlock(p, b * blockSize, min(x.count, (b + 1) * blockSize)) }
    }

    /// Σ sums[b] in Double and in order: `sumOfBlocks`' total.
    public static func sumOfBlockSums(_ sums: UnsafePointer<Double>, count: Int) -> Double {
        var total = 0.0
        for b in 0..<count { total += sums[b] }
        return total
    }

    /// ‖x‖₂ in Double, deterministic.
    public static func norm2(_ x: UnsafeBufferPointer<Float>) -> Double { sumSquares(x).squareRoot() }

    /// Σx_i·y_i in Double, deterministic. Blocks of `blockSize` are summed
    /// with Float products and, like `sumSquares`, a block whose sum is not
    /// finite (a product or partial sum passed the Float range, or NaN/∞ in
    /// the data) or is below 2⁻⁶⁰ in magnitude (products may have underflowed)
    /// is summed again with Double products, so vectors of any scale give the
    /// right value; ordinary data takes the Float path.
    public static func dot(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) -> Double {
        precondition(x.count == y.count, "size mismatch")
        guard let px = x.baseAddress, let py = y.baseAddress else { return 0 }
        return sumOfBlocks(x.count) { start, end in
            var acc = SIMD16<Float>()
            var i = start
            while i + 16 <= end { acc += load16(px, i) * load16(py, i); i += 16 }
            var s = Double(acc.sum())
            while i < end { s += Double(px[i] * py[i]); i += 1 }
            return s.isFinite && abs(s) >= 0x1p-60 ? s : dotExact(px + start, py + start, count: end - start)
        }
    }

    /// Σx_i·y_i with Double products (8 lanes), for the blocks Float cannot
    /// hold (`sumSquares` passes x twice).
    @inline(never)
    static func dotExact(_ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>, count n: Int) -> Double {
        var acc = SIMD8<Double>()
        var i = 0
        let rp = UnsafeRawPointer(p), rq = UnsafeRawPointer(q)
        while i + 8 <= n {
            let a = SIMD8<Double>(rp.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            let b = SIMD8<Double>(rq.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            acc += a * b
            i += 8
        }
        var s = acc.sum()
        while i < n { s += Double(p[i]) * Double(q[i]); i += 1 }
        return s
    }

    /// The reductions' blocking: the sum, in Double and in order, of
    /// `block(start, end)` over the blocks of `blockSize` elements of 0..<n.
    @inline(__always)
    static func sumOfBlocks(_ n: Int, _ block: (_ start: Int, _ end: Int) -> Double) -> Double {
        var total = 0.0
        var start = 0
        while start < n {
            let end = min(n, start + blockSize)
            total += block(start, end)
            start = end
        }
        return total
    }

    @inline(__always)
    static func reduce(
        _ x: UnsafeBufferPointer<Float>,
        _ f: (SIMD16<Float>) -> SIMD16<Float>, scalar g: (Float) -> Float
    ) -> Double {
        guard let p = x.baseAddress else { return 0 }
        return sumOfBlocks(x.count) { start, end in
            var acc = SIMD16<Float>()
            var i = start
            while i + 16 <= end { acc += f(load16(p, i)); i += 16 }
            var s = Double(acc.sum())
            while i < end { s += Double(g(p[i])); i += 1 }
            return s
        }
    }

    /// y ← y + a·x.
    public static func axpy(_ a: Float, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count, "size mismatch")
        guard let px = x.baseAddress, let py = y.baseAddress else { return }
        BLAS.saxpy(Int32(x.count), a, px, py)
    }

    /// x ← a·x.
    public static func scale(_ a: Float, _ x: UnsafeMutableBufferPointer<Float>) {
        guard let p = x.baseAddress else { return }
        BLAS.sscal(Int32(x.count), a, p)
    }

    /// Sets every element of `x` to zero.
    public static func zero(_ x: UnsafeMutableBufferPointer<Float>) {
        guard let p = x.baseAddress else { return }
        p.update(repeating: 0, count: x.count)
    }
}
