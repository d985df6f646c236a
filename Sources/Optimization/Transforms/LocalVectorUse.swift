/// What a transform does with the step's dense vector `StepState.local`
/// (at the head of the chain, the rank's gradient). In-process ranks that
/// share one OS thread may keep their gradients in one buffer of that
/// thread, which is sound when the vector is dead whenever the rank can be
/// suspended, that is in a collective: `TransformChain.localDiesBeforeCommunicating`
/// checks it from these.
public enum LocalVectorUse: Sendable, Equatable {
    /// Writes or changes `local` in place, with no collective (the gradient
    /// oracle, momentum on the worker).
    case inPlace
    /// Reads `local`, with no collective, into storage of the rank's own
    /// (its message, its error memory), after which the pass never reads
    /// the vector it was given again.
    case consumes
    /// Anything else: the vector may still be read after a collective
    /// (e.g. a compressor whose C(v) depends on every rank's vector).
    case unknown
}
