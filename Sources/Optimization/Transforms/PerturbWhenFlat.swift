import Checkpointing
import CSGDCore

/// Perturbed accelerated gradient descent's perturbation (Jin, Netrapalli &
/// Jordan 2017, *Accelerated Gradient Descent Escapes Saddle Points Faster
/// than Gradient Descent*, Algorithm 2, first line of the loop), after the
/// averaged gradient at x_t: when ‖∇f(x_t)‖ ≤ `threshold` (the paper's ε)
/// and there was no perturbation in the last `interval` steps (𝒯), add a
/// point uniform in the ball B₀(`radius`) to x_t (shared randomness, the
/// same draw as PGD's ball) and run the chain again at the moved point.
/// Unlike PGD's `PerturbWhenSmall` there is no stop rule: Algorithm 2 runs
/// for as many steps as it is given. The state is the step of the last
/// perturbation.
public struct PerturbWhenFlat: GradientTransform {
    public let threshold: Double
    public let radius: Double
    public let interval: Int

    public init(threshold: Double, radius: Double, interval: Int) {
        self.threshold = threshold
        self.radius = radius
        self.interval = interval
    }

    public struct State {
        /// The step of the last perturbation.
        public var tNoise = Int.min / 2
        /// How many perturbations the run has made.
        public var perturbations = 0
    }

    public func initialState(dimension: Int, workers: Int) -> State { State() }

    /// The step of the last perturbation and the count.
    public func saveState(_ state: State, to w: inout CheckpointWriter) {
        w.appendInt(state.tNoise)
        w.appendInt(state.perturbations)
    }

    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {
        state.tNoise = try r.readInt("PAGD's last perturbation step")
        state.perturbations = try r.readInt("PAGD's perturbation count")
    }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        let t = context.step
        guard context.draw == 0, t - state.tNoise > interval,
              g.update.sumOfSquares().squareRoot() <= threshold else { return .proceed }
        state.tNoise = t
        state.perturbations += 1
        try PerturbWhenSmall.addBallPoint(radius: radius, context: context)
        return .recompute
    }
}
