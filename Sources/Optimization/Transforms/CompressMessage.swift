import Checkpointing
import Compression
import CSGDCore

/// m ← C(v) for this rank's vector v with the step's keys: shared randomness
/// θ̃_t for the compressor's shared parts, this rank's key for its private
/// ones (QSGD's rounding). A compressor whose C(v) depends on every rank's
/// vector (sketch-topk: indices from the summed sketches) communicates here,
/// so error feedback after it keeps v − C(v) of the final C(v). The state is
/// the rank's `CompressionStage` (message, writer, decode scratch), made once.
public struct CompressMessage: GradientTransform {
    public let compressor: any Compressor
    public init(_ compressor: any Compressor) { self.compressor = compressor }

    public func initialState(dimension: Int, workers: Int) -> any CompressionStage {
        makeCompressionStage(compressor)
    }

    public func update(_ g: inout GradientBuffer, state: inout any CompressionStage, context: inout StepContext) throws -> StepOutcome {
        try run(&g, state: &state, context: &context, keepingResidual: false)
    }

    /// As `update`, and then g.local ← g.local − C(g.local): error
    /// feedback's memory, kept in the same pass over the message's
    /// coordinates when the stage can (`compressKeepingResidual`).
    public func updateKeepingResidual(_ g: inout GradientBuffer, state: inout any CompressionStage,
                                      context: inout StepContext) throws -> StepOutcome {
        try run(&g, state: &state, context: &context, keepingResidual: true)
    }

    private func run(_ g: inout GradientBuffer, state: inout any CompressionStage, context: inout StepContext,
                     keepingResidual: Bool) throws -> StepOutcome {
        if context.gradientSumSquares == nil {
            context.gradientSumSquares = StepKernels.sumSquaresAndAddNoise(g.local, noise: g.pendingNoise)
            g.pendingNoise = nil
        }
        g.materializeNoise()
        let key = context.workerKey(.quantization)
        if keepingResidual {
            _ = try state.compressKeepingResidual(g.local, key: key, communicator: context.communicator)
        } else {
            _ = try state.compress(UnsafeBufferPointer(g.local), key: key, communicator: context.communicator)
        }
        g.message = state
        return .proceed
    }

    /// The stage's message and buffers are rewritten every step: nothing carries over.
    public func saveState(_ state: any CompressionStage, to w: inout CheckpointWriter) {}
    public func restoreState(_ state: inout any CompressionStage, from r: inout CheckpointReader) throws {}
}
