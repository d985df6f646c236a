import CSGDCore

/// The head of every method: this rank's gradient at x_t into `local`, a
/// mini-batch of `batch` samples from its own shard (keyed by seed, step,
/// rank and draw), or the full gradient when `batch` is 0.
public struct StochasticGradient: GradientTransform {
    /// It fills `local` (no collective).
    public var localVectorUse: LocalVectorUse { .inPlace }
    public let batch: Int
    public init(batch: Int) { self.batch = batch }

    public func initialState(dimension: Int, workers: Int) {}

    public func update(_ g: inout StepState, state: inout Void, context: inout StepContext) throws -> StepOutcome {
        if batch == 0 {
            _ = context.objective.fullGradient(at: context.readOnlyParameters, into: g.local)
        } else {
            _ = context.objective.gradient(at: context.readOnlyParameters, batch: context.batchKey(size: batch), into: g.local)
        }
        return .proceed
    }
}
