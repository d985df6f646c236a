import Checkpointing
import CSGDCore

/// Algorithm 1's reset around its error feedback (Avdiukhin & Yaroslavtsev
/// 2021; the NeurIPS version has F = 0): at the start of step t, when
/// t − t' > I or ‖x_{t'} − (x_t − η ē_t)‖ > R (ē the mean of the ranks'
/// memories), keep x_t − η ē_t if it lowered f by more than F, else return
/// to x_{t'}; then t' ← t and every memory is zeroed. The state is the
/// anchor x_{t'}, f(x_{t'}), t' and the inner state.
public struct ErrorReset: GradientTransform {
    public let rule: ResetRule
    public let eta: Double
    public let feedback: ErrorFeedback

    public init(rule: ResetRule, eta: Double, feedback: ErrorFeedback) {
        self.rule = rule
        self.eta = eta
        self.feedback = feedback
    }

    public struct State {
        public let anchor: FloatBuffer
        public var fAnchor = 0.0
        public var tAnchor = 0
        public var feedback: ErrorFeedback.State
    }

    public func initialState(dimension: Int, workers: Int) -> State {
        State(anchor: FloatBuffer(count: dimension), feedback: feedback.initialState(dimension: dimension, workers: workers))
    }

    public func errorMemory(in state: State) -> UnsafeBufferPointer<Float>? { feedback.errorMemory(in: state.feedback) }
    public var localVectorUse: LocalVectorUse { feedback.localVectorUse }

    /// x_{t'}, f(x_{t'}), t', then the error feedback's state.
    public func saveState(_ state: State, to w: inout CheckpointWriter) {
        w.appendFloats(state.anchor.readOnly)
        w.appendDouble(state.fAnchor)
        w.appendInt(state.tAnchor)
        feedback.saveState(state.feedback, to: &w)
    }

    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {
        try r.readFloats(into: state.anchor.buffer, "the reset anchor x_{t'}")
        state.fAnchor = try r.readDouble("f(x_{t'})")
        state.tAnchor = try r.readInt("t'")
        try feedback.restoreState(&state.feedback, from: &r)
    }

    public func prepare(state: inout State, context: inout StepContext) throws {
        let x = context.parameters, anchor = state.anchor
        let t = context.step
        if t == 0 {
            anchor.buffer.baseAddress!.update(from: x.baseAddress!, count: x.count)
            state.fAnchor = context.objective.loss(at: context.readOnlyParameters)
            state.tAnchor = 0
            return
        }
        // y = x_t − η·ē_t, with ē the mean of the ranks' memories.
        let y = context.scratch, e = state.feedback.memory
        y.baseAddress!.update(from: e.pointer, count: y.count)
        try context.communicator.allReduceSum(y)
        Kernels.scale(Float(-eta) / Float(context.communicator.size), y)
        Kernels.axpy(1, context.readOnlyParameters, y)
        var dist2 = 0.0
        for i in 0..<y.count { let q = Double(anchor[i]) - Double(y[i]); dist2 += q * q }
        guard t - state.tAnchor > rule.I || dist2.squareRoot() > rule.R else { return }
        let fx = context.objective.loss(at: context.readOnlyParameters)
        let source = fx < state.fAnchor - rule.F ? UnsafePointer(y.baseAddress!) : UnsafePointer(anchor.pointer)
        try context.writeIterateOnce { x.baseAddress!.update(from: source, count: x.count) }
        state.tAnchor = t
        anchor.buffer.baseAddress!.update(from: x.baseAddress!, count: x.count)
        state.fAnchor = context.objective.loss(at: context.readOnlyParameters)
        e.zero()
        context.resets += 1
    }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        try feedback.update(&g, state: &state.feedback, context: &context)
    }
}

/// The error reset's thresholds: more than I steps since the last reset, or
/// the distance R from its anchor, trigger one; the step is kept only if it
/// lowered f by more than F.
public struct ResetRule: Equatable, Sendable {
    public var I: Int
    public var R: Double
    public var F: Double
    public init(I: Int, R: Double, F: Double) { self.I = I; self.R = R; self.F = F }
}
