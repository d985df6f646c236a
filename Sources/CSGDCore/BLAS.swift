import COpenBLAS

/// The project's one door to OpenBLAS: thin, typed wrappers over the CBLAS
/// routines csgd uses, so no other module imports the C headers.
public enum BLAS {
    /// y ← αx + y (unit strides).
    @inlinable public static func saxpy(_ n: Int32, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(n, alpha, x, 1, y, 1)
    }

    /// x ← αx (unit stride).
    @inlinable public static func sscal(_ n: Int32, _ alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        cblas_sscal(n, alpha, x, 1)
    }

    /// Row-major C ← α·op(A)·op(B) + β·C.
    @inlinable public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Row-major y ← α·op(A)·x + β·y, A of m rows and n columns.
    @inlinable public static func sgemv(
        trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// Number of threads OpenBLAS uses for level-3 calls.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
