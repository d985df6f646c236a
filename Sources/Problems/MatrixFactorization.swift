import CSGDCore
import Optimization

/// `matrix-factorization`: symmetric low-rank factorisation, a problem whose
/// only bad critical points are strict saddles (all local minima are global),
/// with a saddle at the origin to start from.
///
/// f(U) = ¼·‖UUᵀ − M‖²_F for U ∈ ℝ^{n×r} stored row-major (x[i·r + a] = U_ia,
/// d = n·r), M = U*U*ᵀ with U* planted from the seed, i.i.d. N(0, 1/n) entries
/// (columns of norm ≈ 1, so ‖M‖_op ≈ 1). With R = UUᵀ − M: ∇f(U) = R·U and
/// ∇²f(U)[V] = (UVᵀ + VUᵀ)·U + R·V, i.e. H[(i,a),(j,b)] = U_ib·U_ja +
/// δ_ij·(UᵀU)_ab + δ_ab·R_ij. Global minimisers: U*·O for every orthogonal r×r
/// O (f* = 0; the Hessian there is PSD with r(r−1)/2 zero eigenvalues from the
/// rotations); U = 0 is a strict saddle with ∇²f(0)[V] = −MV, λ_min = −‖M‖_op;
/// the other saddles are U whose columns span eigenvectors of M with some
/// columns missing. `relativeError` is ‖UUᵀ − M‖_F / ‖M‖_F (zero exactly on the
/// minimisers). Constants on the region 𝓡 = {‖U‖_op ≤ Γ}, Γ = 2√‖M‖_op:
/// |∇²f(U)[V,V]| ≤ (2‖U‖² + ‖R‖_op)‖V‖² gives L = 3Γ² + ‖M‖_op = 13‖M‖_op, and
/// |∇³f(U)[V,V,V]| = 3|⟨UVᵀ + VUᵀ, VVᵀ⟩| ≤ 6Γ‖V‖³ gives ρ = 6Γ = 12√‖M‖_op.
/// The oracle is the exact gradient plus `OracleNoise` (σ = noise·√d, ℓ = L).
/// Options: `n=20`, `r=2` (1 ≤ r ≤ n), `start=random|zero` (default `random`:
/// U₀ i.i.d. N(0, scale²/n), i.e. `scale` times a draw like U*; `zero`: the
/// saddle U = 0), `scale=0.01`, `noise=0`, `seed=1`.
public final class MatrixFactorization: Objective {
    public enum Start: String, CaseIterable, Sendable { case random, zero }

    public struct Options: Equatable, Sendable, CustomStringConvertible, ScaleNoiseSeed {
        public var n = 20
        public var r = 2
        public var start = Start.random
        public var scale = 0.01
        public var noise = 0.0
        public var seed: UInt64 = 1
        public init() {}

        public static let keys = ["n", "r", "start", "scale", "noise", "seed"]

        init(_ o: SpecOptions) throws {
            n = try o.int("n", default: n)
            r = try o.int("r", default: r)
            start = try o.choice("start", default: start)
            try readScaleNoiseSeed(o)
        }

        public func validate() throws {
            let p = "matrix-factorization"
            try SpecCheck.positive(p, "n", n)
            try SpecCheck.positive(p, "r", r)
            guard r <= n else { throw CSGDError("problem '\(p)': rank r = \(r) exceeds n = \(n)") }
            guard n <= 46_000 else { throw CSGDError("problem '\(p)': n = \(n) is too large (the n×n target is dense; at most 46000)") }
            try checkScaleAndNoise(p)
        }

        public var description: String {
            "matrix-factorization:n=\(n),r=\(r),start=\(start.rawValue),scale=\(SpecFormat.number(scale))"
                + ",noise=\(SpecFormat.number(noise)),seed=\(seed)"
        }
    }

    public let options: Options
    public let dimension: Int
    public let name: String
    public let constants: ObjectiveConstants
    /// f* = 0.
    public let optimalValue = 0.0
    /// U*, n×r row-major.
    public let planted: [Float]
    /// M = U*U*ᵀ, n×n row-major.
    public let target: [Float]
    /// ‖M‖_F.
    public let targetNorm: Double
    /// ‖M‖_op = λ_max(U*ᵀU*).
    public let targetSpectralNorm: Double

    public init(_ options: Options) throws {
        try options.validate()
        self.options = options
        let n = options.n, r = options.r
        dimension = n * r
        name = options.description
        let u = SyntheticData.gaussian(count: n * r, key: SyntheticData.key(seed: options.seed, .planted),
                                       sigma: Float(1 / Double(n).squareRoot()))
        planted = u
        // M in Double, rounded once.
        var m = [Float](repeating: 0, count: n * n)
        var frob = 0.0
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for a in 0..<r { s += Double(u[i * r + a]) * Double(u[j * r + a]) }
                m[i * n + j] = Float(s)
                frob += s * s
            }
        }
        target = m
        targetNorm = frob.squareRoot()
        var gram = [Double](repeating: 0, count: r * r)
        for a in 0..<r { for b in 0..<r {
            var s = 0.0
            for i in 0..<n { s += Double(u[i * r + a]) * Double(u[i * r + b]) }
            gram[a * r + b] = s
        } }
        let top = SyntheticData.symmetricEigenvalues(gram, n: r).last ?? 0
        targetSpectralNorm = top
        constants = OracleNoise.exactGradientConstants(L: 13 * top, rho: 12 * top.squareRoot(), noise: options.noise, dimension: dimension)
    }

    /// Writes R = UUᵀ − M into the n×n buffer `res`.
    private func residual(_ u: UnsafePointer<Float>, into res: UnsafeMutablePointer<Float>) {
        let n = options.n, r = options.r
        target.withUnsafeBufferPointer { res.initialize(from: $0.baseAddress!, count: n * n) }
        BLAS.sgemm(transA: false, transB: true, m: n, n: n, k: r, alpha: 1, a: u, lda: r, b: u, ldb: r, beta: -1, c: res, ldc: n)
    }

    private func withResidual<T>(_ x: UnsafeBufferPointer<Float>, _ body: (UnsafeMutableBufferPointer<Float>) -> T) -> T {
        precondition(x.count == dimension)
        let n = options.n
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: n * n) { res in
            residual(x.baseAddress!, into: res.baseAddress!)
            return body(res)
        }
    }

    public func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        withResidual(x) { 0.25 * Kernels.sumSquares(UnsafeBufferPointer($0)) }
    }

    public func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        precondition(g.count == dimension)
        let n = options.n, r = options.r
        return withResidual(x) { res in
            BLAS.sgemm(transA: false, transB: false, m: n, n: r, k: n, alpha: 1, a: res.baseAddress!, lda: n,
                       b: x.baseAddress!, ldb: r, beta: 0, c: g.baseAddress!, ldc: r)
            return 0.25 * Kernels.sumSquares(UnsafeBufferPointer(res))
        }
    }

    public func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        OracleNoise.exactGradient(of: self, at: x, batch: batch, sigma: options.noise, into: g)
    }

    public func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(v.count == dimension && out.count == dimension)
        let n = options.n, r = options.r
        let u = x.baseAddress!, vp = v.baseAddress!, o = out.baseAddress!
        withResidual(x) { res in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n * n) { dm in
                let dp = dm.baseAddress!
                dp.initialize(repeating: 0, count: n * n)
                // D = UVᵀ + VUᵀ
                BLAS.sgemm(transA: false, transB: true, m: n, n: n, k: r, alpha: 1, a: u, lda: r, b: vp, ldb: r, beta: 0, c: dp, ldc: n)
                BLAS.sgemm(transA: false, transB: true, m: n, n: n, k: r, alpha: 1, a: vp, lda: r, b: u, ldb: r, beta: 1, c: dp, ldc: n)
                // out = D·U + R·V
                BLAS.sgemm(transA: false, transB: false, m: n, n: r, k: n, alpha: 1, a: dp, lda: n, b: u, ldb: r, beta: 0, c: o, ldc: r)
                BLAS.sgemm(transA: false, transB: false, m: n, n: r, k: n, alpha: 1, a: res.baseAddress!, lda: n, b: vp, ldb: r, beta: 1, c: o, ldc: r)
            }
        }
    }

    public func hessian(at x: UnsafeBufferPointer<Float>) -> [Double]? {
        let d = dimension, n = options.n, r = options.r
        guard d <= 2048, x.count == d else { return nil }
        let u = x.map(Double.init)
        var res = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n {
            var s = 0.0
            for a in 0..<r { s += u[i * r + a] * u[j * r + a] }
            res[i * n + j] = s - Double(target[i * n + j])
        } }
        var gram = [Double](repeating: 0, count: r * r)
        for a in 0..<r { for b in 0..<r {
            var s = 0.0
            for i in 0..<n { s += u[i * r + a] * u[i * r + b] }
            gram[a * r + b] = s
        } }
        var h = [Double](repeating: 0, count: d * d)
        for i in 0..<n { for a in 0..<r { for j in 0..<n { for b in 0..<r {
            var s = u[i * r + b] * u[j * r + a]
            if i == j { s += gram[a * r + b] }
            if a == b { s += res[i * n + j] }
            h[(i * r + a) * d + (j * r + b)] = s
        } } } }
        return h
    }

    public func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == dimension)
        switch options.start {
        case .zero: Kernels.zero(x)
        case .random:
            SyntheticData.randomStart(seed: seed, sigma: Float(options.scale / Double(options.n).squareRoot()), into: x)
        }
    }

    /// U* (every U*·O is a minimiser too).
    public var solution: [Float]? { planted }

    /// ‖UUᵀ − M‖_F / ‖M‖_F.
    public func relativeError(at x: UnsafeBufferPointer<Float>) -> Double? {
        guard x.count == dimension, targetNorm > 0 else { return nil }
        return withResidual(x) { Kernels.norm2(UnsafeBufferPointer($0)) } / targetNorm
    }
}
