import CSGDCore

/// What the theory defaults are derived from: the target ε, the smoothness
/// constants L (gradient Lipschitz), ρ (Hessian Lipschitz), σ (stochastic
/// gradient noise), ℓ (stochastic-gradient Lipschitz: given ⇔ Assumption C
/// holds), the dimension d, the compressor's μ and whether it is linear
/// (Definition 2.2), and f_max = f(x₀) − f* (the theorems' T is proportional
/// to it; unknown in practice, default 1).
public struct TheoryInputs: Codable, Sendable, Equatable {
    public var epsilon: Double
    public var L: Double
    public var rho: Double
    public var sigma: Double
    public var ell: Double?
    public var dimension: Int
    public var mu: Double
    public var linear: Bool
    public var fMax: Double

    public init(epsilon: Double, L: Double, rho: Double, sigma: Double, ell: Double? = nil,
                dimension: Int, mu: Double, linear: Bool = false, fMax: Double = 1) {
        self.epsilon = epsilon; self.L = L; self.rho = rho; self.sigma = sigma; self.ell = ell
        self.dimension = dimension; self.mu = mu; self.linear = linear; self.fMax = fMax
    }

    /// Inputs from an objective's known constants; throws naming the first
    /// constant (L, ρ or σ) the objective does not know.
    public init(epsilon: Double, constants c: ObjectiveConstants, dimension: Int, mu: Double,
                linear: Bool = false, fMax: Double = 1) throws {
        guard let L = c.L else { throw CSGDError("theory: L is unknown for this objective") }
        guard let rho = c.rho else { throw CSGDError("theory: rho is unknown for this objective") }
        guard let sigma = c.sigma else { throw CSGDError("theory: sigma is unknown for this objective") }
        self.init(epsilon: epsilon, L: L, rho: rho, sigma: sigma, ell: c.ell, dimension: dimension,
                  mu: mu, linear: linear, fMax: fMax)
    }

    /// Throws a one-line `CSGDError` naming the first invalid parameter.
    public func validate() throws {
        func positive(_ v: Double, _ name: String) throws {
            guard v > 0, v.isFinite else { throw CSGDError("theory: \(name) = \(v) must be positive and finite") }
        }
        try positive(epsilon, "eps")
        try positive(L, "L")
        try positive(rho, "rho")
        guard sigma >= 0, sigma.isFinite else { throw CSGDError("theory: sigma = \(sigma) must be non-negative and finite") }
        if let ell { try positive(ell, "ell") }
        guard dimension >= 1 else { throw CSGDError("theory: d = \(dimension) must be at least 1") }
        guard mu > 0, mu <= 1 else { throw CSGDError("theory: mu = \(mu) must be in (0, 1]") }
        try positive(fMax, "fmax")
    }
}

/// The user's multipliers c_η, c_I, c_R, c_F, c_r, c_T of Definition B.2
/// (Avdiukhin & Yaroslavtsev 2021, arXiv version), which stand in for the
/// polylogarithmic factors and absolute constants the theory leaves open; all default to 1 and must be positive.
public struct TheoryConstants: Codable, Sendable, Equatable {
    public var cEta: Double
    public var cI: Double
    public var cR: Double
    public var cF: Double
    public var cr: Double
    public var cT: Double

    public init(cEta: Double = 1, cI: Double = 1, cR: Double = 1, cF: Double = 1, cr: Double = 1, cT: Double = 1) {
        self.cEta = cEta; self.cI = cI; self.cR = cR; self.cF = cF; self.cr = cr; self.cT = cT
    }

    public func validate() throws {
        for (v, name) in [(cEta, "c-eta"), (cI, "c-I"), (cR, "c-R"), (cF, "c-F"), (cr, "c-r"), (cT, "c-T")] {
            guard v > 0, v.isFinite else { throw CSGDError("theory: \(name) = \(v) must be positive and finite") }
        }
    }
}

/// The parameters of Algorithm 1 that the theory prescribes (Definitions B.1
/// and B.2 of Avdiukhin & Yaroslavtsev 2021, arXiv version): step size η,
/// escape interval I, escape radius R, required decrease F, noise scale r (E‖ξ‖² = r²), and the
/// iteration bound T. With η_σ = ε²/(L(1+dσ²)) (no Assumption C) or
/// min(ε²/(L(1+σ²)), √(ρε)/ℓ²) (ℓ given), and η_μ = min(με/(√(1−μ)Lσ),
/// μ²√(ρε)/((1−μ)L²·k)) with k = d for a general and 1 for a linear
/// compressor: η = c_η·min(η_σ, η_μ), I = c_I/(η√(ρε)), R = c_R√(ε/ρ),
/// F = c_F√(ε³/ρ), r = c_r·ε/√(Lη), and T = c_T·f_max/(ε²η) — Theorem B.19's
/// T = Õ(f_max/(ηε²)) with its hidden constant and log factors in c_T (the
/// proofs give T ≥ 24f_max/(ε²η) for the FOSP part, Theorem A.9, and
/// T ≥ 4(c_I/c_F)·f_max/(ε²η) for the escapes, end of Theorem B.19's proof; no
/// logarithm is added). μ = 1 (no compression) makes both η_μ terms +∞, and
/// σ = 0 the first one, so they drop out of the minimum. I and T are real
/// numbers; `resetInterval` and `iterationCount` round them up to steps.
/// JSON keys are exactly `eta, I, R, F, r, T`.
public struct TheoryParameters: Codable, Sendable, Equatable {
    public var eta: Double
    public var I: Double
    public var R: Double
    public var F: Double
    public var r: Double
    public var T: Double

    public init(eta: Double, I: Double, R: Double, F: Double, r: Double, T: Double) {
        self.eta = eta; self.I = I; self.R = R; self.F = F; self.r = r; self.T = T
    }

    /// Derives the parameters; throws a `CSGDError` naming the first invalid
    /// input, or when a derived value is not finite (e.g. ε so small that T overflows).
    public init(_ inputs: TheoryInputs, constants c: TheoryConstants = TheoryConstants()) throws {
        try inputs.validate()
        try c.validate()
        let eps = inputs.epsilon, L = inputs.L, rho = inputs.rho
        let eta = c.cEta * min(Self.etaSigma(inputs), Self.etaMu(inputs))
        let sqrtRhoEps = (rho * eps).squareRoot()
        self.eta = eta
        self.I = c.cI / (eta * sqrtRhoEps)
        self.R = c.cR * (eps / rho).squareRoot()
        self.F = c.cF * (eps * eps * eps / rho).squareRoot()
        self.r = c.cr * eps / (L * eta).squareRoot()
        self.T = c.cT * inputs.fMax / (eps * eps * eta)
        for (v, name) in [(self.eta, "eta"), (self.I, "I"), (self.R, "R"), (self.F, "F"), (self.r, "r"), (self.T, "T")] {
            guard v.isFinite, v > 0 else {
                throw CSGDError("theory: the derived \(name) = \(v) is not a positive finite number; check the magnitudes of eps, L, rho, sigma, d, mu")
            }
        }
    }

    /// η_σ of Definition B.1: the largest step for uncompressed SGD.
    public static func etaSigma(_ p: TheoryInputs) -> Double {
        let eps2 = p.epsilon * p.epsilon
        if let ell = p.ell {
            return min(eps2 / (p.L * (1 + p.sigma * p.sigma)), (p.rho * p.epsilon).squareRoot() / (ell * ell))
        }
        return eps2 / (p.L * (1 + Double(p.dimension) * p.sigma * p.sigma))
    }

    /// η_μ of Definition B.1 (its last factor d for a general compressor, 1
    /// for a linear one): the largest step the compression allows; +∞ when μ = 1, and its first term +∞ when σ = 0.
    public static func etaMu(_ p: TheoryInputs) -> Double {
        guard p.mu < 1 else { return .infinity }
        let oneMinus = 1 - p.mu
        let first = p.sigma > 0 ? p.mu * p.epsilon / (oneMinus.squareRoot() * p.L * p.sigma) : .infinity
        let k = p.linear ? 1.0 : Double(p.dimension)
        let second = p.mu * p.mu * (p.rho * p.epsilon).squareRoot() / (oneMinus * p.L * p.L * k)
        return min(first, second)
    }

    /// I rounded up to whole steps (saturating at Int.max).
    public var resetInterval: Int { Self.steps(I) }
    /// T rounded up to whole steps (saturating at Int.max).
    public var iterationCount: Int { Self.steps(T) }

    static func steps(_ v: Double) -> Int {
        let c = v.rounded(.up)
        return c >= Double(Int.max) ? Int.max : max(0, Int(c))
    }
}
