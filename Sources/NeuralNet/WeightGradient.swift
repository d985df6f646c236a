import CSGDCore

/// The weight gradient of a convolution or linear layer,
/// G[m, k] = Σ_p A[m, p]·B[k, p] (G = A·Bᵀ, A and B with `length` columns).
///
/// OpenBLAS runs this shape up to a third faster with the longer side as
/// the GEMM's rows, so when m < k and the sums are long enough (≥ 512
/// terms) for the extra transpose to be negligible, it computes Gᵀ = B·Aᵀ
/// into `scratch` (m·k floats) and transposes it into place.
enum WeightGradient {
    static func transposed(m: Int, k: Int, length: Int) -> Bool { m < k && length >= 512 }

    static func compute(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, m: Int, k: Int, length: Int,
                        into g: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        if !transposed(m: m, k: k, length: length) {
            BLAS.sgemm(transA: false, transB: true, m: m, n: k, k: length,
                       alpha: 1, a: a, lda: length, b: b, ldb: length, beta: 0, c: g, ldc: k)
        } else {
            BLAS.sgemm(transA: false, transB: true, m: k, n: m, k: length,
                       alpha: 1, a: b, lda: length, b: a, ldb: length, beta: 0, c: scratch, ldc: m)
            Transpose.copy(scratch, rows: k, columns: m, into: g)
        }
    }

    /// Scratch floats `compute` needs for an m×k gradient.
    static func scratchCount(m: Int, k: Int, length: Int) -> Int { transposed(m: m, k: k, length: length) ? m * k : 0 }
}
