import Checkpointing
import CSGDCore

/// L2 weight decay on the averaged update: u ← u + λ·x_t (the gradient of
/// (λ/2)‖x‖², added as PyTorch's `SGD(weight_decay=λ)` adds it, before
/// momentum). x_t is the same on every rank, so the decay is neither
/// compressed nor communicated. A sparse update becomes dense.
public struct WeightDecay: GradientTransform {
    public let lambda: Float

    public init(lambda: Float) { self.lambda = lambda }

    public struct State {
        let output: FloatBuffer
    }

    public func initialState(dimension: Int, workers: Int) -> State { State(output: FloatBuffer(count: dimension)) }

    public func saveState(_ state: State, to w: inout CheckpointWriter) {}
    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {}

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        let out = state.output.buffer
        out.baseAddress!.update(from: context.parameters.baseAddress!, count: out.count)
        Kernels.scale(lambda, out)
        switch g.update {
        case .none:
            preconditionFailure("WeightDecay needs an averaged update before it")
        case let .dense(u):
            Kernels.axpy(1, UnsafeBufferPointer(u), out)
        case let .sparse(s):
            StepKernels.sparseStep(out, minusEta: 1, s)
        }
        g.update = .dense(out)
        return .proceed
    }
}
