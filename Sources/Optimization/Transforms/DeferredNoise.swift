import Checkpointing
import CKernels
import Compression
import CSGDCore

/// Algorithm 1's noise for RandomK, drawn when a coordinate is sent
/// (`alg1:…,noise=deferred`): K normals a step instead of d.
///
/// RandomK picks the coordinates it sends without looking at the values,
/// and a coordinate's noise reaches the iterate only when it is sent; until
/// then it waits in the error memory. The noise coordinate j gathered over
/// the steps s_j … t since it was last sent is a sum of t + 1 − s_j
/// independent N(0, σ²), that is one N(0, (t + 1 − s_j)σ²): this transform
/// draws that one normal for each coordinate the step sends, after the
/// average (every rank the same, from the shared stream of step t at
/// element j: with t + 1 − s_j = 1 exactly the eager ξ_t,j), adds it to the
/// update, and records s_j = t + 1. The trajectory has the law of eager
/// noise (Algorithm 1's ξ_t added in `ErrorFeedback`) with other bits; the
/// error memory and its logged norm leave out the noise not sent yet, so a
/// reset, which reads the whole memory, cannot run with it (`Alg1` refuses
/// reset=on).
/// The state, s_j for every coordinate, is checkpointed.
public struct DeferredNoise: GradientTransform {
    public let sigma: Float
    public init(sigma: Float) { self.sigma = sigma }

    /// s_j per coordinate, and room for the step's normals.
    public final class State {
        let since: UnsafeMutableBufferPointer<UInt32>
        var normals: FloatBuffer

        init(dimension: Int) {
            since = .allocate(capacity: dimension)
            since.initialize(repeating: 0)
            normals = FloatBuffer(count: 1)
        }

        deinit { since.deallocate() }
    }

    public func initialState(dimension: Int, workers: Int) -> State { State(dimension: dimension) }

    public func saveState(_ state: State, to w: inout CheckpointWriter) {
        w.appendUInt32s(UnsafeBufferPointer(state.since))
    }

    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {
        try r.readUInt32s(into: state.since, "the steps of the deferred noise")
    }

    public func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome {
        guard case .sparse(let u) = g.update else {
            preconditionFailure("DeferredNoise needs RandomK's sparse average before it")
        }
        let n = u.count
        if state.normals.count < n { state.normals = FloatBuffer(count: n) }
        let z = state.normals.buffer.baseAddress!
        GaussianSIMD.at(context.sharedKey(.perturbation), elements: UnsafeBufferPointer(start: u.indices, count: n), into: z)
        let t = UInt32(truncatingIfNeeded: context.step)
        let since = state.since
        for j in 0..<n {
            // s_j of coordinates about 100 apart: ask for them ahead
            if j + 16 < n { csgd_prefetch(since.baseAddress! + Int(u.indices[j + 16])) }
            let i = Int(u.indices[j])
            let steps = Float(t &+ 1 &- since[i])
            u.values[j] = u.values[j] + sigma * (steps.squareRoot() * z[j])
            since[i] = t &+ 1
        }
        return .proceed
    }
}
