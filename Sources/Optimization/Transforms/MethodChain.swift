import CSGDCore
import Compression

/// `MethodSpec → [transforms]`: every method as a composition of the small
/// transforms, with its step size and thresholds resolved.
///
/// | method | chain |
/// |---|---|
/// | `alg1` | gradient → perturb(σ) → [reset ∘] error feedback ∘ compress → average → step |
/// | `alg1:…,noise=deferred` (RandomK) | gradient → error feedback ∘ compress → average → noise of the sent coordinates → step |
/// | `ef-sgd` | gradient → error feedback ∘ compress → average → step |
/// | `sgd`, `qsgd-sgd` | gradient → compress → average → step |
/// | `psgd` | gradient → perturb(σ) → compress(none) → average → step |
/// | `pgd` | full gradient → compress(none) → average → perturb-when-small → step |
/// | `cnc` | gradient → compress(none) → average → curvature step → step |
///
/// η: a method's `eta=` wins, then --lr, then (alg1:theory) the theory's η,
/// then the problem's suggestion; PGD derives its own from ℓ.
/// What a method may read from the run beyond its own options: the step
/// size given for the run (`--lr`) and the ε and ρ of the ε-SOSP test.
public struct MethodContext: Sendable {
    public var learningRate: Double?
    public var epsilon: Double?
    public var rho: Double?
    public init(learningRate: Double? = nil, epsilon: Double? = nil, rho: Double? = nil) {
        self.learningRate = learningRate; self.epsilon = epsilon; self.rho = rho
    }
}

public struct MethodChain {
    public let transforms: [any GradientTransform]
    /// The step size every step starts with.
    public let eta: Double
    /// The reset rule in force (alg1 with reset), after theory defaults.
    public let resetRule: ResetRule?
    /// The per-coordinate σ of the perturbation (0: none).
    public let sigma: Double
    /// PGD's resolved parameters.
    public let pgd: PGDParameters?

    /// - Throws: `CSGDError` when no step size can be found or the method
    ///   cannot run on this objective.
    public static func build(method: MethodSpec, compressor: any Compressor, objective: any Objective,
                             context: MethodContext, theory: TheoryParameters? = nil) throws -> MethodChain {
        let d = objective.dimension
        guard compressor.dimension == d else { throw CSGDError("compressor dimension \(compressor.dimension) != problem dimension \(d)") }
        var resetRule = method.reset
        var noise = method.noise
        var eta = method.eta ?? context.learningRate
        var pgd: PGDParameters?
        if method.kind == .pgd {
            let k = objective.constants
            let o = method.pgdOptions
            guard let ell = o["ell"] ?? k.L, let rho = o["rho"] ?? context.rho ?? k.rho, let eps = o["eps"] ?? context.epsilon else {
                throw CSGDError("method 'pgd' needs ℓ, ρ and ε: give ell=, rho=, eps= (or --eps) when the problem does not know them")
            }
            var p = PGDParameters.derive(d: d, ell: ell, rho: rho, eps: eps, c: o["c"] ?? 1, delta: o["delta"] ?? 0.1, deltaF: o["deltaf"] ?? 1)
            if let v = o["eta"] ?? eta { p.eta = v }
            if let v = o["r"] { p.r = v }
            if let v = o["gthres"] { p.gThres = v }
            if let v = o["fthres"] { p.fThres = v }
            if let v = o["tthres"] { p.tThres = Int(v) }
            pgd = p
            eta = p.eta
            noise = .none   // pgd's r is the radius of its ball, not per-step noise
        }
        if method.useTheory {
            guard let theory else { throw CSGDError("method 'alg1:theory' needs ε, L, ρ, σ: pass --eps and a problem that knows its constants") }
            eta = eta ?? theory.eta
            if case .none = noise { noise = .radius(theory.r) }
            if resetRule != nil { resetRule = ResetRule(I: max(1, Int(theory.I.rounded(.up))), R: theory.R, F: method.variant == "neurips" ? 0 : theory.F) }
        }
        if eta == nil { eta = objective.suggestedStepSize(batch: max(1, method.batch)) }
        guard let eta, eta > 0, eta.isFinite else {
            throw CSGDError("no step size for method '\(method.kind.rawValue)' on '\(objective.name)': pass --lr η")
        }
        let sigma = noise.perCoordinateSigma(dimension: d)

        if method.deferNoise, !(compressor is RandomK) {
            throw CSGDError("method 'alg1': noise=deferred needs compressor randomk (it picks coordinates without looking at them), not '\(compressor)'")
        }
        var chain: [any GradientTransform] = [StochasticGradient(batch: method.batch)]
        if sigma > 0 && !method.deferNoise { chain.append(GaussianPerturbation(sigma: Float(sigma))) }
        let compress = CompressMessage(compressor)
        if method.memory {
            let feedback = ErrorFeedback(compress)
            if let rule = resetRule {
                chain.append(ErrorReset(rule: rule, eta: eta, feedback: feedback))
            } else {
                chain.append(feedback)
            }
        } else {
            chain.append(compress)
        }
        chain.append(AverageMessages())
        if method.deferNoise && sigma > 0 { chain.append(DeferredNoise(sigma: Float(sigma))) }
        if let pgd { chain.append(PerturbWhenSmall(pgd)) }
        if method.kind == .cnc {
            chain.append(CurvatureStep(gThres: method.gThres ?? context.epsilon ?? 1e-3, tThres: method.tThres ?? 10,
                                       stepSize: method.cncR ?? 2 * eta))
        }
        chain.append(SGDStep())
        return MethodChain(transforms: chain, eta: eta, resetRule: method.memory ? resetRule : nil, sigma: sigma, pgd: pgd)
    }
}
