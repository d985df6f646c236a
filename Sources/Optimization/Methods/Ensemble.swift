import CSGDCore

/// The ensemble of Kalan, Soltanolkotabi & Avestimehr, *Fitting ReLUs via
/// SGD and Quantized SGD* (2019), Appendix, Algorithm 1 (adapted from Tan &
/// Vershynin's randomized Kaczmarz): run any method L times from the same
/// start w₀, independently, and return the first result w⁽ˡ⁾ whose ball
/// B(w⁽ˡ⁾, 2√ε) holds at least L/2 of the L results (itself included).
/// With failure probability at most 1/3 a run, L ≥ C·log(1/δ′) runs make the
/// returned estimate good with probability 1 − δ′ (their Proposition 8.1).
///
/// It wraps whole runs, not a step, so it is not a chain of transforms and
/// not in `Methods.all`: a runner (`EnsembleRun` in Distributed, `csgd
/// optimize --ensemble`) runs the trials and calls `select`. This type holds
/// the options, the trials' seeds and the selection rule.
///
/// Spec (the value of `--ensemble`): `L[,eps=ε][,ball=absolute|relative]`,
/// L ≥ 1 the trial count; ε > 0 the tolerance (required); `ball=absolute`
/// (default) is the algorithm's radius 2√ε in the parameters' units,
/// `ball=relative` the radius 2√ε·‖w⁽ˡ⁾‖, so that ε is a squared relative
/// tolerance (two results within relative error √ε of the same point agree).
public struct Ensemble: Sendable, Equatable {
    public enum Ball: String, CaseIterable, Sendable { case absolute, relative }

    /// L, the number of independent runs.
    public var trials: Int
    /// ε: the ball's radius is 2√ε (times ‖w⁽ˡ⁾‖ with `ball=relative`).
    public var epsilon: Double
    public var ball: Ball

    public init(trials: Int, epsilon: Double, ball: Ball = .absolute) {
        self.trials = trials; self.epsilon = epsilon; self.ball = ball
    }

    /// Parses `L[,eps=ε][,ball=…]` (`SpecParser`'s grammar; errors start
    /// `option '--ensemble': `).
    public static func parse(_ text: String) throws -> Ensemble {
        var p = try SpecParser("--ensemble:" + text, kind: "option", names: ["--ensemble"])
        try p.read(options: ["eps", "ball"], positional: .required(what: "the trial count L", example: "5,eps=1e-6"))
        let trials = try p.integer(p.positional!, as: "L", .atLeast(1))
        guard let eps = try p.number("eps", .positive) else {
            throw p.error("needs eps=ε (Kalan et al.'s tolerance: results agree within 2√ε)")
        }
        return Ensemble(trials: trials, epsilon: eps, ball: try p.choice("ball", default: Ball.absolute))
    }

    /// The canonical spelling, which parses back to the same value.
    public var description: String {
        "\(trials),eps=\(SpecParser.format(epsilon)),ball=\(ball.rawValue)"
    }

    /// The seed of trial `l` (1-based): trial 1 is the run itself (the base
    /// seed, so L = 1 is the plain run, bit for bit); trial l ≥ 2 takes a
    /// seed drawn from Philox keyed by (base seed, step l, the shared
    /// worker, purpose `.initialization`), so trials differ in every random
    /// draw (mini-batches, noise, quantization) while the start, drawn from
    /// the base seed, stays the same.
    public static func trialSeed(base: UInt64, trial l: Int) -> UInt64 {
        precondition(l >= 1, "trials are numbered from 1")
        guard l > 1 else { return base }
        let (a, b, _, _) = RandomKey(seed: base, step: UInt64(l), purpose: .initialization).block(0x656E_7365)
        return UInt64(a) | UInt64(b) << 32
    }

    /// The agreement ball's radius around a result w: 2√ε, or 2√ε·‖w‖.
    public func radius(around w: [Float]) -> Double {
        let r = 2 * epsilon.squareRoot()
        guard ball == .relative else { return r }
        var s = 0.0
        for v in w { s += Double(v) * Double(v) }
        return r * s.squareRoot()
    }

    /// What `select` decided.
    public struct Selection: Sendable, Equatable {
        /// The returned result (0-based): the first with at least L/2 results
        /// in its ball; without consensus, the one with the most (first on ties).
        public var chosen: Int
        /// How many results (the chosen one included) lie in its ball.
        public var agreeing: Int
        /// Whether `agreeing` ≥ L/2, i.e. Algorithm 1 returns a result.
        public var consensus: Bool
        /// The ball's radius around the chosen result.
        public var radius: Double
    }

    /// Algorithm 1's lines 3–5 over the trials' final iterates (in trial
    /// order): the first w⁽ˡ⁾ with |B(w⁽ˡ⁾, radius) ∩ {w⁽¹⁾, …, w⁽ᴸ⁾}| ≥ L/2
    /// (closed ball, Euclidean distance). Algorithm 1 returns nothing when
    /// no result qualifies; `select` then names the result with the most
    /// results in its ball and says `consensus == false`.
    public func select(_ results: [[Float]]) -> Selection {
        precondition(!results.isEmpty, "an ensemble needs at least one result")
        var best: Selection?
        for (l, w) in results.enumerated() {
            let r = radius(around: w)
            var count = 0
            for v in results {
                precondition(v.count == w.count, "results of different dimensions")
                var s = 0.0
                for i in w.indices { let t = Double(w[i]) - Double(v[i]); s += t * t }
                if s.squareRoot() <= r { count += 1 }
            }
            let selection = Selection(chosen: l, agreeing: count, consensus: 2 * count >= results.count, radius: r)
            if selection.consensus { return selection }
            if best == nil || count > best!.agreeing { best = selection }
        }
        return best!
    }
}
