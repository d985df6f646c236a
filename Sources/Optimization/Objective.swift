import CSGDCore

/// Which mini-batch a stochastic gradient is for: the run's seed, the step,
/// and the worker asking (worker `w` of `workers` draws from its own shard).
/// Every sample index and every drop of oracle noise is a pure function of
/// this key, so a run replays bit for bit and workers never share draws.
public struct BatchKey: Hashable, Sendable {
    public var seed: UInt64
    public var step: UInt64
    public var worker: Int
    public var workers: Int
    /// Counts several draws in one step (e.g. PGD's re-evaluation after a perturbation).
    public var draw: Int
    /// Samples in the mini-batch (0: the objective's default, e.g. a single
    /// sample or, for noise-oracle problems, irrelevant).
    public var size: Int

    public init(seed: UInt64, step: UInt64, worker: Int = 0, workers: Int = 1, draw: Int = 0, size: Int = 0) {
        self.size = size
        precondition(workers >= 1 && worker >= 0 && worker < workers)
        self.seed = seed
        self.step = step
        self.worker = worker
        self.workers = workers
        self.draw = draw
    }

    /// The random key for this worker's draws at this step with `purpose`.
    public func randomKey(_ purpose: RandomPurpose) -> RandomKey {
        RandomKey(seed: seed ^ (UInt64(draw) &* 0x9E37_79B9_7F4A_7C15), step: step, worker: UInt32(worker), purpose: purpose)
    }
}

/// Smoothness constants of an objective where they are known (the L, ρ, σ, ℓ of Assumptions A–C in Avdiukhin & Yaroslavtsev, NeurIPS 2021):
/// L (gradient Lipschitz), ρ (Hessian Lipschitz), σ (gradient noise), and ℓ
/// (stochastic-gradient Lipschitz, Assumption C). `nil` means unknown.
public struct ObjectiveConstants: Sendable, Equatable, Codable {
    public var L: Double?
    public var rho: Double?
    public var sigma: Double?
    public var ell: Double?
    public init(L: Double? = nil, rho: Double? = nil, sigma: Double? = nil, ell: Double? = nil) {
        self.L = L; self.rho = rho; self.sigma = sigma; self.ell = ell
    }
}

/// Something csgd can minimise: a dimension, a loss, a stochastic gradient
/// oracle over keyed mini-batches, a full gradient, Hessian–vector products
/// and (for small d) the dense Hessian.
///
/// Implementations are immutable after construction and safe to call from
/// several worker threads at once (scratch is per call), so W simulated
/// workers can share one objective. All buffers are flat Float32 of length
/// `dimension`; `x` is never modified.
public protocol Objective: AnyObject, Sendable {
    /// d, the number of parameters.
    var dimension: Int { get }
    /// The spec it was built from, e.g. `saddle:d=10`.
    var name: String { get }
    /// L, ρ, σ, ℓ where known.
    var constants: ObjectiveConstants { get }

    /// f(x): exact where the objective allows, else the mean loss over a
    /// fixed evaluation batch.
    func loss(at x: UnsafeBufferPointer<Float>) -> Double

    /// Writes a stochastic gradient ∇F_i(x, θ) for the mini-batch `batch`
    /// (worker i's shard or oracle) into `g` and returns that batch's loss.
    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double

    /// Writes the full gradient ∇f(x) into `g` and returns f(x).
    func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double

    /// Writes ∇²f(x)·v into `out`.
    func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>)

    /// Writes the starting point for `seed` into `x`.
    func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>)

    /// A known global minimiser (planted solution), if any; used for the
    /// relative error ‖x − x*‖/‖x*‖. Problems whose minimisers form a set
    /// (e.g. up to sign or rotation) override `relativeError` instead.
    var solution: [Float]? { get }

    /// ‖x − x*‖/‖x*‖ against the closest known minimiser, or nil.
    func relativeError(at x: UnsafeBufferPointer<Float>) -> Double?

    /// The dense Hessian (row-major d×d, Double) for small d, or nil.
    func hessian(at x: UnsafeBufferPointer<Float>) -> [Double]?

    /// A step size the problem's theory prescribes for mini-batches of
    /// `batch` samples (e.g. the planted ReLU model's η), or nil.
    func suggestedStepSize(batch: Int) -> Double?

    /// The n samples of a finite-sum objective (f = (1/n) Σ fᵢ), which
    /// mini-batches draw from with replacement; nil when a stochastic
    /// gradient is the exact one plus oracle noise (no finite sample set).
    var finiteSampleCount: Int? { get }
}

extension Objective {
    public var solution: [Float]? { nil }

    public func suggestedStepSize(batch: Int) -> Double? { nil }

    public var finiteSampleCount: Int? { nil }

    public func relativeError(at x: UnsafeBufferPointer<Float>) -> Double? {
        guard let s = solution, s.count == x.count else { return nil }
        var num = 0.0, den = 0.0
        for i in 0..<s.count {
            let t = Double(x[i]) - Double(s[i])
            num += t * t
            den += Double(s[i]) * Double(s[i])
        }
        return den > 0 ? (num / den).squareRoot() : num.squareRoot()
    }

    /// Dense Hessian from d Hessian–vector products (d ≤ 2048), symmetrised.
    public func hessian(at x: UnsafeBufferPointer<Float>) -> [Double]? {
        let d = dimension
        guard d <= 2048 else { return nil }
        var h = [Double](repeating: 0, count: d * d)
        let e = FloatBuffer(count: d), col = FloatBuffer(count: d)
        for j in 0..<d {
            e.zero()
            e[j] = 1
            hessianVectorProduct(at: x, e.readOnly, into: col.buffer)
            for i in 0..<d { h[i * d + j] = Double(col[i]) }
        }
        for i in 0..<d { for j in (i + 1)..<d where j < d {
            let s = 0.5 * (h[i * d + j] + h[j * d + i])
            h[i * d + j] = s; h[j * d + i] = s
        } }
        return h
    }
}
