import Checkpointing
import CSGDCore

/// The accelerated step with negative-curvature exploitation of perturbed
/// accelerated gradient descent (Jin, Netrapalli & Jordan 2017, Algorithms 2
/// and 3), the last link of its chain. With x_t the iterate (after any
/// perturbation) and v_t = x_t − x_{t−1} its momentum:
///
///     y_t = x_t + (1 − θ)v_t,   x_{t+1} = y_t − η∇f(y_t),   v_{t+1} = x_{t+1} − x_t,
///
/// unless f(x_t) ≤ f(y_t) + ⟨∇f(y_t), x_t − y_t⟩ − (γ/2)‖x_t − y_t‖² (f is
/// more concave than −γ between x_t and y_t): then negative-curvature
/// exploitation replaces the step: if ‖v_t‖ ≥ s, x_{t+1} = x_t; else with
/// δ = s·v_t/‖v_t‖, x_{t+1} is the one of x_t ± δ with the smaller f (x_t + δ
/// on a tie); in both cases v_{t+1} = 0. The paper's "return (x_{t+1}, 0)"
/// is that sub-routine handing back the new iterate and momentum; the run
/// goes on.
///
/// When v_t = 0, y_t = x_t and both sides of the test are f(x_t): the test
/// certifies no curvature and gives no direction, so the step is the plain
/// one (a gradient step of η).
///
/// It needs ∇f(y_t), not ∇f(x_t): the first pass through the chain brings
/// the gradient at x_t (the perturbation test reads it); this transform then
/// keeps x_t and f(x_t), moves the iterate to y_t and asks the chain to run
/// again there (`.recompute`), and on that pass finishes the step (with
/// v_t = 0 the first pass's gradient is already ∇f(y_t)). η is the step
/// size the chain starts with. The state is v_t (checkpointed), the kept
/// x_t and f(x_t) (within a step) and counts of the two exploitation cases.
public struct AcceleratedStep: GradientTransform {
    /// θ: the momentum is 1 − θ.
    public let theta: Double
    /// γ: the curvature the exploitation test looks for.
    public let gamma: Double
    /// s: the exploitation's step length (and the momentum it resets above).
    public let s: Double

    public init(theta: Double, gamma: Double, s: Double) {
        self.theta = theta
        self.gamma = gamma
        self.s = s
    }

    public struct State {
        /// v_t = x_t − x_{t−1} (0 at the start and after an exploitation).
        public let v: FloatBuffer
        /// x_t, kept while the chain evaluates ∇f(y_t).
        public let x: FloatBuffer
        /// f(x_t).
        public var fx = 0.0
        /// The step whose pass is at y_t (Int.min: none).
        public var lookahead = Int.min
        /// Exploitations with ‖v_t‖ ≥ s (x_{t+1} = x_t, momentum reset).
        public var momentumResets = 0
        /// Exploitations with ‖v_t‖ < s (x_{t+1} = x_t ± δ).
        public var curvatureMoves = 0
    }

    public func initialState(dimension: Int, workers: Int) -> State {
        State(v: FloatBuffer(count: dimension), x: FloatBuffer(count: dimension))
    }

    /// v_t and the two counts (x_t and f(x_t) live within one step).
    public func saveState(_ state: State, to w: inout CheckpointWriter) {
        w.appendFloats(state.v.readOnly)
        w.appendInt(state.momentumResets)
        w.appendInt(state.curvatureMoves)
    }

    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {
        try r.readFloats(into: state.v.buffer, "PAGD's momentum v")
        state.momentumResets = try r.readInt("PAGD's momentum-reset count")
        state.curvatureMoves = try r.readInt("PAGD's curvature-move count")
    }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        guard case let .dense(u) = g.update else { preconditionFailure("PAGD's accelerated step needs a dense update") }
        let t = context.step, x = context.parameters, n = context.dimension
        let v = state.v.readOnly
        let vv = Kernels.sumSquares(v)
        if state.lookahead != t {
            // This pass's gradient is at x_t: keep x_t and f(x_t).
            state.x.pointer.update(from: x.baseAddress!, count: n)
            state.fx = context.objective.loss(at: context.readOnlyParameters)
            if vv > 0 {
                try context.writeIterateOnce { Kernels.axpy(Float(1 - theta), v, x) }
                state.lookahead = t
                return .recompute
            }
        }
        state.lookahead = Int.min
        // x = y_t and u = ∇f(y_t).
        let gg = Kernels.sumSquares(UnsafeBufferPointer(u))
        guard gg.isFinite else { throw NonFiniteIterate(step: t) }
        context.updateNorm = gg.squareRoot()
        var exploit = false
        if vv > 0 {
            // x_t − y_t = −(1 − θ)v_t.
            let a = 1 - theta
            let fy = context.objective.loss(at: context.readOnlyParameters)
            let inner = -a * Kernels.dot(UnsafeBufferPointer(u), v)
            exploit = state.fx <= fy + inner - gamma / 2 * a * a * vv
        }
        let xt = state.x.readOnly
        if !exploit {
            let a = Float(-g.stepSize)
            try context.writeIterate { part in
                Kernels.axpy(a, UnsafeBufferPointer(rebasing: u[part]), UnsafeMutableBufferPointer(rebasing: x[part]))
            }
            for i in 0..<n { state.v.pointer[i] = x[i] - xt[i] }
            return .proceed
        }
        if vv.squareRoot() >= s {
            state.momentumResets += 1
            try context.writeIterateOnce { x.baseAddress!.update(from: xt.baseAddress!, count: n) }
        } else {
            state.curvatureMoves += 1
            let k = Float(s / vv.squareRoot())
            try context.writeIterateOnce { for i in 0..<n { x[i] = xt[i] + k * v[i] } }
            let plus = context.objective.loss(at: context.readOnlyParameters)
            try context.writeIterateOnce { for i in 0..<n { x[i] = xt[i] - k * v[i] } }
            let minus = context.objective.loss(at: context.readOnlyParameters)
            if plus <= minus { try context.writeIterateOnce { for i in 0..<n { x[i] = xt[i] + k * v[i] } } }
        }
        state.v.zero()
        return .proceed
    }
}
