import CSGDCore
import Compression
import Foundation

/// Perturbed gradient descent (Jin, Ge, Netrapalli, Kakade & Jordan, *How
/// to Escape Saddle Points Efficiently*, ICML 2017, Algorithm 2): full
/// gradient steps; when ‖∇f(x_t)‖ ≤ g_thres and no perturbation in the last
/// t_thres steps, add a point uniform in the ball of radius r; t_thres steps
/// after a perturbation, if f fell by less than f_thres, return the point
/// before it and stop (`PerturbWhenSmall`).
///
/// Spec: `pgd[:ell=…,rho=…,eps=…,c=…,delta=…,deltaf=…][,eta=…,r=…,gthres=…,fthres=…,tthres=…]`,
/// every value positive (t_thres an integer). ℓ, ρ and ε default to the
/// problem's L, the run's or problem's ρ and the run's ε (--eps); c = 1,
/// δ = 0.1, Δ_f = 1; η, r and the thresholds are derived from them
/// (`PGDParameters.derive`) unless given. The gradient is the full one
/// (batch 0) unless a run sets a mini-batch.
public struct PGD: Method {
    public static let name = "pgd"
    public var common: CommonOptions
    /// ℓ, ρ, ε, c, δ, Δ_f.
    public var inputs = PerturbedGDInputs()
    /// The ball's radius r (overrides the derived one).
    public var r: Double?
    public var gThres: Double?
    public var fThres: Double?
    public var tThres: Int?

    public init(common: CommonOptions) { self.common = common }

    /// The identity: PGD sends its gradients whole.
    public var prescribedCompressor: CompressorSpec? { CompressorSpec.none }

    public static func parse(_ p: inout SpecParser) throws -> PGD {
        try p.read(options: PerturbedGDInputs.options + ["eta", "r", "gthres", "fthres", "tthres"])
        var m = PGD(common: try p.commonOptions(batch: 0))
        m.inputs = try PerturbedGDInputs.parse(p)
        m.r = try p.number("r", .positive)
        m.gThres = try p.number("gthres", .positive)
        m.fThres = try p.number("fthres", .positive)
        m.tThres = try p.integer("tthres", .positive)
        return m
    }

    public func chain(compressor: any Compressor, objective: any Objective, context: MethodContext) throws -> MethodChain {
        let (ell, rho, eps, c, delta, deltaF) = try inputs.resolve(objective, context, method: self)
        var p = PGDParameters.derive(d: objective.dimension, ell: ell, rho: rho, eps: eps, c: c, delta: delta, deltaF: deltaF)
        p.eta = try stepSize(objective: objective, context: context, fallback: p.eta)
        if let r { p.r = r }
        if let gThres { p.gThres = gThres }
        if let fThres { p.fThres = fThres }
        if let tThres { p.tThres = tThres }
        try context.collective.check(compressor, memory: false)
        return pgd(p, compressor: compressor, batch: batch, collective: context.collective)
    }
}

/// PGD's chain: gradient → send → average → perturb when small (and the
/// stop rule) → step, with η = `parameters.eta`.
/// - Parameters:
///   - parameters: η, r and the thresholds.
///   - compressor: what messages are sent as (the method prescribes the identity).
///   - batch: the mini-batch a worker (0, the default: the full gradient).
///   - collective: how the messages travel (`Collective`; the two stages,
///     without owner memory, only for unbiased compressors).
public func pgd(_ parameters: PGDParameters, compressor: any Compressor, batch: Int = 0, collective: Collective = .allgather) -> MethodChain {
    MethodChain(transforms: [StochasticGradient(batch: batch), CompressMessage(compressor, collective: collective), AverageMessages(),
                             PerturbWhenSmall(parameters), SGDStep()], eta: parameters.eta)
}

/// Perturbed gradient descent's step size, ball radius and thresholds
/// (Jin et al. 2017, Algorithm 2), each overridable.
public struct PGDParameters: Equatable, Sendable {
    public var eta: Double
    public var r: Double
    public var gThres: Double
    public var fThres: Double
    public var tThres: Int

    public init(eta: Double, r: Double, gThres: Double, fThres: Double, tThres: Int) {
        self.eta = eta; self.r = r; self.gThres = gThres; self.fThres = fThres; self.tThres = tThres
    }

    /// χ = 3·max(log(dℓΔ_f/(cε²δ)), 4), η = c/ℓ, r = (√c/χ²)ε/ℓ,
    /// g_thres = (√c/χ²)ε, f_thres = (c/χ³)√(ε³/ρ), t_thres = (χ/c²)ℓ/√(ρε).
    public static func derive(d: Int, ell: Double, rho: Double, eps: Double, c: Double, delta: Double, deltaF: Double) -> PGDParameters {
        let chi = 3 * max(log(Double(d) * ell * deltaF / (c * eps * eps * delta)), 4)
        return PGDParameters(
            eta: c / ell, r: c.squareRoot() / (chi * chi) * eps / ell, gThres: c.squareRoot() / (chi * chi) * eps,
            fThres: c / (chi * chi * chi) * (eps * eps * eps / rho).squareRoot(),
            tThres: Int((chi / (c * c) * ell / (rho * eps).squareRoot()).rounded(.up)))
    }
}
