import CSGDCore
import Optimization

/// `relu`: the planted single-ReLU regression of Kalan, Soltanolkotabi &
/// Avestimehr, "Fitting ReLUs via SGD and Quantized SGD" (2019), where SGD
/// and QSGD converge linearly to the planted weights (their Figures 1–2).
///
/// Data: xⱼ ~ N(0, I_d) i.i.d. (j = 1…n, an n×d row-major Float32 matrix X),
/// w* with entries i.i.d. N(200, 3), yⱼ = max(0, ⟨xⱼ, w*⟩). The paper writes
/// N(μ, ·) with the covariance as second argument (x ~ N(0, I), "N(0, 1)"), so
/// 3 is the **variance**: the entries have standard deviation √3 (options
/// `wmean=200`, `wvar=3`). Loss f(w) = (1/(2n))·Σⱼ (ReLU(⟨w,xⱼ⟩) − yⱼ)² (the ½
/// scaling under which the paper's step η = m/d is stable); gradient
/// (1/n)·Σⱼ (ReLU(⟨w,xⱼ⟩) − yⱼ)·1{⟨w,xⱼ⟩ > 0}·xⱼ; Hessian, exact wherever no
/// ⟨w,xⱼ⟩ = 0, (1/n)·Σⱼ 1{⟨w,xⱼ⟩ > 0}·xⱼxⱼᵀ. The paper's printed per-sample
/// gradient 2(ReLU − y)(1 + sgn⟨w,x⟩)x is 4× ours on the active side. Minimiser:
/// w* (f* = 0; unique when the active xⱼ span ℝᵈ, which holds w.h.p. for
/// n ≳ 2d). Full loss, gradient and HVP use BLAS `sgemv` over all n samples;
/// the stochastic oracle averages the per-sample gradients of `batch.size`
/// (default 1) samples drawn with replacement from worker `batch.worker`'s
/// contiguous shard (`MiniBatchSampler`; the paper's eq. 2.1 and the
/// master–worker split of §2.2), plus `OracleNoise`. Start (`init=`):
/// `random` (the paper's experiments, "a random initial point"): w₀ ~
/// N(0, scale²·I) from the run's seed; `gradient` (Remark 3.2: "one full
/// gradient descent step at zero", following Soltanolkotabi 2017): at w = 0
/// every sample sits on the kink, where the generalized gradient's factor
/// (1 + sgn 0) is half its active-side value, so ∇f(0) = −(1/(2n))Σⱼ yⱼxⱼ and
/// w₀ = −η₀∇f(0) = (η₀/(2n))Σⱼ yⱼxⱼ; the default η₀ = 4 (`init-step`) makes w₀
/// unbiased, E[y·x] = w*/2, with relative error ≈ √(2d/n). Step sizes
/// (m = mini-batch size): the paper's experimental SGD step η = m/d
/// (`suggestedStepSize`), QSGD with b bits η = m·b/(9d); Theorem 3.1's step
/// η = 3/(4(9d/m + 25/16)) with contraction ρ = 1 − 9/(16(9d/m + 25/16)) of
/// E‖w_t − w*‖², and Theorem 3.2's QSGD contraction (eq. 3.3); the theorem
/// values are as printed, for the paper's own gradient normalisation.
/// Constants: L = (1 + √(d/n))², the high-probability (Bai–Yin) bound on
/// ‖XᵀX/n‖ ≥ ‖∇²f‖; it bounds the curvature, but the gradient jumps by
/// yⱼ‖xⱼ‖/n across a kink ⟨w,xⱼ⟩ = 0 with yⱼ > 0, so it is not a global
/// Lipschitz constant; ρ, σ, ℓ: nil. Options: `d=1000`, `n=10000`,
/// `init=random|gradient` (default `random`), `scale=1`, `init-step=4`,
/// `wmean=200`, `wvar=3`, `noise=0`, `seed=1`.
public final class PlantedReLU: Objective {
    public enum Initialization: String, CaseIterable, Sendable { case random, gradient }

    public struct Options: Equatable, Sendable, CustomStringConvertible {
        public var d = 1000
        public var n = 10000
        public var initialization = Initialization.random
        public var scale = 1.0
        public var initStep = 4.0
        public var wMean = 200.0
        public var wVariance = 3.0
        public var noise = 0.0
        public var seed: UInt64 = 1
        public init() {}

        public static let keys = ["d", "n", "init", "scale", "init-step", "wmean", "wvar", "noise", "seed"]

        init(_ o: SpecOptions) throws {
            d = try o.int("d", default: d)
            n = try o.int("n", default: n)
            initialization = try o.choice("init", default: initialization)
            scale = try o.double("scale", default: scale)
            initStep = try o.double("init-step", default: initStep)
            wMean = try o.double("wmean", default: wMean)
            wVariance = try o.double("wvar", default: wVariance)
            noise = try o.double("noise", default: noise)
            seed = try o.seed("seed", default: seed)
        }

        public func validate() throws {
            let p = "relu"
            try SpecCheck.positive(p, "d", d)
            try SpecCheck.positive(p, "n", n)
            try SpecCheck.sampleMatrix(p, n: n, d: d)
            try SpecCheck.positive(p, "scale", scale)
            try SpecCheck.positive(p, "init-step", initStep)
            try SpecCheck.nonNegative(p, "wvar", wVariance)
            guard wMean.isFinite else { throw CSGDError("problem '\(p)': wmean must be finite") }
            try SpecCheck.nonNegative(p, "noise", noise)
        }

        public var description: String {
            "relu:d=\(d),n=\(n),init=\(initialization.rawValue),scale=\(SpecFormat.number(scale))"
                + ",init-step=\(SpecFormat.number(initStep)),wmean=\(SpecFormat.number(wMean))"
                + ",wvar=\(SpecFormat.number(wVariance)),noise=\(SpecFormat.number(noise)),seed=\(seed)"
        }
    }

    public let options: Options
    public let dimension: Int
    public let name: String
    public let constants: ObjectiveConstants
    /// f* = 0.
    public let optimalValue = 0.0
    /// n.
    public let sampleCount: Int
    /// x₁, …, x_n as an n×d row-major matrix.
    public let features: [Float]
    /// y₁, …, y_n.
    public let labels: [Float]
    /// w*.
    public let planted: [Float]
    /// The features as a matrix.
    let matrix: RowMatrix

    public init(_ options: Options) throws {
        try options.validate()
        self.options = options
        let d = options.d, n = options.n
        dimension = d
        sampleCount = n
        name = options.description
        let x = SyntheticData.gaussian(count: n * d, key: SyntheticData.key(seed: options.seed, .features))
        let w = SyntheticData.gaussian(count: d, key: SyntheticData.key(seed: options.seed, .planted),
                                       mean: Float(options.wMean), sigma: Float(options.wVariance.squareRoot()))
        var y = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    BLAS.sgemv(trans: false, m: n, n: d, alpha: 1, a: xp.baseAddress!, lda: d, x: wp.baseAddress!, beta: 0, y: yp.baseAddress!)
                    for j in 0..<n { yp[j] = max(0, yp[j]) }
                }
            }
        }
        features = x
        matrix = RowMatrix(rows: x, count: n, dimension: d)
        labels = y
        planted = w
        let t = 1 + (Double(d) / Double(n)).squareRoot()
        constants = ObjectiveConstants(L: t * t, rho: nil, sigma: nil, ell: nil)
    }

    // MARK: Step sizes of Kalan et al.

    /// The paper's experimental SGD step η = m/d (its Section 4).
    public static func sgdStepSize(batch m: Int, dimension d: Int) -> Double { Double(max(m, 1)) / Double(d) }

    /// The paper's experimental QSGD step η = m·b/(9d) for b bits a coordinate (its Section 4).
    public static func qsgdStepSize(batch m: Int, bits b: Int, dimension d: Int) -> Double {
        Double(max(m, 1)) * Double(b) / (9 * Double(d))
    }

    /// Theorem 3.1's step η = 3/(4(9d/m + 25/16)).
    public static func theoryStepSize(batch m: Int, dimension d: Int) -> Double {
        3 / (4 * (9 * Double(d) / Double(max(m, 1)) + 25.0 / 16))
    }

    /// Theorem 3.1's contraction ρ = 1 − 9/(16(9d/m + 25/16)) of E‖w_t − w*‖².
    public static func theoryContraction(batch m: Int, dimension d: Int) -> Double {
        1 - 9 / (16 * (9 * Double(d) / Double(max(m, 1)) + 25.0 / 16))
    }

    /// Theorem 3.2's QSGD contraction α = 1 − 9/(16((1 + min(d/s², √d/s))(9d/m + 25/16) + 25/16))
    /// with s quantization levels (eq. 3.3).
    public static func qsgdTheoryContraction(batch m: Int, levels s: Int, dimension d: Int) -> Double {
        let dd = Double(d), ss = Double(s)
        let q = 1 + min(dd / (ss * ss), dd.squareRoot() / ss)
        return 1 - 9 / (16 * (q * (9 * dd / Double(max(m, 1)) + 25.0 / 16) + 25.0 / 16))
    }

    /// η = m/d (batch 0 counts as 1).
    public func suggestedStepSize(batch: Int) -> Double? { Self.sgdStepSize(batch: batch, dimension: dimension) }

    // MARK: Objective

    /// The indices of the samples in mini-batch `batch`.
    public func sampleIndices(batch: BatchKey) -> [Int] { MiniBatchSampler.indices(batch: batch, count: sampleCount) }

    public var finiteSampleCount: Int? { sampleCount }

    private func lossOf(_ z: UnsafeMutableBufferPointer<Float>) -> Double {
        var s = 0.0
        labels.withUnsafeBufferPointer { y in
            for j in 0..<sampleCount {
                let r = Double(max(0, z[j])) - Double(y[j])
                s += r * r
            }
        }
        return s / (2 * Double(sampleCount))
    }

    public func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        matrix.withProduct(x) { lossOf($0) }
    }

    public func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        labels.withUnsafeBufferPointer { y in
            matrix.meanGradient(at: x, into: g, loss: lossOf) { z, j in z > 0 ? z - y[j] : 0 }
        }
    }

    public func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        let (total, m) = labels.withUnsafeBufferPointer { y in
            matrix.miniBatchGradient(at: x, batch: batch, noise: options.noise, into: g) { j, z in
                let r = max(0, z) - Double(y[j])
                return (r * r, z > 0 ? r : nil)
            }
        }
        return total / (2 * Double(m))
    }

    public func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        matrix.meanHessianProduct(at: x, v, into: out) { u, z, _ in z > 0 ? u : 0 }
    }

    /// (1/n)·Σ 1{⟨w,xⱼ⟩ > 0}·xⱼxⱼᵀ in Double (d ≤ 2048; O(n·d²)).
    public func hessian(at x: UnsafeBufferPointer<Float>) -> [Double]? {
        let d = dimension, n = sampleCount
        guard d <= 2048, x.count == d else { return nil }
        var h = [Double](repeating: 0, count: d * d)
        let inv = 1 / Double(n)
        matrix.withProduct(x) { z in
            for j in 0..<n where z[j] > 0 {
                for s in 0..<d {
                    let xs = inv * Double(features[j * d + s])
                    for t in s..<d { h[s * d + t] += xs * Double(features[j * d + t]) }
                }
            }
        }
        for s in 0..<d { for t in 0..<s { h[s * d + t] = h[t * d + s] } }
        return h
    }

    public func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == dimension)
        switch options.initialization {
        case .random:
            SyntheticData.randomStart(seed: seed, sigma: Float(options.scale), into: x)
        case .gradient:
            // w₀ = −η₀·∇f(0) = (η₀/(2n))·Σ yⱼxⱼ
            features.withUnsafeBufferPointer { a in
                labels.withUnsafeBufferPointer { y in
                    BLAS.sgemv(trans: true, m: sampleCount, n: dimension, alpha: Float(options.initStep / (2 * Double(sampleCount))),
                               a: a.baseAddress!, lda: dimension, x: y.baseAddress!, beta: 0, y: x.baseAddress!)
                }
            }
        }
    }

    /// w*.
    public var solution: [Float]? { planted }
}
