import Checkpointing
import Compression
import CSGDCore

/// Error feedback around a compressor (Stich et al. 2018; Algorithm 1):
/// w ← v + ξ + e, m ← C(w), e ← w − C(w). The memory e is this rank's own
/// (state), never communicated; ξ, when scheduled, is added in the same pass
/// as e (on the rank's spare cores too, when it has a `PassSplitter`). The
/// compensated vector is built in e's storage, so keeping w − C(w) costs
/// only the K (or d) coordinates the message touches.
public struct ErrorFeedback: GradientTransform {
    public let compress: CompressMessage
    public init(_ compress: CompressMessage) { self.compress = compress }

    /// The rank's memory, its compressor's stage and per-block scratch.
    public struct State {
        public let memory: FloatBuffer
        public var stage: any CompressionStage
        let sums: BlockSums
        let pass = CompensatePass()
    }

    public func initialState(dimension: Int, workers: Int) -> State {
        State(memory: FloatBuffer(count: dimension), stage: compress.initialState(dimension: dimension, workers: workers),
              sums: BlockSums(dimension: dimension))
    }

    public func errorMemory(in state: State) -> UnsafeBufferPointer<Float>? { state.memory.readOnly }

    /// The memory e (the stage holds only this step's message).
    public func saveState(_ state: State, to w: inout CheckpointWriter) {
        w.appendFloats(state.memory.readOnly)
    }

    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {
        try r.readFloats(into: state.memory.buffer, "the error memory")
    }

    public func update(_ g: inout GradientBuffer, state: inout State, context: inout StepContext) throws -> StepOutcome {
        let e = state.memory.buffer
        // e ← (v + σξ) + e, one pass.
        context.gradientSumSquares = StepKernels.compensate(UnsafeBufferPointer(g.local), noise: g.pendingNoise, into: e,
                                                            splitter: context.splitter, sums: state.sums, pass: state.pass)
        g.pendingNoise = nil
        g.local = e
        // m ← C(w), e ← w − C(w)
        return try compress.updateKeepingResidual(&g, state: &state.stage, context: &context)
    }
}
