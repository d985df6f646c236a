import Checkpointing
import Compression
import CSGDCore

/// The communication step: every rank's message is encoded, exchanged and
/// decoded, and the mean (1/W) Σ C(v⁽ⁱ⁾) becomes the step's update on every
/// rank (identical bits everywhere). Linear compressors with shared θ̃ reduce
/// their payloads by one all-reduce, the others all-gather their bytes
/// (see `MessageExchange`; sketch-topk has exchanged already, in
/// `CompressMessage` or `ErrorFeedback`). Sparse messages (RandomK, TopK, sketch-topk) give a
/// sparse update, so the step touches only those coordinates. Counts the bits.
public struct AverageMessages: GradientTransform {
    public init() {}

    /// The dense average (kept all-zero between steps in sparse mode) and the sparse pairs.
    public struct State {
        public let dense: FloatBuffer
        public var sparse: SparseUpdate?
    }

    public func initialState(dimension: Int, workers: Int) -> State {
        State(dense: FloatBuffer(count: dimension), sparse: nil)
    }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        guard let exchange = g.message else { preconditionFailure("AverageMessages needs a compressed message before it") }
        let key = context.workerKey(.quantization)
        let comm = context.communicator
        if let cap = exchange.sparseCapacity(workers: comm.size) {
            if state.sparse == nil || state.sparse!.capacity < cap { state.sparse = SparseUpdate(capacity: cap) }
            let s = state.sparse!
            let (up, down) = try exchange.averageSparse(into: s, zeroed: state.dense.buffer, key: key, communicator: comm)
            context.uploadBits += up
            context.downloadBits += down
            g.update = .sparse(s)
        } else {
            let (up, down) = try exchange.average(into: state.dense.buffer, key: key, communicator: comm)
            context.uploadBits += up
            context.downloadBits += down
            g.update = .dense(state.dense.buffer)
        }
        return .proceed
    }

    /// Nothing carries over: the dense average is rewritten every step (and
    /// all-zero between steps in sparse mode, as a fresh state is); the
    /// pairs are refilled.
    public func saveState(_ state: State, to w: inout CheckpointWriter) {}
    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {}
}
