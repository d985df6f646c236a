import Checkpointing
import CSGDCore
import Foundation

/// Perturbed gradient descent's rules (Jin et al. 2017, Algorithm 2), after the
/// averaged gradient: when ‖∇f(x_t)‖ ≤ g_thres and no perturbation in the
/// last t_thres steps, remember x̃ = x_t and f(x̃), add a point uniform in
/// the ball B₀(r) (shared randomness) and recompute the gradient there;
/// t_thres steps after a perturbation, if f fell by less than f_thres,
/// return x̃ and stop. The state is x̃, f(x̃) and the step of the last perturbation.
public struct PerturbWhenSmall: GradientTransform {
    public let parameters: PGDParameters
    public init(_ p: PGDParameters) { parameters = p }

    public struct State {
        public let xTilde: FloatBuffer
        public var fTilde = 0.0
        public var tNoise = Int.min / 2
    }

    public func initialState(dimension: Int, workers: Int) -> State { State(xTilde: FloatBuffer(count: dimension)) }

    /// x̃, f(x̃) and the step of the last perturbation.
    public func saveState(_ state: State, to w: inout CheckpointWriter) {
        w.appendFloats(state.xTilde.readOnly)
        w.appendDouble(state.fTilde)
        w.appendInt(state.tNoise)
    }

    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {
        try r.readFloats(into: state.xTilde.buffer, "PGD's x̃")
        state.fTilde = try r.readDouble("PGD's f(x̃)")
        state.tNoise = try r.readInt("PGD's last perturbation step")
    }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        let p = parameters, t = context.step, x = context.parameters
        if context.draw == 0 {
            let gnorm = g.update.sumOfSquares().squareRoot()
            if gnorm <= p.gThres && t - state.tNoise > p.tThres {
                state.xTilde.buffer.baseAddress!.update(from: x.baseAddress!, count: x.count)
                state.fTilde = context.objective.loss(at: context.readOnlyParameters)
                state.tNoise = t
                try Self.addBallPoint(radius: p.r, context: context)
                return .recompute
            }
        }
        if t - state.tNoise == p.tThres && context.objective.loss(at: context.readOnlyParameters) - state.fTilde > -p.fThres {
            let xTilde = state.xTilde.pointer
            try context.writeIterateOnce { x.baseAddress!.update(from: xTilde, count: x.count) }
            return .stop("pgd stop rule at step \(t): no decrease of f_thres since the perturbation at step \(state.tNoise); returning x̃")
        }
        return .proceed
    }

    /// x ← x + a point uniform in the ball of radius r (shared randomness):
    /// a Gaussian direction, radius r·u^(1/d).
    /// (A shared iterate is moved once, by rank 0, which alone draws the point.)
    static func addBallPoint(radius: Double, context: StepContext) throws {
        let t = context.step, d = context.dimension
        let key = context.sharedKey(.ballPerturbation)
        let z = context.scratch, x = context.parameters
        try context.writeIterateOnce {
            RandomFill.gaussian(key, sigma: 1, into: z)
            let n = Kernels.norm2(UnsafeBufferPointer(z))
            var s = RandomStream(key: key.at(step: UInt64(t) | (1 << 63)))
            let u = s.nextUnitDouble()
            let scale = radius * pow(u, 1 / Double(d)) / max(n, .leastNormalMagnitude)
            Kernels.axpy(Float(scale), UnsafeBufferPointer(z), x)
        }
    }
}
