import CSGDCore
import Optimization

/// `saddle`: the smallest objective with a strict saddle, for checking that a
/// method escapes it and for measuring how long escape takes (the rates of
/// Table 1 of Avdiukhin & Yaroslavtsev 2021).
///
/// f(x) = −(γ/2)·x₁² + ¼·x₁⁴ + ½·Σ_{i≥2} x_i² on ℝᵈ (x₁ the first coordinate).
/// ∇f(x) = (x₁³ − γx₁, x₂, …, x_d); ∇²f(x) = diag(3x₁² − γ, 1, …, 1).
/// Critical points: the strict saddle x = 0 (f = 0, λ_min = −γ along e₁, the
/// other d − 1 eigenvalues 1) and the two global minimisers x = ±√γ·e₁ with
/// f* = −γ²/4 and Hessian diag(2γ, 1, …, 1). Constants, valid on the region
/// 𝓡 = {|x₁| ≤ 2√γ}, which contains the sublevel set {f ≤ f(0) = 0} (there
/// x₁² ≤ 2γ): L = max(11γ, 1) (the Hessian's eigenvalues lie in [−γ, 11γ] ∪ {1})
/// and ρ = 12√γ (|3x₁² − 3y₁²| ≤ 6·2√γ·|x₁ − y₁|). The oracle is the exact
/// gradient plus `OracleNoise` (σ = noise·√d, ℓ = L since the noise does not
/// depend on x). Options: `d=10` (≥ 1), `gamma=1` (> 0), `start=saddle|random`
/// (default `saddle`: x₀ = 0 exactly; `random`: x₀ ~ N(0, scale²·I) from the
/// run's seed), `scale=1`, `noise=0`, `noise-e1=0`, `seed=1` (accepted for
/// uniformity; the problem has no random data).
///
/// `noise-e1=σ₁` adds N(0, σ₁²) to the first coordinate only of every
/// stochastic gradient: the per-sample loss f(x) + σ₁ζx₁ with ζ ~ N(0, 1),
/// whose gradients vary along e₁, the direction of negative curvature at the
/// saddle, with E⟨e₁, ∇F⟩² ≥ E⟨e₁, ∇F − ∇f⟩² = σ₁² whatever d: the correlated
/// negative curvature (CNC) assumption of Daneshmand, Kohler, Lucchi &
/// Hofmann 2018, *Escaping Saddles with Stochastic Gradients*
/// (E⟨v, ∇F(x)⟩² ≥ γ > 0 along the eigenvector v of λ_min), with γ = σ₁².
/// Isotropic noise of the same norm has only 1/√d of it along e₁. The
/// oracle's σ is then √(dσ² + σ₁²); the canonical name shows `noise-e1` only
/// when it is not 0.
public final class StrictSaddle: Objective {
    public enum Start: String, CaseIterable, Sendable { case saddle, random }

    public struct Options: Equatable, Sendable, CustomStringConvertible, ScaleNoiseSeed {
        public var d = 10
        public var gamma = 1.0
        public var start = Start.saddle
        public var scale = 1.0
        public var noise = 0.0
        /// σ₁ of the oracle noise along e₁ only.
        public var noiseE1 = 0.0
        public var seed: UInt64 = 1
        public init() {}

        public static let keys = ["d", "gamma", "start", "scale", "noise", "noise-e1", "seed"]

        init(_ o: SpecOptions) throws {
            d = try o.int("d", default: d)
            gamma = try o.double("gamma", default: gamma)
            start = try o.choice("start", default: start)
            noiseE1 = try o.double("noise-e1", default: noiseE1)
            try readScaleNoiseSeed(o)
        }

        public func validate() throws {
            let p = "saddle"
            try SpecCheck.positive(p, "d", d)
            try SpecCheck.positive(p, "gamma", gamma)
            try checkScaleAndNoise(p)
            try SpecCheck.nonNegative(p, "noise-e1", noiseE1)
        }

        public var description: String {
            "saddle:d=\(d),gamma=\(SpecFormat.number(gamma)),start=\(start.rawValue),scale=\(SpecFormat.number(scale))"
                + ",noise=\(SpecFormat.number(noise))" + (noiseE1 > 0 ? ",noise-e1=\(SpecFormat.number(noiseE1))" : "") + ",seed=\(seed)"
        }
    }

    public let options: Options
    public let dimension: Int
    public let name: String
    public let constants: ObjectiveConstants
    /// f* = −γ²/4.
    public let optimalValue: Double

    public init(_ options: Options) throws {
        try options.validate()
        self.options = options
        dimension = options.d
        name = options.description
        let g = options.gamma
        var k = OracleNoise.exactGradientConstants(L: max(11 * g, 1), rho: 12 * g.squareRoot(), noise: options.noise, dimension: options.d)
        if options.noiseE1 > 0 { k.sigma = (Double(options.d) * options.noise * options.noise + options.noiseE1 * options.noiseE1).squareRoot() }
        constants = k
        optimalValue = -g * g / 4
    }

    public func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        precondition(x.count == dimension)
        let x1 = Double(x[0])
        let rest = Kernels.sumSquares(UnsafeBufferPointer(rebasing: x[1...]))
        return -0.5 * options.gamma * x1 * x1 + 0.25 * x1 * x1 * x1 * x1 + 0.5 * rest
    }

    public func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        precondition(x.count == dimension && g.count == dimension)
        g.baseAddress!.update(from: x.baseAddress!, count: dimension)
        let x1 = Double(x[0])
        g[0] = Float(x1 * x1 * x1 - options.gamma * x1)
        return loss(at: x)
    }

    public func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        let f = OracleNoise.exactGradient(of: self, at: x, batch: batch, sigma: options.noise, into: g)
        if options.noiseE1 > 0 {
            // σ₁ζ on the first coordinate: element 2³⁴ of the batch's stream, clear of
            // the sample indices (from element 0) and the isotropic noise (from 2³³).
            RandomFill.gaussian(batch.randomKey(.minibatch), sigma: Float(options.noiseE1), into: UnsafeMutableBufferPointer(rebasing: g[0..<1]),
                                offset: Self.noiseE1Offset, accumulate: true)
        }
        return f
    }

    /// Element offset of the e₁ noise inside the mini-batch stream (block 2³²).
    static let noiseE1Offset = 1 << 34

    public func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == dimension && v.count == dimension && out.count == dimension)
        out.baseAddress!.update(from: v.baseAddress!, count: dimension)
        let x1 = Double(x[0])
        out[0] = Float((3 * x1 * x1 - options.gamma) * Double(v[0]))
    }

    public func hessian(at x: UnsafeBufferPointer<Float>) -> [Double]? {
        let d = dimension
        guard d <= 2048 else { return nil }
        var h = [Double](repeating: 0, count: d * d)
        for i in 0..<d { h[i * d + i] = 1 }
        let x1 = Double(x[0])
        h[0] = 3 * x1 * x1 - options.gamma
        return h
    }

    public func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == dimension)
        switch options.start {
        case .saddle: Kernels.zero(x)
        case .random: SyntheticData.randomStart(seed: seed, sigma: Float(options.scale), into: x)
        }
    }

    /// The minimiser +√γ·e₁ (−√γ·e₁ is the other).
    public var solution: [Float]? {
        var s = [Float](repeating: 0, count: dimension)
        s[0] = Float(options.gamma.squareRoot())
        return s
    }

    /// min over ± of ‖x ∓ √γ·e₁‖ / √γ.
    public func relativeError(at x: UnsafeBufferPointer<Float>) -> Double? {
        let r = options.gamma.squareRoot()
        let x1 = Double(x[0])
        let rest = Kernels.sumSquares(UnsafeBufferPointer(rebasing: x[1...]))
        let e = min((x1 - r) * (x1 - r), (x1 + r) * (x1 + r)) + rest
        return e.squareRoot() / r
    }
}
