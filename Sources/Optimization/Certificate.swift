import CSGDCore

/// A record of whether a point is an ε-first- or ε-second-order stationary
/// point (as in Jin et al. 2017 and Avdiukhin & Yaroslavtsev 2021, Section
/// 1): ε-FOSP means ‖∇f(x)‖ ≤ ε with the full gradient;
/// ε-SOSP means, in addition, λ_min(∇²f(x)) ≥ −√(ρε) (`threshold`). λ_min is
/// the smallest Ritz value of a Lanczos run on Hessian–vector products, so
/// it is an estimate from above: `lanczosConverged` and `lanczosResidual` say
/// how far to trust it (some eigenvalue lies within the residual of it; when
/// the run hit its iteration cap, a saddle may be missed, never invented).
/// Encodes to JSON with the property names as keys.
public struct SOSPCertificate: Codable, Sendable, Equatable {
    /// f(x) as returned by the objective's full gradient.
    public var loss: Double
    /// ‖∇f(x)‖₂ of the full gradient.
    public var gradNorm: Double
    /// The smallest Hessian eigenvalue found by Lanczos.
    public var lambdaMin: Double
    public var epsilon: Double
    public var rho: Double
    /// −√(ρε).
    public var threshold: Double
    public var isFOSP: Bool
    public var isSOSP: Bool
    /// Krylov dimension used, residual estimate, and whether Lanczos converged.
    public var lanczosIterations: Int
    public var lanczosResidual: Double
    public var lanczosConverged: Bool

    public init(loss: Double, gradNorm: Double, lambdaMin: Double, epsilon: Double, rho: Double,
                lanczosIterations: Int = 0, lanczosResidual: Double = 0, lanczosConverged: Bool = true) {
        self.loss = loss
        self.gradNorm = gradNorm
        self.lambdaMin = lambdaMin
        self.epsilon = epsilon
        self.rho = rho
        self.threshold = -(rho * epsilon).squareRoot()
        self.isFOSP = gradNorm <= epsilon
        self.isSOSP = isFOSP && lambdaMin >= threshold
        self.lanczosIterations = lanczosIterations
        self.lanczosResidual = lanczosResidual
        self.lanczosConverged = lanczosConverged
    }

    /// Checks `x` against the ε-SOSP definition using the objective's full
    /// gradient and Lanczos on its Hessian–vector products.
    ///
    /// ρ is `rho` if given, else `objective.constants.rho`; when both are nil
    /// there is no fallback (the threshold −√(ρε) would be meaningless) and a
    /// `CSGDError` naming ρ is thrown. ε and ρ must be positive and finite;
    /// `x` must have `objective.dimension` entries.
    public static func check(
        objective: any Objective,
        at x: UnsafeBufferPointer<Float>,
        epsilon: Double,
        rho: Double? = nil,
        lanczosIterations: Int? = nil,
        tolerance: Double = 1e-6,
        seed: UInt64 = 0
    ) throws -> SOSPCertificate {
        guard epsilon > 0, epsilon.isFinite else { throw CSGDError("certificate: epsilon = \(epsilon) must be positive and finite") }
        guard let rho = rho ?? objective.constants.rho else {
            throw CSGDError("certificate: rho (Hessian Lipschitz constant) is unknown for \(objective.name); pass rho explicitly")
        }
        guard rho > 0, rho.isFinite else { throw CSGDError("certificate: rho = \(rho) must be positive and finite") }
        guard x.count == objective.dimension else {
            throw CSGDError("certificate: the point has \(x.count) entries, \(objective.name) has dimension \(objective.dimension)")
        }
        let g = FloatBuffer(count: objective.dimension)
        let (loss, gradNorm) = withExtendedLifetime(g) {
            (objective.fullGradient(at: x, into: g.buffer), Kernels.norm2(g.readOnly))
        }
        let eig = Lanczos.lambdaMin(of: objective, at: x, iterations: lanczosIterations, tolerance: tolerance, seed: seed)
        return SOSPCertificate(loss: loss, gradNorm: gradNorm, lambdaMin: eig.lambdaMin, epsilon: epsilon, rho: rho,
                               lanczosIterations: eig.iterations, lanczosResidual: eig.residual,
                               lanczosConverged: eig.converged)
    }
}
