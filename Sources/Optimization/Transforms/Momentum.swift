import Checkpointing
import CSGDCore

/// Momentum on the averaged update, after communication: m ← β·m + u, then
/// the step takes m (heavy ball, Polyak 1964) or u + β·m (Nesterov's
/// accelerated gradient in Sutskever et al.'s form, ICML 2013; what
/// PyTorch's `SGD(nesterov=True)` does). m starts at 0, so the first step
/// is u itself.
///
/// Where it sits: after averaging, where u (the average of the compressed,
/// error-compensated messages) is the same on every rank, so m is too and
/// costs no communication; error feedback stays on the workers, before
/// compression. This is the placement of PowerSGD (Vogels, Karimireddy &
/// Jaggi, NeurIPS 2019, Algorithm 2: error feedback on the worker, momentum
/// on the aggregated update) and of Karimireddy et al.'s EF-SGD with a
/// server-side optimizer (ICML 2019); momentum applied on each worker before
/// compression (Zheng, Huang & Kwok, NeurIPS 2019) is not what this does.
/// A sparse update (TopK, RandomK) makes m dense.
public struct Momentum: GradientTransform {
    public let beta: Float
    public let nesterov: Bool

    public init(beta: Float, nesterov: Bool = false) {
        self.beta = beta
        self.nesterov = nesterov
    }

    public struct State {
        public let velocity: FloatBuffer
        /// Nesterov's u + β·m (unused for heavy ball).
        let output: FloatBuffer
    }

    public func initialState(dimension: Int, workers: Int) -> State {
        State(velocity: FloatBuffer(count: dimension), output: FloatBuffer(count: nesterov ? dimension : 0))
    }

    public func saveState(_ state: State, to w: inout CheckpointWriter) {
        w.appendFloats(state.velocity.readOnly)
    }

    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {
        try r.readFloats(into: state.velocity.buffer, "the momentum buffer")
    }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        let m = state.velocity.buffer
        Kernels.scale(beta, m)
        switch g.update {
        case .none:
            preconditionFailure("Momentum needs an averaged update before it")
        case let .dense(u):
            Kernels.axpy(1, UnsafeBufferPointer(u), m)
            if nesterov {
                let out = state.output.buffer
                out.baseAddress!.update(from: u.baseAddress!, count: u.count)
                Kernels.axpy(beta, UnsafeBufferPointer(m), out)
                g.update = .dense(out)
            } else {
                g.update = .dense(m)
            }
        case let .sparse(s):
            StepKernels.sparseStep(m, minusEta: 1, s)
            if nesterov {
                let out = state.output.buffer
                out.baseAddress!.update(from: m.baseAddress!, count: m.count)
                Kernels.scale(beta, out)
                StepKernels.sparseStep(out, minusEta: 1, s)
                g.update = .dense(out)
            } else {
                g.update = .dense(m)
            }
        }
        return .proceed
    }
}
