import CSGDCore
import Optimization

/// `phase-retrieval`: real phase retrieval from Gaussian measurements, a
/// sample-based non-convex problem whose origin is a critical point with only
/// negative curvature and whose minimisers are ±x*.
///
/// f(x) = (1/(4n))·Σᵢ (⟨aᵢ,x⟩² − yᵢ)², yᵢ = ⟨aᵢ,x*⟩², aᵢ ~ N(0, I_d) i.i.d. and
/// x* a uniformly random unit vector, both from the seed. With zᵢ = ⟨aᵢ,x⟩:
/// ∇f(x) = (1/n)·Σ (zᵢ² − yᵢ)·zᵢ·aᵢ and ∇²f(x) = (1/n)·Σ (3zᵢ² − yᵢ)·aᵢaᵢᵀ.
/// Minimisers: ±x* (f* = 0, Hessian (2/n)Σ⟨aᵢ,x*⟩²aᵢaᵢᵀ ⪰ 0). x = 0 is a
/// critical point with Hessian −(1/n)Σ yᵢaᵢaᵢᵀ (≈ −(I + 2x*x*ᵀ)); the
/// population objective also has the saddles {x ⊥ x*, ‖x‖² = 1/3}.
/// `relativeError` is min over ± of ‖x ∓ x*‖/‖x*‖. The stochastic oracle
/// averages the per-measurement gradients (zᵢ² − yᵢ)zᵢaᵢ over `batch.size`
/// (default 1) measurements drawn with replacement from worker
/// `batch.worker`'s contiguous shard (`MiniBatchSampler`), plus `OracleNoise`;
/// its loss is the batch's (1/(4m))Σ(zᵢ² − yᵢ)². Constants (population values,
/// close to the empirical ones when n ≫ d log d, on the region ‖x‖ ≤ 2‖x*‖ = 2):
/// ∇²f_pop(x) = (3‖x‖² − 1)I + 6xxᵀ − 2x*x*ᵀ has eigenvalues in [−3, 9‖x‖²], so
/// L = 36; |∇³f_pop[v,v,v]| = 18|⟨x,v⟩|‖v‖² gives ρ = 36; σ and ℓ are unknown
/// (nil). Options: `d=20`, `n=200` (n ≥ 1), `start=random|zero` (default
/// `random`: x₀ ~ N(0, (scale²/d)·I), so ‖x₀‖ ≈ scale; `zero`: the critical
/// point 0, where every per-sample gradient vanishes), `scale=0.1`, `noise=0`,
/// `seed=1`.
public final class PhaseRetrieval: Objective {
    public enum Start: String, CaseIterable, Sendable { case random, zero }

    public struct Options: Equatable, Sendable, CustomStringConvertible, ScaleNoiseSeed {
        public var d = 20
        public var n = 200
        public var start = Start.random
        public var scale = 0.1
        public var noise = 0.0
        public var seed: UInt64 = 1
        public init() {}

        public static let keys = ["d", "n", "start", "scale", "noise", "seed"]

        init(_ o: SpecOptions) throws {
            d = try o.int("d", default: d)
            n = try o.int("n", default: n)
            start = try o.choice("start", default: start)
            try readScaleNoiseSeed(o)
        }

        public func validate() throws {
            let p = "phase-retrieval"
            try SpecCheck.positive(p, "d", d)
            try SpecCheck.positive(p, "n", n)
            try SpecCheck.sampleMatrix(p, n: n, d: d)
            try checkScaleAndNoise(p)
        }

        public var description: String {
            "phase-retrieval:d=\(d),n=\(n),start=\(start.rawValue),scale=\(SpecFormat.number(scale))"
                + ",noise=\(SpecFormat.number(noise)),seed=\(seed)"
        }
    }

    public let options: Options
    public let dimension: Int
    public let name: String
    public let constants: ObjectiveConstants
    /// f* = 0.
    public let optimalValue = 0.0
    /// The number of measurements n.
    public let sampleCount: Int
    /// a₁, …, a_n as an n×d row-major matrix.
    public let measurements: [Float]
    /// y₁, …, y_n (computed in Double, rounded once).
    public let labels: [Float]
    /// x* (unit norm).
    public let planted: [Float]
    /// The measurements as a matrix.
    let matrix: RowMatrix

    public init(_ options: Options) throws {
        try options.validate()
        self.options = options
        let d = options.d, n = options.n
        dimension = d
        sampleCount = n
        name = options.description
        let a = SyntheticData.gaussian(count: n * d, key: SyntheticData.key(seed: options.seed, .features))
        var xs = SyntheticData.gaussian(count: d, key: SyntheticData.key(seed: options.seed, .planted)).map(Double.init)
        let norm = xs.reduce(0) { $0 + $1 * $1 }.squareRoot()
        xs = xs.map { $0 / max(norm, 1e-30) }
        var y = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var z = 0.0
            for t in 0..<d { z += Double(a[i * d + t]) * xs[t] }
            y[i] = Float(z * z)
        }
        measurements = a
        matrix = RowMatrix(rows: a, count: n, dimension: d)
        labels = y
        planted = xs.map { Float($0) }
        constants = ObjectiveConstants(L: 36, rho: 36, sigma: nil, ell: nil)
    }

    /// The indices of the measurements in mini-batch `batch`.
    public func sampleIndices(batch: BatchKey) -> [Int] { MiniBatchSampler.indices(batch: batch, count: sampleCount) }

    public var finiteSampleCount: Int? { sampleCount }

    private func lossOf(_ z: UnsafeMutableBufferPointer<Float>) -> Double {
        var s = 0.0
        labels.withUnsafeBufferPointer { y in
            for i in 0..<sampleCount {
                let zi = Double(z[i])
                let r = zi * zi - Double(y[i])
                s += r * r
            }
        }
        return s / (4 * Double(sampleCount))
    }

    public func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        matrix.withProduct(x) { lossOf($0) }
    }

    public func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        labels.withUnsafeBufferPointer { y in
            matrix.meanGradient(at: x, into: g, loss: lossOf) { zi, i in (zi * zi - y[i]) * zi }
        }
    }

    public func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        let (total, m) = labels.withUnsafeBufferPointer { y in
            matrix.miniBatchGradient(at: x, batch: batch, noise: options.noise, into: g) { i, z in
                let r = z * z - Double(y[i])
                return (r * r, r * z)
            }
        }
        return total / (4 * Double(m))
    }

    public func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        labels.withUnsafeBufferPointer { y in
            matrix.meanHessianProduct(at: x, v, into: out) { u, z, i in u * (3 * z * z - y[i]) }
        }
    }

    public func hessian(at x: UnsafeBufferPointer<Float>) -> [Double]? {
        let d = dimension, n = sampleCount
        guard d <= 2048, x.count == d else { return nil }
        var h = [Double](repeating: 0, count: d * d)
        for i in 0..<n {
            var z = 0.0
            for t in 0..<d { z += Double(measurements[i * d + t]) * Double(x[t]) }
            let w = (3 * z * z - Double(labels[i])) / Double(n)
            for s in 0..<d {
                let ws = w * Double(measurements[i * d + s])
                for t in 0..<d { h[s * d + t] += ws * Double(measurements[i * d + t]) }
            }
        }
        return h
    }

    public func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == dimension)
        switch options.start {
        case .zero: Kernels.zero(x)
        case .random:
            SyntheticData.randomStart(seed: seed, sigma: Float(options.scale / Double(dimension).squareRoot()), into: x)
        }
    }

    /// x* (−x* is the other minimiser).
    public var solution: [Float]? { planted }

    /// min over ± of ‖x ∓ x*‖ / ‖x*‖.
    public func relativeError(at x: UnsafeBufferPointer<Float>) -> Double? {
        guard x.count == dimension else { return nil }
        var plus = 0.0, minus = 0.0, den = 0.0
        for i in 0..<dimension {
            let a = Double(x[i]), s = Double(planted[i])
            plus += (a - s) * (a - s); minus += (a + s) * (a + s); den += s * s
        }
        return (min(plus, minus) / den).squareRoot()
    }
}
