import Checkpointing
import CSGDCore

/// CNC's curvature step (Daneshmand et al. 2018), after the
/// averaged gradient: where PGD would perturb (‖∇f‖ ≤ g_thres and none in
/// the last t_thres steps) the update becomes one single-sample stochastic
/// gradient, the same sample on every rank (a shared draw), applied with the
/// larger step r. The state is the step of the last curvature step.
public struct CurvatureStep: GradientTransform {
    public let gThres: Double
    public let tThres: Int
    public let stepSize: Double

    public init(gThres: Double, tThres: Int, stepSize: Double) {
        self.gThres = gThres
        self.tThres = tThres
        self.stepSize = stepSize
    }

    public struct State { public var tNoise = Int.min / 2 }

    public func initialState(dimension: Int, workers: Int) -> State { State() }

    /// The step of the last curvature step.
    public func saveState(_ state: State, to w: inout CheckpointWriter) { w.appendInt(state.tNoise) }

    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {
        state.tNoise = try r.readInt("CNC's last curvature step")
    }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        let t = context.step
        guard g.update.sumOfSquares().squareRoot() <= gThres && t - state.tNoise > tThres else { return .proceed }
        guard case let .dense(u) = g.update else { preconditionFailure("CNC's curvature step needs a dense update") }
        state.tNoise = t
        let key = BatchKey(seed: context.seed, step: UInt64(t), worker: 0, workers: 1, draw: 1, size: 1)
        _ = context.objective.gradient(at: context.readOnlyParameters, batch: key, into: u)
        g.stepSize = stepSize
        return .proceed
    }
}
