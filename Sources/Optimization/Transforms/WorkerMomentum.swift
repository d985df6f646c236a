import Checkpointing
import CSGDCore

/// Momentum on each worker, before error feedback and compression:
/// v_i ← β·v_i + ∇F_i(x_t), and v_i goes on as the worker's gradient, so
/// what error feedback compensates and compresses is the momentum, not the
/// raw gradient. This is the placement of Zheng, Huang & Kwok (NeurIPS 2019,
/// Algorithm 2: m_i ← μm_i + g_i, then p_i = ηm_i + e_i is compressed) and
/// Lin et al.'s momentum correction (Deep Gradient Compression, ICLR 2018,
/// without its momentum-factor masking): with aggressive sparsification,
/// momentum applied after averaging multiplies the delayed, error-fed
/// coordinates by up to 1/(1 − β) and can destabilise training, while
/// momentum before compression lets error feedback account for it.
///
/// v is this rank's own (a checkpoint carries it) and costs d floats a
/// rank; with an identity compressor and exact gradients the iterates equal
/// momentum after averaging (`Momentum`) up to rounding, as the average of
/// the v_i is then the averaged momentum.
public struct WorkerMomentum: GradientTransform {
    public let beta: Float

    public init(beta: Float) { self.beta = beta }

    public struct State {
        public let velocity: FloatBuffer
    }

    public func initialState(dimension: Int, workers: Int) -> State {
        State(velocity: FloatBuffer(count: dimension))
    }

    public func saveState(_ state: State, to w: inout CheckpointWriter) {
        w.appendFloats(state.velocity.readOnly)
    }

    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {
        try r.readFloats(into: state.velocity.buffer, "the worker's momentum buffer")
    }

    /// v ← βv + g and g ← v, in place (no collective).
    public var localVectorUse: LocalVectorUse { .inPlace }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        // One pass: v ← βv + g and g ← v (the gradient's storage carries v on,
        // so a transform that overwrites it cannot touch the state).
        let v = state.velocity.buffer.baseAddress!, local = g.local.baseAddress!, beta = self.beta
        for i in 0..<g.local.count {
            let m = beta * v[i] + local[i]
            v[i] = m
            local[i] = m
        }
        return .proceed
    }
}
