import Checkpointing
import Compression
import CSGDCore

/// m ← C(v + ξ) for this rank's vector v, for methods without error memory:
/// ξ_t ~ N(0, σ²I) from the shared stream of (seed, t, purpose
/// perturbation), the same on every rank (perturbed SGD; `noise` 0: none,
/// m ← C(v)), then C with the step's keys: shared randomness θ̃_t for the
/// compressor's shared parts, this rank's key for its private ones (QSGD's
/// rounding). A compressor whose C(v) depends on every rank's vector
/// (sketch-topk: indices from the summed sketches) communicates here. The
/// state is the rank's `MessageExchange` (message, writer, decode scratch),
/// made once. An unbiased compressor (qsgd, fp64) may travel by the
/// two-stage exchange without owner memory (`collective`;
/// `ScatterMessageExchange`), whose update is still an unbiased estimate of
/// the mean of the ranks' vectors; other compressors are all-gathered or
/// all-reduced.
public struct CompressMessage: GradientTransform {
    public let compressor: any Compressor
    /// σ of the perturbation ξ_t a coordinate (0: none).
    public let noise: Float
    /// How the messages travel (`Collective.scatters` with no memory).
    public let collective: Collective

    public init(_ compressor: any Compressor, noise: Float = 0, collective: Collective = .allgather) {
        self.compressor = compressor
        self.noise = noise
        self.collective = collective
    }

    /// v goes into the message before any collective, except for
    /// sketch-topk, whose C(v) reads v again after its first all-reduce,
    /// and `none`, whose message is v itself until the average.
    public var localVectorUse: LocalVectorUse { compressor is SketchTopK || compressor is Identity ? .unknown : .consumes }

    /// `none` sends v itself (`ViewMessageExchange`: no copy); the others
    /// their exchange (`makeMessageExchange`).
    public func initialState(dimension: Int, workers: Int) -> any MessageExchange {
        if let identity = compressor as? Identity { return ViewMessageExchange(identity) }
        return makeMessageExchange(compressor, collective: collective, workers: workers, memory: false)
    }

    public func update(_ g: inout StepState, state: inout any MessageExchange, context: inout StepContext) throws -> StepOutcome {
        // ‖v‖² before the noise (for the log), then v ← v + σξ.
        if context.gradientSumSquares == nil { context.gradientSumSquares = Kernels.sumSquares(UnsafeBufferPointer(g.local)) }
        if noise > 0 { RandomFill.gaussian(context.sharedKey(.perturbation), sigma: noise, into: g.local, accumulate: true) }
        _ = try state.compress(UnsafeBufferPointer(g.local), key: context.workerKey(.quantization), communicator: context.communicator)
        g.message = state
        return .proceed
    }

    /// The exchange's message and buffers are rewritten every step (the
    /// two-stage exchange keeps no owner memory here): nothing carries over.
    public func saveState(_ state: any MessageExchange, to w: inout CheckpointWriter) {}
    public func restoreState(_ state: inout any MessageExchange, from r: inout CheckpointReader) throws {}
}
