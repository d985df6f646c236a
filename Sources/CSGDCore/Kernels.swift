/// Deterministic vector kernels on Float32 buffers.
///
/// Reductions use a fixed blocking (16 lanes of Float inside blocks of 1024
/// elements, blocks summed in Double), so a result depends only on the input,
/// never on thread counts or the BLAS build: the property that lets a run
/// replay bit for bit on any machine. Elementwise updates go to BLAS where it
/// is as fast and exact (`axpy`, `scal` touch each element once).
public enum Kernels {
    @usableFromInline static let blockSize = 1024

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

    /// Σx_i² in Double, deterministic.
    public static func sumSquares(_ x: UnsafeBufferPointer<Float>) -> Double {
        reduce(x) { $0 * $0 } scalar: { $0 * $0 }
    }

    /// ‖x‖₂ in Double, deterministic.
    public static func norm2(_ x: UnsafeBufferPointer<Float>) -> Double { sumSquares(x).squareRoot() }

    /// Σx_i·y_i in Double, deterministic.
    public static func dot(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) -> Double {
        precondition(x.count == y.count, "size mismatch")
        guard let px = x.baseAddress, let py = y.baseAddress else { return 0 }
        let n = x.count
        var total = 0.0
        var start = 0
        while start < n {
            let end = min(n, start + blockSize)
            var acc = SIMD16<Float>()
            var i = start
            while i + 16 <= end { acc += load16(px, i) * load16(py, i); i += 16 }
            var s = Double(acc.sum())
            while i < end { s += Double(px[i] * py[i]); i += 1 }
            total += s
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
        let n = x.count
        var total = 0.0
        var start = 0
        while start < n {
            let end = min(n, start + blockSize)
            var acc = SIMD16<Float>()
            var i = start
            while i + 16 <= end { acc += f(load16(p, i)); i += 16 }
            var s = Double(acc.sum())
            while i < end { s += Double(g(p[i])); i += 1 }
            total += s
            start = end
        }
        return total
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
