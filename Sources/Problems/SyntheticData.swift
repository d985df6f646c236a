import CSGDCore

/// Keyed generation of the problems' data and small dense linear algebra.
///
/// Every planted solution, design matrix and random start is drawn from the
/// streams of `RandomKey(seed:, step: stream, worker: shared, purpose:
/// .initialization)`, the `step` word naming the sub-stream, so the data are a
/// pure function of the problem's `seed=` and never touch a global generator.
/// Initial points use sub-stream `initialPoint` with the run's seed, disjoint
/// from the data sub-streams even when the two seeds are equal.
public enum SyntheticData {
    /// Sub-streams (the key's `step` word).
    public enum Stream: UInt64, Sendable {
        case features = 1
        case planted = 2
        case components = 3
        case initialPoint = 0x100
    }

    /// The key of sub-stream `stream` for `seed`.
    public static func key(seed: UInt64, _ stream: Stream) -> RandomKey {
        RandomKey(seed: seed, step: stream.rawValue, worker: RandomKey.shared, purpose: .initialization)
    }

    /// `count` independent N(mean, σ²) Float32 values of the stream of `key`.
    public static func gaussian(count: Int, key: RandomKey, mean: Float = 0, sigma: Float = 1) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, initialized in
            RandomFill.gaussian(key, sigma: sigma, into: buf)
            if mean != 0 { for i in 0..<count { buf[i] += mean } }
            initialized = count
        }
    }

    /// Writes N(0, σ²) values of the stream of `key` into `out`.
    public static func gaussian(key: RandomKey, sigma: Float, into out: UnsafeMutableBufferPointer<Float>) {
        RandomFill.gaussian(key, sigma: sigma, into: out)
    }

    /// A random start: N(0, σ²) values of the `initialPoint` sub-stream of
    /// the run's `seed` into `x`.
    public static func randomStart(seed: UInt64, sigma: Float, into x: UnsafeMutableBufferPointer<Float>) {
        gaussian(key: key(seed: seed, .initialPoint), sigma: sigma, into: x)
    }

    /// k orthonormal rows of length d (row-major k×d, Float32): modified
    /// Gram–Schmidt, applied twice in Double, to k Gaussian rows of `key`.
    /// - Precondition: 1 ≤ k ≤ d.
    public static func orthonormalRows(count k: Int, dimension d: Int, key: RandomKey) -> [Float] {
        precondition(k >= 1 && k <= d)
        var q = gaussian(count: k * d, key: key).map(Double.init)
        for i in 0..<k {
            for _ in 0..<2 {
                for j in 0..<i {
                    var dot = 0.0
                    for t in 0..<d { dot += q[i * d + t] * q[j * d + t] }
                    for t in 0..<d { q[i * d + t] -= dot * q[j * d + t] }
                }
            }
            var norm = 0.0
            for t in 0..<d { norm += q[i * d + t] * q[i * d + t] }
            norm = norm.squareRoot()
            precondition(norm > 1e-8, "degenerate Gaussian rows")
            for t in 0..<d { q[i * d + t] /= norm }
        }
        return q.map { Float($0) }
    }

    /// Eigenvalues (ascending) of a small symmetric n×n matrix (row-major,
    /// Double) by cyclic Jacobi rotations.
    public static func symmetricEigenvalues(_ matrix: [Double], n: Int) -> [Double] {
        precondition(matrix.count == n * n)
        var a = matrix
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<max(n, p + 1) { off += a[p * n + q] * a[p * n + q] } }
            if off < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) {
                    let apq = a[p * n + q]
                    if abs(apq) < 1e-300 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                }
            }
        }
        return (0..<n).map { a[$0 * n + $0] }.sorted()
    }
}
