import CSGDCore
import Compression

/// Algorithm 1 of *Escaping Saddle Points with Compressed SGD*
/// (Avdiukhin & Yaroslavtsev, NeurIPS 2021): every worker i adds noise ξ_t
/// to its stochastic gradient, compresses with error feedback,
/// g_t⁽ⁱ⁾ = C(e_t⁽ⁱ⁾ + ∇F_i(x_t) + ξ_t), e_{t+1}⁽ⁱ⁾ = e_t⁽ⁱ⁾ + ∇F_i(x_t) + ξ_t − g_t⁽ⁱ⁾,
/// and x_{t+1} = x_t − η·(1/W) Σ_i g_t⁽ⁱ⁾; optionally with the error reset.
///
/// Spec: `alg1[:r=R|sigma=S][,batch=B][,eta=η][,variant=arxiv|neurips]`
/// `[,reset=on|off][,I=…,R=…,F=…][,theory][,noise=eager|deferred]`.
/// - `r=` gives E‖ξ‖² = r², `sigma=` a per-coordinate σ (default: no noise).
/// - `variant=neurips` always resets, with F = 0; `variant=arxiv` (the
///   default) resets only with `reset=on` and takes F.
/// - The reset (`ErrorReset`): after more than I steps, or once
///   ‖x_{t'} − (x_t − η ē_t)‖ > R, keep x_t − η ē_t if it lowered f by more
///   than F (else return to x_{t'}), and zero the error memories.
/// - `theory` takes η, r and (with a reset) I, R, F from `TheoryParameters`
///   (a given `eta=`, --lr or noise wins over the theory's; I, R, F given
///   with `theory` are not read).
/// - `noise=deferred` (RandomK only, no reset) draws each coordinate's
///   noise when it is sent (`DeferredNoise`): K normals a step instead of d,
///   the same law, other bits.
public struct Alg1: PerturbedMethod {
    public static let name = "alg1"

    /// NeurIPS (reset always on, F = 0) or arXiv (reset optional, with F).
    public enum Variant: String, CaseIterable, Sendable {
        case arxiv, neurips
    }

    /// The error reset: off, on with its rule, or on with the theory's I, R, F.
    public enum Reset: Equatable, Sendable {
        case off
        case on(ResetRule)
        case fromTheory
    }

    public var common: CommonOptions
    public var noise: NoiseSpec = .none
    public var variant = Variant.arxiv
    public var reset = Reset.off
    /// Take η, r, I, R, F from the theory (`TheoryParameters`).
    public var theory = false
    /// Draw each coordinate's noise when it is sent (`noise=deferred`).
    public var deferredNoise = false

    public init(common: CommonOptions) { self.common = common }

    public var usesTheory: Bool { theory }

    public static func parse(_ p: inout SpecParser) throws -> Alg1 {
        try p.read(options: ["r", "sigma", "batch", "variant", "reset", "I", "R", "F", "theory", "eta", "noise"],
                   shorthands: ["theory": "theory=on"])
        var m = Alg1(common: try p.commonOptions())
        m.noise = try p.noise()
        m.theory = try p.onOff("theory") ?? false
        m.variant = try p.choice("variant", default: Variant.arxiv)
        let reset = try p.onOff("reset") ?? (m.variant == .neurips)
        if m.variant == .neurips && !reset { throw p.error("variant=neurips always resets; use variant=arxiv for reset=off") }
        let f = try p.number("F", .nonNegative)
        if m.variant == .neurips, let f, f != 0 { throw p.error("F = \(f) applies to variant=arxiv only (NeurIPS has F = 0)") }
        if try p.choice("noise", among: ["eager", "deferred"]) == "deferred" {
            guard !reset else { throw p.error("noise=deferred needs reset=off (a reset reads the whole error memory, noise included)") }
            if m.noise == .none && !m.theory { throw p.error("noise=deferred needs noise: give sigma= or r=") }
            m.deferredNoise = true
        }
        if !reset {
            for k in ["I", "R", "F"] where p.has(k) { throw p.error("\(k) is a reset option; add reset=on") }
        } else if m.theory {
            m.reset = .fromTheory
        } else {
            guard let i = try p.integer("I", .positive) else { throw p.error("reset needs I (the escape iterations)") }
            guard let r = try p.number("R", .positive) else { throw p.error("reset needs R (the escape radius)") }
            m.reset = .on(ResetRule(I: i, R: r, F: f ?? 0))
        }
        return m
    }

    public func chain(compressor: any Compressor, objective: any Objective, context: MethodContext) throws -> MethodChain {
        var noise = self.noise
        var rule: ResetRule?
        if case let .on(r) = reset { rule = r }
        var theoryEta: Double?
        if theory {
            guard let t = context.theory else {
                throw error("theory needs ε, L, ρ, σ: pass --eps and a problem that knows its constants")
            }
            theoryEta = t.eta
            if noise == .none { noise = .radius(t.r) }
            if reset != .off { rule = ResetRule(I: max(1, Int(t.I.rounded(.up))), R: t.R, F: variant == .neurips ? 0 : t.F) }
        }
        let eta = try stepSize(objective: objective, context: context, fallback: theoryEta)
        if deferredNoise, !(compressor is RandomK) {
            throw error("noise=deferred needs compressor randomk (it picks coordinates without looking at them), not '\(compressor)'")
        }
        try context.collective.check(compressor)
        if rule != nil && context.collective == .scatter {
            throw error("the error reset reads x_t − η ē_t, which the two-stage exchange's owner memory would change: use --collective allgather or auto with a reset")
        }
        return alg1(noise: Float(noise.perCoordinateSigma(dimension: objective.dimension)), compressor: compressor, reset: rule,
                    deferredNoise: deferredNoise, eta: eta, batch: batch, collective: rule == nil ? context.collective : .allgather)
    }
}

/// Algorithm 1's chain: gradient → [reset ∘] error feedback with noise σ
/// (w ← v + ξ + e, m ← C(w), e ← w − C(w), one pass) → average → step;
/// with `deferredNoise` (RandomK) the noise is left out of the memory and
/// added to the average for the sent coordinates instead (`DeferredNoise`).
/// - Parameters:
///   - noise: σ of ξ_t ~ N(0, σ²I) a coordinate (0: none), shared by the ranks.
///   - compressor: C, of the objective's dimension.
///   - reset: the error reset's rule (nil: no reset).
///   - deferredNoise: draw each coordinate's noise when it is sent (RandomK
///     only, no reset): `DeferredNoise` after the average instead of ξ_t in
///     the error feedback.
///   - eta: the step size η (the reset's x_t − η ē_t uses it too).
///   - batch: the mini-batch a worker (0: the full gradient).
///   - collective: how non-linear messages travel (`Collective`; the
///     all-gather is Algorithm 1 as written).
public func alg1(noise: Float, compressor: any Compressor, reset: ResetRule? = nil, deferredNoise: Bool = false,
                 eta: Double, batch: Int = 1, collective: Collective = .allgather) -> MethodChain {
    let feedback = ErrorFeedback(compressor, noise: deferredNoise ? 0 : noise, collective: collective)
    let memory: any GradientTransform
    if let reset { memory = ErrorReset(rule: reset, eta: eta, feedback: feedback) } else { memory = feedback }
    var transforms: [any GradientTransform] = [StochasticGradient(batch: batch), memory, AverageMessages()]
    if deferredNoise && noise > 0 { transforms.append(DeferredNoise(sigma: noise)) }
    transforms.append(SGDStep())
    return MethodChain(transforms: transforms, eta: eta)
}
