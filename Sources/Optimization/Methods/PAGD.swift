import CSGDCore
import Compression
import Foundation

/// Perturbed accelerated gradient descent (Jin, Netrapalli & Jordan,
/// *Accelerated Gradient Descent Escapes Saddle Points Faster than Gradient
/// Descent*, COLT 2018 / arXiv 2017, Algorithm 2): Nesterov's accelerated
/// gradient descent on the full gradient, with PGD's perturbation (a point
/// uniform in B₀(r) when ‖∇f(x_t)‖ ≤ ε and none in the last 𝒯 steps,
/// `PerturbWhenFlat`) and negative-curvature exploitation
/// (`AcceleratedStep`). It finds an ε-second-order stationary point in
/// Õ(ℓ^½ρ^¼(f(x₀) − f*)/ε^{7/4}) iterations (its main theorem), against
/// PGD's Õ(ℓ(f(x₀) − f*)/ε²).
///
/// Spec: `pagd[:ell=…,rho=…,eps=…,c=…,delta=…,deltaf=…][,eta=…,theta=…,gamma=…,s=…,r=…,gthres=…,tthres=…]`,
/// every value positive (θ ≤ 1, 𝒯 an integer). ℓ, ρ and ε default to the
/// problem's L, the run's or problem's ρ and the run's ε (--eps); c = 1,
/// δ = 0.1, Δ_f = 1; the rest follow the paper's choices
/// (`PAGDParameters.derive`), each from the ones before it, unless given:
/// a given η changes the derived γ, a given γ the derived s. Each step
/// evaluates the full gradient at x_t and at y_t.
public struct PAGD: Method {
    public static let name = "pagd"
    public var common: CommonOptions
    /// ℓ, ρ, ε, c, δ, Δ_f.
    public var inputs = PerturbedGDInputs()
    public var theta: Double?
    public var gamma: Double?
    public var s: Double?
    /// The ball's radius r.
    public var r: Double?
    /// The gradient norm at or below which to perturb (default ε).
    public var gThres: Double?
    /// 𝒯: the fewest steps between two perturbations.
    public var tThres: Int?

    public init(common: CommonOptions) { self.common = common }

    /// The identity: PAGD sends its gradients whole.
    public var prescribedCompressor: CompressorSpec? { CompressorSpec.none }

    public static func parse(_ p: inout SpecParser) throws -> PAGD {
        try p.read(options: PerturbedGDInputs.options + ["eta", "theta", "gamma", "s", "r", "gthres", "tthres"])
        var m = PAGD(common: try p.commonOptions(batch: 0))
        m.inputs = try PerturbedGDInputs.parse(p)
        m.theta = try p.number("theta", .positive)
        if let theta = m.theta, theta > 1 { throw p.error("theta = \(SpecParser.format(theta)) must be at most 1 (the momentum is 1 − θ)") }
        m.gamma = try p.number("gamma", .positive)
        m.s = try p.number("s", .positive)
        m.r = try p.number("r", .positive)
        m.gThres = try p.number("gthres", .positive)
        m.tThres = try p.integer("tthres", .positive)
        return m
    }

    public func chain(compressor: any Compressor, objective: any Objective, context: MethodContext) throws -> MethodChain {
        let (ell, rho, eps, c, delta, deltaF) = try inputs.resolve(objective, context, method: self)
        let eta = try stepSize(objective: objective, context: context, fallback: 1 / (4 * ell))
        let p = PAGDParameters.derive(d: objective.dimension, ell: ell, rho: rho, eps: eps, c: c, delta: delta,
                                      deltaF: deltaF, eta: eta, theta: theta, gamma: gamma, s: s, r: r,
                                      gThres: gThres, tThres: tThres)
        try context.collective.check(compressor, memory: false)
        return pagd(p, compressor: compressor, collective: context.collective)
    }
}

/// PAGD's chain: full gradient → send → average → perturb when flat →
/// accelerated step with negative-curvature exploitation, with η = `parameters.eta`.
/// - Parameters:
///   - parameters: η, θ, γ, s, r, the gradient threshold and 𝒯.
///   - compressor: what messages are sent as (the method prescribes the identity).
///   - collective: how the messages travel (`Collective`; the two stages,
///     without owner memory, only for unbiased compressors).
public func pagd(_ parameters: PAGDParameters, compressor: any Compressor, collective: Collective = .allgather) -> MethodChain {
    let p = parameters
    return MethodChain(transforms: [StochasticGradient(batch: 0), CompressMessage(compressor, collective: collective), AverageMessages(),
                                    PerturbWhenFlat(threshold: p.gThres, radius: p.r, interval: p.tThres),
                                    AcceleratedStep(theta: p.theta, gamma: p.gamma, s: p.s)], eta: p.eta)
}

/// Perturbed accelerated gradient descent's parameters (Jin, Netrapalli &
/// Jordan 2017, Algorithm 2 with the choices of its main theorem), each overridable.
public struct PAGDParameters: Equatable, Sendable {
    public var eta: Double
    public var theta: Double
    public var gamma: Double
    public var s: Double
    public var r: Double
    /// The gradient norm at or below which to perturb (the paper's ε).
    public var gThres: Double
    /// 𝒯, the fewest steps between two perturbations.
    public var tThres: Int

    public init(eta: Double, theta: Double, gamma: Double, s: Double, r: Double, gThres: Double, tThres: Int) {
        self.eta = eta; self.theta = theta; self.gamma = gamma; self.s = s; self.r = r; self.gThres = gThres; self.tThres = tThres
    }

    /// κ = ℓ/√(ρε), χ = max(1, log(dℓΔ_f/(ρεδ))), and, in order, each unless
    /// given: η = 1/(4ℓ), θ = 1/(4√κ), γ = θ²/η, s = γ/(4ρ),
    /// r = ηε·χ⁻⁵c⁻⁸, 𝒯 = ⌈√κ·χ·c⌉, and the perturbation threshold ε.
    public static func derive(d: Int, ell: Double, rho: Double, eps: Double, c: Double, delta: Double, deltaF: Double,
                              eta: Double? = nil, theta: Double? = nil, gamma: Double? = nil, s: Double? = nil,
                              r: Double? = nil, gThres: Double? = nil, tThres: Int? = nil) -> PAGDParameters {
        let kappa = ell / (rho * eps).squareRoot()
        let chi = max(1, log(Double(d) * ell * deltaF / (rho * eps * delta)))
        let eta = eta ?? 1 / (4 * ell)
        let theta = theta ?? 1 / (4 * kappa.squareRoot())
        let gamma = gamma ?? theta * theta / eta
        let s = s ?? gamma / (4 * rho)
        let r = r ?? eta * eps / (pow(chi, 5) * pow(c, 8))
        let tThres = tThres ?? Int((kappa.squareRoot() * chi * c).rounded(.up))
        return PAGDParameters(eta: eta, theta: theta, gamma: gamma, s: s, r: r, gThres: gThres ?? eps, tThres: tThres)
    }
}
