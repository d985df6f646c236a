import Checkpointing
import Compression
import CSGDCore

/// Error feedback around a compressor, with Algorithm 1's perturbation
/// (Stich et al. 2018; Avdiukhin & Yaroslavtsev 2021, Algorithm 1):
/// w ← v + ξ + e, m ← C(w), e ← w − C(w), that is g_t = C(e_t + ∇F + ξ_t)
/// and e_{t+1} = e_t + ∇F + ξ_t − g_t. ξ_t ~ N(0, σ²I) comes from the shared
/// stream of (seed, t, purpose perturbation), the same on every rank; with
/// `noise` 0 there is none (EF-SGD). The noise, the memory update and ‖v‖²
/// are one fused pass (`StepKernels.compensate`, on the rank's spare cores
/// too when it has a `PassSplitter`). The memory e is this rank's own
/// (state), never communicated. The compensated vector is built in e's
/// storage, so keeping w − C(w) costs only the K (or d) coordinates the
/// message touches. How the messages travel (`collective`): an all-reduce
/// or all-gather, or DoubleSqueeze's two stages, whose owners keep a second
/// error memory (`ScatterMessageExchange`), saved with e in checkpoints.
public struct ErrorFeedback: GradientTransform {
    public let compressor: any Compressor
    /// σ of the perturbation ξ_t a coordinate (0: none).
    public let noise: Float
    /// The collective for non-linear compressors (`Collective.scatters`).
    public let collective: Collective

    public init(_ compressor: any Compressor, noise: Float = 0, collective: Collective = .allgather) {
        self.compressor = compressor
        self.noise = noise
        self.collective = collective
    }

    /// The rank's memory, its message exchange and per-block scratch.
    public struct State {
        public let memory: FloatBuffer
        public var exchange: any MessageExchange
        let sums: BlockSums
        let pass = CompensatePass()
    }

    public func initialState(dimension: Int, workers: Int) -> State {
        State(memory: FloatBuffer(count: dimension), exchange: makeMessageExchange(compressor, collective: collective, workers: workers),
              sums: BlockSums(dimension: dimension))
    }

    public func errorMemory(in state: State) -> UnsafeBufferPointer<Float>? { state.memory.readOnly }

    /// v is added into e before any collective, and the pass goes on from e.
    public var localVectorUse: LocalVectorUse { .consumes }

    /// The memory e, then the two-stage exchange's owner memory when it has
    /// one (the exchange otherwise holds only this step's message).
    public func saveState(_ state: State, to w: inout CheckpointWriter) {
        w.appendFloats(state.memory.readOnly)
        if let owner = state.exchange.ownerMemory { w.appendFloats(UnsafeBufferPointer(owner)) }
    }

    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {
        try r.readFloats(into: state.memory.buffer, "the error memory")
        if let owner = state.exchange.ownerMemory { try r.readFloats(into: owner, "the owner's error memory") }
    }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        let e = state.memory.buffer
        // w = e ← (v + σξ) + e, one pass.
        let xi = noise > 0 ? NoiseDraw(sigma: noise, key: context.sharedKey(.perturbation)) : nil
        context.gradientSumSquares = StepKernels.compensate(UnsafeBufferPointer(g.local), noise: xi, into: e,
                                                            splitter: context.splitter, sums: state.sums, pass: state.pass)
        g.local = e
        // m ← C(w), e ← w − C(w)
        _ = try state.exchange.compressKeepingResidual(e, key: context.workerKey(.quantization), communicator: context.communicator)
        g.message = state.exchange
        return .proceed
    }
}
