import CSGDCore

/// The inputs PGD and PAGD derive their parameters from (Jin et al. 2017,
/// Algorithm 2; Jin, Netrapalli & Jordan 2017, Algorithm 2): ℓ, ρ, ε and the
/// constants c, δ, Δ_f, as the options `ell, rho, eps, c, delta, deltaf`.
/// ℓ, ρ and ε default to the problem's L, the run's or problem's ρ and the
/// run's ε (--eps); c = 1, δ = 0.1, Δ_f = 1.
public struct PerturbedGDInputs: Equatable, Sendable {
    public var ell: Double?
    public var rho: Double?
    public var eps: Double?
    public var c: Double?
    public var delta: Double?
    public var deltaF: Double?

    public init() {}

    /// The option names, for `SpecParser.read(options:)`.
    public static let options = ["ell", "rho", "eps", "c", "delta", "deltaf"]

    /// Reads the options (each positive) from a spec already `read`.
    public static func parse(_ p: SpecParser) throws -> PerturbedGDInputs {
        var m = PerturbedGDInputs()
        m.ell = try p.number("ell", .positive)
        m.rho = try p.number("rho", .positive)
        m.eps = try p.number("eps", .positive)
        m.c = try p.number("c", .positive)
        m.delta = try p.number("delta", .positive)
        m.deltaF = try p.number("deltaf", .positive)
        return m
    }

    /// ℓ, ρ, ε, c, δ and Δ_f for a run, with the defaults; `method`'s error
    /// when ℓ, ρ or ε is known neither from the spec nor from the run.
    func resolve(_ objective: any Objective, _ context: MethodContext, method: some Method) throws
        -> (ell: Double, rho: Double, eps: Double, c: Double, delta: Double, deltaF: Double) {
        let k = objective.constants
        guard let ell = ell ?? k.L, let rho = rho ?? context.rho ?? k.rho, let eps = eps ?? context.epsilon else {
            throw method.error("needs ℓ, ρ and ε: give ell=, rho=, eps= (or --eps) when the problem does not know them")
        }
        return (ell, rho, eps, c ?? 1, delta ?? 0.1, deltaF ?? 1)
    }
}
