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
    /// Whether the update goes straight into the SGD step, which only reads
    /// it (set by `TransformChain` when `SGDStep` follows): then `none`'s
    /// update is its message itself on one rank, and the in-process ranks'
    /// one `SharedUpdate`, each writing its part, instead of W copies.
    public let appliedOnly: Bool

    public init(appliedOnly: Bool = false) { self.appliedOnly = appliedOnly }

    /// The dense average (kept all-zero between steps in sparse mode) and
    /// the sparse pairs, each made at the first step that needs it: a
    /// linear sparse compressor (RandomK) averages its payload and never
    /// needs the d floats.
    public struct State {
        public var dense: FloatBuffer?
        public var sparse: SparseUpdate?
        let dimension: Int

        /// The d floats of the dense average, made on first use.
        mutating func denseBuffer() -> UnsafeMutableBufferPointer<Float> {
            if let b = dense { return b.buffer }
            let b = FloatBuffer(count: dimension)
            dense = b
            return b.buffer
        }
    }

    public func initialState(dimension: Int, workers: Int) -> State {
        State(dense: nil, sparse: nil, dimension: dimension)
    }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        guard let exchange = g.message else { preconditionFailure("AverageMessages needs a compressed message before it") }
        let key = context.workerKey(.quantization)
        let comm = context.communicator
        if let cap = exchange.sparseCapacity(workers: comm.size) {
            if state.sparse == nil || state.sparse!.capacity < cap { state.sparse = SparseUpdate(capacity: cap) }
            let s = state.sparse!
            // A linear compressor's pairs are averaged as its payload, with no scratch.
            let zeroed = exchange.compressor.isLinear ? UnsafeMutableBufferPointer<Float>(start: nil, count: 0) : state.denseBuffer()
            let (up, down) = try exchange.averageSparse(into: s, zeroed: zeroed, key: key, communicator: comm)
            context.uploadBits += up
            context.downloadBits += down
            g.update = .sparse(s)
        } else if appliedOnly, let view = exchange as? ViewMessageExchange,
                  let avg = try view.averageWithoutCopies(shared: context.sharesIterate ? context.sharedUpdate : nil, communicator: comm) {
            context.uploadBits += avg.up
            context.downloadBits += avg.down
            g.update = .dense(avg.update)
        } else {
            let dense = state.denseBuffer()
            let (up, down) = try exchange.average(into: dense, key: key, communicator: comm)
            context.uploadBits += up
            context.downloadBits += down
            g.update = .dense(dense)
        }
        return .proceed
    }

    /// Nothing carries over: the dense average is rewritten every step (and
    /// all-zero between steps in sparse mode, as a fresh state is); the
    /// pairs are refilled.
    public func saveState(_ state: State, to w: inout CheckpointWriter) {}
    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {}
}
