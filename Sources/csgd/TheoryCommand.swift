import ArgumentParser
import CSGDCore
import Foundation
import Optimization

/// `csgd theory`: the parameters of Algorithm 1 that Definitions B.1–B.2 of
/// Avdiukhin & Yaroslavtsev 2021 (arXiv version) prescribe (η, I, R, F, r) and the iteration bound T, from ε, L,
/// ρ, σ, optional ℓ (Assumption C), d and the compressor's μ. Prints a table,
/// or with --json one object with keys eta, I, R, F, r, T.
struct TheoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "theory",
        abstract: "Derive the theory defaults η, I, R, F, r and the iteration bound T (Definitions B.1–B.2 of Avdiukhin & Yaroslavtsev 2021).",
        discussion: """
        eta_sigma = eps^2/(L(1+d sigma^2)), or with --ell (Assumption C) min(eps^2/(L(1+sigma^2)), sqrt(rho eps)/ell^2);
        eta_mu = min(mu eps/(sqrt(1-mu) L sigma), mu^2 sqrt(rho eps)/((1-mu) L^2 k)), k = d (general) or 1 (--linear);
        eta = c_eta min(eta_sigma, eta_mu), I = c_I/(eta sqrt(rho eps)), R = c_R sqrt(eps/rho),
        F = c_F sqrt(eps^3/rho), r = c_r eps/sqrt(L eta), T = c_T fmax/(eps^2 eta).
        """)

    @Option(name: .customLong("eps"), parsing: .unconditional, help: "Target accuracy ε > 0.")
    var eps: Double

    @Option(name: .customLong("L"), parsing: .unconditional, help: "Gradient Lipschitz constant L > 0.")
    var L: Double

    @Option(name: .customLong("rho"), parsing: .unconditional, help: "Hessian Lipschitz constant ρ > 0.")
    var rho: Double

    @Option(name: .customLong("sigma"), parsing: .unconditional, help: "Stochastic gradient noise σ ≥ 0.")
    var sigma: Double

    @Option(name: .customLong("ell"), parsing: .unconditional, help: "Stochastic-gradient Lipschitz constant ℓ > 0 (Assumption C).")
    var ell: Double?

    @Option(name: [.customLong("dim"), .customLong("d")], parsing: .unconditional, help: "Dimension d ≥ 1, as compress's --dim. (--d: the older spelling.)")
    var d: Int

    @Option(name: .customLong("mu"), parsing: .unconditional, help: "Compressor's μ in (0, 1] (1: no compression).")
    var mu: Double

    @Flag(name: .customLong("linear"), help: "The compressor is linear once its randomness is fixed (e.g. randomk).")
    var linear = false

    @Option(name: .customLong("fmax"), parsing: .unconditional, help: "f(x₀) − f*, the scale of T.")
    var fMax: Double = 1

    @Option(name: .customLong("c-eta"), parsing: .unconditional, help: "Multiplier c_η.")
    var cEta: Double = 1
    @Option(name: .customLong("c-I"), parsing: .unconditional, help: "Multiplier c_I.")
    var cI: Double = 1
    @Option(name: .customLong("c-R"), parsing: .unconditional, help: "Multiplier c_R.")
    var cR: Double = 1
    @Option(name: .customLong("c-F"), parsing: .unconditional, help: "Multiplier c_F.")
    var cF: Double = 1
    @Option(name: .customLong("c-r"), parsing: .unconditional, help: "Multiplier c_r.")
    var cr: Double = 1
    @Option(name: .customLong("c-T"), parsing: .unconditional, help: "Multiplier c_T.")
    var cT: Double = 1

    @Flag(help: "One JSON object with keys eta, I, R, F, r, T instead of a table.")
    var json = false

    func run() throws {
        let inputs = TheoryInputs(epsilon: eps, L: L, rho: rho, sigma: sigma, ell: ell, dimension: d,
                                  mu: mu, linear: linear, fMax: fMax)
        let constants = TheoryConstants(cEta: cEta, cI: cI, cR: cR, cF: cF, cr: cr, cT: cT)
        let p = try CLI.orExit { try TheoryParameters(inputs, constants: constants) }
        if json {
            print(try CLI.jsonLine(p))
        } else {
            print(Self.table(p, inputs: inputs))
        }
    }

    static func table(_ p: TheoryParameters, inputs: TheoryInputs) -> String {
        func g(_ v: Double) -> String { v.isFinite ? String(format: "%.6g", v) : "inf" }
        var t = TextTable(header: ["parameter", "value", "meaning"])
        t.add(["eta_sigma", g(TheoryParameters.etaSigma(inputs)), inputs.ell == nil ? "SGD step bound (no Assumption C)" : "SGD step bound (Assumption C)"])
        t.add(["eta_mu", g(TheoryParameters.etaMu(inputs)), inputs.linear ? "compression step bound (linear)" : "compression step bound (general)"])
        t.add(["eta", g(p.eta), "step size"])
        t.add(["I", g(p.I), "escape interval (steps)"])
        t.add(["R", g(p.R), "escape radius"])
        t.add(["F", g(p.F), "required decrease"])
        t.add(["r", g(p.r), "noise scale, E|xi|^2 = r^2"])
        t.add(["T", g(p.T), "iteration bound"])
        return t.render()
    }
}
