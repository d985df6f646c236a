import CSGDCore

/// Why a Lanczos run stopped.
public enum LanczosStop: String, Sendable, Codable {
    /// The smallest Ritz pair's residual estimate β_m·|s_m| fell below the tolerance.
    case converged
    /// β_m ≈ 0: the Krylov space is invariant (every Ritz pair is exact), or
    /// it already spans all of R^d.
    case invariantSubspace
    /// The Krylov dimension cap was reached first; `lambdaMin` is then an
    /// upper bound on λ_min that may not have converged.
    case iterationLimit
}

/// The outcome of `Lanczos.smallestEigenvalue`: the smallest Ritz value
/// (an estimate of λ_min from above: Ritz values never undershoot the
/// spectrum), its unit-norm Ritz vector, the Krylov dimension used, the
/// residual estimate β_m·|s_m| (= ‖A y − θ y‖ in exact arithmetic, so some
/// eigenvalue lies within `residual` of `lambdaMin`), the largest Ritz value
/// (a lower bound on λ_max, used as the operator's scale), and why it stopped.
public struct LanczosResult: Sendable, Codable {
    public var lambdaMin: Double
    public var vector: [Float]
    public var iterations: Int
    public var residual: Double
    public var lambdaMaxRitz: Double
    public var stop: LanczosStop

    /// True when the residual test passed or the Krylov space was exhausted.
    public var converged: Bool { stop != .iterationLimit }
}

/// The smallest eigenvalue of a symmetric operator known only through
/// products `v ↦ A v`, by the Lanczos process (Lanczos 1950; Kuczyński & Woźniakowski 1992 for the random start).
///
/// The operator is applied in Float32 through the caller's closure; all
/// Lanczos arithmetic (basis, tridiagonal T_m, Ritz vector) is Double. Every
/// new basis vector is fully reorthogonalised against all previous ones
/// (classical Gram–Schmidt, two passes), so no ghost eigenvalues appear and
/// the basis stays orthogonal to Double precision. The basis is stored (one
/// vector allocated per step taken), so the memory is at most
/// `iterations × d × 8` bytes: the default Krylov dimension is
/// `min(d, 200)`, lowered for large d to keep the basis within 256 MiB (at the
/// MNIST autoencoder's d = 210,369 that is 159 vectors, 268 MB). The eigenpair
/// of T_m is found by our own routines — Sturm-count bisection for the
/// eigenvalue, inverse iteration with a pivoted tridiagonal LU for the
/// eigenvector — with no LAPACK dependency. The start vector is Gaussian
/// from a keyed stream (`startKey(seed:)`), so a result replays bit
/// for bit. The run stops as soon as β_m·|s_m| ≤ tolerance·scale (converged)
/// or β_m ≤ tolerance·scale (invariant subspace, including m = d), where
/// scale = max(|θ_min|, |θ_max|, β_m) estimates ‖A‖ from below.
public enum Lanczos {
    /// Memory budget for the stored basis used by `defaultIterations`.
    public static let basisBudgetBytes = 256 << 20

    /// The default Krylov dimension cap: min(d, 200), lowered for large d so
    /// the Double basis stays within `basisBudgetBytes` (never below 20).
    public static func defaultIterations(dimension d: Int) -> Int {
        let byMemory = max(20, basisBudgetBytes / (8 * max(d, 1)))
        return max(1, min(d, 200, byMemory))
    }

    /// The keyed stream of the start vector: distinct from every stream a run
    /// uses (a reserved step of the initialization purpose, shared worker).
    public static func startKey(seed: UInt64) -> RandomKey {
        RandomKey(seed: seed, step: 0x4C41_4E43_5A4F_5300, worker: RandomKey.shared, purpose: .initialization)
    }

    /// λ_min of the symmetric operator `apply` (v ↦ A v on R^`dimension`).
    /// - Parameters:
    ///   - dimension: d, the length of the vectors `apply` maps.
    ///   - iterations: cap on the Krylov dimension (nil: `defaultIterations`);
    ///     clamped to [1, d].
    ///   - tolerance: relative residual tolerance (see the type's doc).
    ///   - seed: keys the random start vector.
    ///   - apply: writes A·v into its second argument; must not keep the buffers.
    public static func smallestEigenvalue(
        dimension: Int,
        iterations: Int? = nil,
        tolerance: Double = 1e-6,
        seed: UInt64 = 0,
        apply: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void
    ) -> LanczosResult {
        precondition(dimension >= 1, "Lanczos needs dimension ≥ 1")
        let d = dimension
        let m = max(1, min(iterations ?? defaultIterations(dimension: d), d))
        let tol = max(tolerance, 0)

        // Basis vectors q_0, q_1, … (each its own allocation, added as the
        // Krylov space grows, so an early stop never pays for the full cap).
        var basis: [UnsafeMutablePointer<Double>] = []
        defer { for q in basis { q.deallocate() } }
        func newVector() -> UnsafeMutablePointer<Double> {
            let q = UnsafeMutablePointer<Double>.allocate(capacity: d)
            q.initialize(repeating: 0, count: d)
            basis.append(q)
            return q
        }
        var alpha: [Double] = []
        var beta: [Double] = []   // beta[j] couples q_j and q_{j+1}
        let vin = FloatBuffer(count: d), vout = FloatBuffer(count: d)
        let w = UnsafeMutablePointer<Double>.allocate(capacity: d)
        w.initialize(repeating: 0, count: d)
        defer { w.deallocate() }
        var h = [Double](repeating: 0, count: m)

        return withExtendedLifetime((vin, vout)) { () -> LanczosResult in
            // Start vector: keyed Gaussian, normalised in Double.
            RandomFill.gaussian(startKey(seed: seed), sigma: 1, into: vin.buffer)
            let q0 = newVector()
            for i in 0..<d { q0[i] = Double(vin.pointer[i]) }
            var n0 = dot(q0, q0, d)
            if n0 == 0 { q0[0] = 1; n0 = 1 }   // unreachable in practice
            let inv0 = 1 / n0.squareRoot()
            for i in 0..<d { q0[i] *= inv0 }

            var theta = 0.0, thetaMax = 0.0
            var s: [Double] = [1]
            var residual = 0.0
            var stop = LanczosStop.iterationLimit

            for j in 0..<m {
                // w = A q_j (in Float32), then w −= β_{j−1} q_{j−1}.
                let qj = basis[j]
                for i in 0..<d { vin.pointer[i] = Float(qj[i]) }
                vout.zero()
                apply(vin.readOnly, vout.buffer)
                for i in 0..<d { w[i] = Double(vout.pointer[i]) }
                if j > 0 { axpy(-beta[j - 1], basis[j - 1], w, d) }
                let a = dot(qj, w, d)
                axpy(-a, qj, w, d)
                alpha.append(a)
                // Full reorthogonalisation: two classical Gram–Schmidt passes.
                for _ in 0..<2 {
                    for k in 0...j { h[k] = dot(basis[k], w, d) }
                    for k in 0...j { axpy(-h[k], basis[k], w, d) }
                    alpha[j] += h[j]
                }
                let b = dot(w, w, d).squareRoot()
                guard b.isFinite, alpha[j].isFinite else {
                    // The operator returned inf/NaN: no estimate, not converged.
                    return LanczosResult(lambdaMin: .nan, vector: [Float](repeating: .nan, count: d), iterations: j + 1,
                                         residual: .nan, lambdaMaxRitz: .nan, stop: .iterationLimit)
                }

                // Smallest (and largest) eigenvalue of T_{j+1}, eigenvector of the smallest.
                let tri = SymmetricTridiagonal(diagonal: alpha, offDiagonal: beta)
                theta = tri.smallestEigenvalue()
                thetaMax = tri.largestEigenvalue()
                s = tri.eigenvector(for: theta)
                residual = b * abs(s[j])
                let scale = max(abs(theta), abs(thetaMax), b)

                if b <= tol * scale || j + 1 == d {
                    stop = .invariantSubspace
                    break
                }
                if residual <= tol * scale {
                    stop = .converged
                    break
                }
                if j + 1 == m { break }
                beta.append(b)
                let next = newVector()
                let inv = 1 / b
                for i in 0..<d { next[i] = w[i] * inv }
            }

            // Ritz vector y = Q_m s, normalised.
            let y = UnsafeMutablePointer<Double>.allocate(capacity: d)
            y.initialize(repeating: 0, count: d)
            defer { y.deallocate() }
            for k in 0..<s.count where s[k] != 0 { axpy(s[k], basis[k], y, d) }
            let ny = dot(y, y, d).squareRoot()
            let scaleY = ny > 0 ? 1 / ny : 1
            let vector = (0..<d).map { Float(y[$0] * scaleY) }
            return LanczosResult(lambdaMin: theta, vector: vector, iterations: s.count, residual: residual,
                                 lambdaMaxRitz: thetaMax, stop: stop)
        }
    }

    /// λ_min(∇²f(x)) of `objective` by Lanczos on its Hessian–vector products.
    public static func lambdaMin(
        of objective: any Objective,
        at x: UnsafeBufferPointer<Float>,
        iterations: Int? = nil,
        tolerance: Double = 1e-6,
        seed: UInt64 = 0
    ) -> LanczosResult {
        precondition(x.count == objective.dimension, "x has \(x.count) entries, the objective \(objective.dimension)")
        return smallestEigenvalue(dimension: objective.dimension, iterations: iterations, tolerance: tolerance, seed: seed) { v, out in
            objective.hessianVectorProduct(at: x, v, into: out)
        }
    }

    // MARK: Double kernels (four accumulators so the loop vectorises).

    @inline(__always)
    static func dot(_ x: UnsafeMutablePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var i = 0
        while i + 4 <= n {
            s0 += x[i] * y[i]; s1 += x[i + 1] * y[i + 1]
            s2 += x[i + 2] * y[i + 2]; s3 += x[i + 3] * y[i + 3]
            i += 4
        }
        while i < n { s0 += x[i] * y[i]; i += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    @inline(__always)
    static func axpy(_ a: Double, _ x: UnsafeMutablePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 0..<n { y[i] += a * x[i] }
    }
}

/// A symmetric tridiagonal matrix (diagonal α_1…α_n, off-diagonal β_1…β_{n−1})
/// with the eigen-routines Lanczos needs: extreme eigenvalues by bisection on
/// Sturm counts (accurate to a few ulps of ‖T‖), and an eigenvector by inverse
/// iteration with a partially pivoted LU (LAPACK's dgttrf/dgtts2 scheme).
public struct SymmetricTridiagonal: Sendable {
    public let diagonal: [Double]
    public let offDiagonal: [Double]

    public init(diagonal: [Double], offDiagonal: [Double]) {
        precondition(!diagonal.isEmpty && offDiagonal.count == diagonal.count - 1, "bad tridiagonal shape")
        self.diagonal = diagonal
        self.offDiagonal = offDiagonal
    }

    public var count: Int { diagonal.count }

    /// Gershgorin interval containing every eigenvalue.
    public var gershgorin: (lower: Double, upper: Double) {
        var lo = Double.infinity, hi = -Double.infinity
        for i in 0..<count {
            let r = (i > 0 ? abs(offDiagonal[i - 1]) : 0) + (i + 1 < count ? abs(offDiagonal[i]) : 0)
            lo = min(lo, diagonal[i] - r); hi = max(hi, diagonal[i] + r)
        }
        return (lo, hi)
    }

    /// Smallest pivot magnitude allowed in the Sturm recurrence.
    private var pivmin: Double {
        var m = 1.0
        for b in offDiagonal { m = max(m, b * b) }
        return Double.leastNormalMagnitude * m
    }

    /// The number of eigenvalues strictly below `x` (Sturm count via LDLᵀ of T − xI).
    public func countBelow(_ x: Double) -> Int {
        let pm = pivmin
        var count = 0
        var q = diagonal[0] - x
        if abs(q) < pm { q = -pm }
        if q < 0 { count += 1 }
        for i in 1..<diagonal.count {
            q = (diagonal[i] - x) - offDiagonal[i - 1] * offDiagonal[i - 1] / q
            if abs(q) < pm { q = -pm }
            if q < 0 { count += 1 }
        }
        return count
    }

    /// The k-th smallest eigenvalue (k in 1…n) by bisection.
    public func eigenvalue(_ k: Int) -> Double {
        precondition(k >= 1 && k <= count)
        let g = gershgorin
        let norm = max(abs(g.lower), abs(g.upper))
        if norm == 0 { return 0 }
        var lo = g.lower - 2 * Double.ulpOfOne * norm - pivmin
        var hi = g.upper + 2 * Double.ulpOfOne * norm + pivmin
        for _ in 0..<200 {
            let mid = 0.5 * (lo + hi)
            if hi - lo <= 2 * Double.ulpOfOne * max(abs(lo), abs(hi)) + pivmin || mid <= lo || mid >= hi { break }
            if countBelow(mid) >= k { hi = mid } else { lo = mid }
        }
        return 0.5 * (lo + hi)
    }

    public func smallestEigenvalue() -> Double { eigenvalue(1) }
    public func largestEigenvalue() -> Double { eigenvalue(count) }

    /// A unit eigenvector for the eigenvalue `lambda` (inverse iteration, three
    /// sweeps from a fixed start; zero pivots are replaced by ulp·‖T‖).
    public func eigenvector(for lambda: Double) -> [Double] {
        let n = count
        if n == 1 { return [1] }
        let g = gershgorin
        let norm = max(abs(g.lower), abs(g.upper), Double.leastNormalMagnitude)
        let tiny = Double.ulpOfOne * norm
        // LU with partial pivoting of T − λI (dgttrf).
        var dl = offDiagonal, du = offDiagonal
        var dd = diagonal.map { $0 - lambda }
        var du2 = [Double](repeating: 0, count: max(n - 2, 0))
        var swapped = [Bool](repeating: false, count: n - 1)
        for i in 0..<(n - 1) {
            if abs(dd[i]) >= abs(dl[i]) {
                if dd[i] == 0 { dd[i] = tiny }
                let fact = dl[i] / dd[i]
                dl[i] = fact
                dd[i + 1] -= fact * du[i]
            } else {
                let fact = dd[i] / dl[i]
                dd[i] = dl[i]
                dl[i] = fact
                let temp = du[i]
                du[i] = dd[i + 1]
                dd[i + 1] = temp - fact * dd[i + 1]
                if i < n - 2 {
                    du2[i] = du[i + 1]
                    du[i + 1] = -fact * du[i + 1]
                }
                swapped[i] = true
            }
        }
        for i in 0..<n where abs(dd[i]) < tiny { dd[i] = dd[i] < 0 ? -tiny : tiny }

        // Fixed, non-special start (avoids being orthogonal to the eigenvector).
        var b = (0..<n).map { 1 + 0.1 * Double(($0 * 7919) % 13) / 13 }
        for _ in 0..<3 {
            // L solve.
            for i in 0..<(n - 1) {
                if swapped[i] {
                    let temp = b[i] - dl[i] * b[i + 1]
                    b[i] = b[i + 1]
                    b[i + 1] = temp
                } else {
                    b[i + 1] -= dl[i] * b[i]
                }
            }
            // U solve.
            b[n - 1] /= dd[n - 1]
            b[n - 2] = (b[n - 2] - du[n - 2] * b[n - 1]) / dd[n - 2]
            if n >= 3 {
                for i in stride(from: n - 3, through: 0, by: -1) {
                    b[i] = (b[i] - du[i] * b[i + 1] - du2[i] * b[i + 2]) / dd[i]
                }
            }
            // Normalise (scale first to avoid overflow).
            var mx = 0.0
            for v in b { mx = max(mx, abs(v)) }
            if !(mx > 0) || !mx.isFinite { break }
            var s2 = 0.0
            for i in 0..<n { b[i] /= mx; s2 += b[i] * b[i] }
            let inv = 1 / s2.squareRoot()
            for i in 0..<n { b[i] *= inv }
        }
        return b
    }
}
