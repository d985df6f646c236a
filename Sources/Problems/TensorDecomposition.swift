import CSGDCore
import Optimization

/// `tensor-decomposition`: finding a component of an orthogonal 4th-order
/// tensor, the strict-saddle example of Ge et al. 2015 ("Escaping from saddle
/// points", §5), made unconstrained by a norm penalty.
///
/// T = Σ_{i≤k} aᵢ⊗aᵢ⊗aᵢ⊗aᵢ with a₁, …, a_k orthonormal in ℝᵈ (Gram–Schmidt of
/// Gaussian vectors from the seed), and f(u) = ⅙‖u‖⁶ − ¼·T(u,u,u,u) =
/// ⅙‖u‖⁶ − ¼·Σᵢ⟨aᵢ,u⟩⁴. Ge et al. maximise T(v,v,v,v) on the unit sphere; on
/// each ray u = t·v (‖v‖ = 1) f is minimised at t² = T(v) with value −T(v)³/12,
/// so min f = −(max_sphere T)³/12 and the critical points u ≠ 0 of f are
/// exactly u = √T(v)·v for the critical points v of the sphere problem with
/// T(v) > 0. With cᵢ = ⟨aᵢ,u⟩: ∇f(u) = ‖u‖⁴u − Σcᵢ³aᵢ and ∇²f(u) = ‖u‖⁴I +
/// 4‖u‖²uuᵀ − 3Σcᵢ²aᵢaᵢᵀ. Critical points: for every non-empty S ⊆ {1…k} and
/// signs εᵢ, u_S = (1/|S|)·Σ_{i∈S} εᵢaᵢ (‖u_S‖² = 1/|S|) with f = −1/(12|S|³);
/// |S| = 1 gives the 2k global minimisers ±aᵢ (f* = −1/12, Hessian I + aᵢaᵢᵀ,
/// λ_min = 1); |S| = s ≥ 2 gives strict saddles with λ_min = −2/s² (along
/// εᵢaᵢ − εⱼaⱼ, i, j ∈ S); u = 0 is a degenerate critical point (∇²f(0) = 0).
/// `relativeError` is min over i and ± of ‖u ∓ aᵢ‖. Constants on the region
/// 𝓡 = {‖u‖² ≤ 3/2}, which contains the sublevel set {f ≤ f(0) = 0}: with
/// B² = 3/2, the Hessian's eigenvalues lie in [−3B², 5B⁴] so L = 5B⁴ = 11.25,
/// and |∇³f(u)[v,v,v]| ≤ (6B + 20B³)‖v‖³ gives ρ = 6B + 20B³ ≈ 44.09. The oracle is the exact gradient
/// plus `OracleNoise` (σ = noise·√d, ℓ = L). Options: `d=10`, `k` (default d;
/// 1 ≤ k ≤ d), `start=random|saddle|zero` (default `random`: u₀ ~
/// N(0, (scale²/d)·I), so ‖u₀‖ ≈ scale; `saddle`: u₀ = (a₁ + … + a_s)/s;
/// `zero`: u₀ = 0), `s=2` (2 ≤ s ≤ k when start=saddle), `scale=0.5`, `noise=0`,
/// `seed=1`.
public final class TensorDecomposition: Objective {
    public enum Start: String, CaseIterable, Sendable { case random, saddle, zero }

    public struct Options: Equatable, Sendable, CustomStringConvertible, ScaleNoiseSeed {
        public var d = 10
        /// Number of components; nil means d.
        public var k: Int? = nil
        public var start = Start.random
        public var s = 2
        public var scale = 0.5
        public var noise = 0.0
        public var seed: UInt64 = 1
        public init() {}

        public static let keys = ["d", "k", "start", "s", "scale", "noise", "seed"]

        public var components: Int { k ?? d }

        init(_ o: SpecOptions) throws {
            d = try o.int("d", default: d)
            k = try o.optionalInt("k")
            start = try o.choice("start", default: start)
            s = try o.int("s", default: s)
            try readScaleNoiseSeed(o)
        }

        public func validate() throws {
            let p = "tensor-decomposition"
            try SpecCheck.positive(p, "d", d)
            guard d <= 1 << 16 else { throw CSGDError("problem '\(p)': d = \(d) is too large (at most 65536)") }
            if let k {
                try SpecCheck.positive(p, "k", k)
                guard k <= d else { throw CSGDError("problem '\(p)': k = \(k) exceeds d = \(d) (orthogonal components need k ≤ d)") }
            }
            guard s >= 2 else { throw CSGDError("problem '\(p)': s = \(s) must be at least 2 (s = 1 is a minimiser, not a saddle)") }
            if start == .saddle, s > components {
                throw CSGDError("problem '\(p)': s = \(s) exceeds the number of components k = \(components)")
            }
            try checkScaleAndNoise(p)
        }

        public var description: String {
            "tensor-decomposition:d=\(d)" + (k.map { ",k=\($0)" } ?? "") + ",start=\(start.rawValue),s=\(s)"
                + ",scale=\(SpecFormat.number(scale)),noise=\(SpecFormat.number(noise)),seed=\(seed)"
        }
    }

    /// B² = 3/2, the squared radius of the region the constants hold on.
    public static let regionRadiusSquared = 1.5

    public let options: Options
    public let dimension: Int
    public let name: String
    public let constants: ObjectiveConstants
    /// f* = −1/12.
    public let optimalValue = -1.0 / 12
    /// k.
    public let componentCount: Int
    /// a₁, …, a_k as a k×d row-major matrix (orthonormal rows).
    public let components: [Float]
    /// The components as a matrix.
    let matrix: RowMatrix

    public init(_ options: Options) throws {
        try options.validate()
        self.options = options
        dimension = options.d
        componentCount = options.components
        name = options.description
        components = SyntheticData.orthonormalRows(count: componentCount, dimension: options.d,
                                                   key: SyntheticData.key(seed: options.seed, .components))
        matrix = RowMatrix(rows: components, count: componentCount, dimension: dimension)
        let b2 = Self.regionRadiusSquared, b = b2.squareRoot()
        constants = OracleNoise.exactGradientConstants(L: max(3 * b2, 5 * b2 * b2), rho: 6 * b + 20 * b * b2, noise: options.noise,
                                                       dimension: options.d)
    }

    /// The saddle (a₁ + … + a_s)/s (f = −1/(12s³), λ_min = −2/s²).
    public func saddlePoint(size s: Int) -> [Float] {
        precondition(s >= 1 && s <= componentCount)
        let d = dimension
        var u = [Float](repeating: 0, count: d)
        for t in 0..<d {
            var acc = 0.0
            for i in 0..<s { acc += Double(components[i * d + t]) }
            u[t] = Float(acc / Double(s))
        }
        return u
    }

    private func lossOf(normSquared q: Double, _ c: UnsafeMutableBufferPointer<Float>) -> Double {
        var t = 0.0
        for i in 0..<componentCount { let ci = Double(c[i]); t += ci * ci * ci * ci }
        return q * q * q / 6 - t / 4
    }

    public func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        let q = Kernels.sumSquares(x)
        return matrix.withProduct(x) { lossOf(normSquared: q, $0) }
    }

    public func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        precondition(g.count == dimension)
        let q = Kernels.sumSquares(x)
        return matrix.withProduct(x) { c in
            let f = lossOf(normSquared: q, c)
            for i in 0..<componentCount { let ci = c[i]; c[i] = ci * ci * ci }
            // g = ‖u‖⁴u − Aᵀc³
            g.baseAddress!.update(from: x.baseAddress!, count: dimension)
            matrix.multiplyTransposed(alpha: -1, c.baseAddress!, beta: Float(q * q), into: g.baseAddress!)
            return f
        }
    }

    public func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        OracleNoise.exactGradient(of: self, at: x, batch: batch, sigma: options.noise, into: g)
    }

    public func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(v.count == dimension && out.count == dimension)
        let q = Kernels.sumSquares(x), uv = Kernels.dot(x, v)
        let k = componentCount
        matrix.withProduct(x) { c in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: k) { w in
                w.initialize(repeating: 0)
                matrix.multiply(v.baseAddress!, into: w.baseAddress!)
                for i in 0..<k { w[i] *= c[i] * c[i] }
                // out = ‖u‖⁴v + 4‖u‖²⟨u,v⟩u − 3Aᵀ(c² ⊙ Av)
                out.baseAddress!.update(from: v.baseAddress!, count: dimension)
                Kernels.scale(Float(q * q), out)
                Kernels.axpy(Float(4 * q * uv), x, out)
                matrix.multiplyTransposed(alpha: -3, w.baseAddress!, beta: 1, into: out.baseAddress!)
            }
        }
    }

    public func hessian(at x: UnsafeBufferPointer<Float>) -> [Double]? {
        let d = dimension, k = componentCount
        guard d <= 2048, x.count == d else { return nil }
        let u = x.map(Double.init)
        let q = u.reduce(0) { $0 + $1 * $1 }
        var h = [Double](repeating: 0, count: d * d)
        for s in 0..<d {
            for t in 0..<d { h[s * d + t] = 4 * q * u[s] * u[t] }
            h[s * d + s] += q * q
        }
        for i in 0..<k {
            var c = 0.0
            for t in 0..<d { c += Double(components[i * d + t]) * u[t] }
            let w = 3 * c * c
            for s in 0..<d {
                let ws = w * Double(components[i * d + s])
                for t in 0..<d { h[s * d + t] -= ws * Double(components[i * d + t]) }
            }
        }
        return h
    }

    public func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == dimension)
        switch options.start {
        case .zero: Kernels.zero(x)
        case .saddle:
            let u = saddlePoint(size: options.s)
            for t in 0..<dimension { x[t] = u[t] }
        case .random:
            SyntheticData.randomStart(seed: seed, sigma: Float(options.scale / Double(dimension).squareRoot()), into: x)
        }
    }

    /// a₁ (every ±aᵢ is a minimiser).
    public var solution: [Float]? { Array(components[0..<dimension]) }

    /// min over i and ± of ‖u ∓ aᵢ‖ (the aᵢ have unit norm).
    public func relativeError(at x: UnsafeBufferPointer<Float>) -> Double? {
        guard x.count == dimension else { return nil }
        let q = Kernels.sumSquares(x)
        return matrix.withProduct(x) { c in
            var best = Double.infinity
            for i in 0..<componentCount { best = min(best, q + 1 - 2 * abs(Double(c[i]))) }
            return max(best, 0).squareRoot()
        }
    }
}
