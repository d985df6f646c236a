import CSGDCore

/// x_{t+1} ← x_t − η·u_t with u_t the averaged update and η the buffer's
/// step size; a non-finite update stops the run (`NonFiniteIterate`) before
/// x is touched. Reports ‖u_t‖ for the log's running mean. Sparse updates
/// touch only their coordinates; the rounding is `axpy`'s either way. A
/// shared iterate is moved once: each rank its part of a dense update, rank
/// 0 a sparse one (`writeIterate`).
public struct SGDStep: GradientTransform {
    public init() {}

    public func initialState(dimension: Int, workers: Int) {}

    public func update(_ g: inout StepState, state: inout Void, context: inout StepContext) throws -> StepOutcome {
        if case let .dense(u) = g.update, context.sharesIterate, let shared = context.sharedUpdate, shared.holds(u) {
            return try sharedStep(u, shared, stepSize: g.stepSize, context: &context)
        }
        let n2 = g.update.sumOfSquares()
        guard n2.isFinite else { throw NonFiniteIterate(step: context.step) }
        context.updateNorm = n2.squareRoot()
        let a = Float(-g.stepSize), x = context.parameters
        switch g.update {
        case .none:
            preconditionFailure("SGDStep needs an averaged update before it")
        case let .dense(u):
            try context.writeIterate { part in
                Kernels.axpy(a, UnsafeBufferPointer(rebasing: u[part]), UnsafeMutableBufferPointer(rebasing: x[part]))
            }
        case let .sparse(s):
            try context.writeIterateOnce { StepKernels.sparseStep(x, minusEta: a, s) }
        }
        return .proceed
    }

    /// The step from the update the in-process ranks share, right after
    /// the all-reduce that made it (`AverageMessages.appliedOnly`): every
    /// rank reads every block's term of ‖u‖² (each wrote its own in the
    /// all-reduce), checks it and moves its part of x.
    private func sharedStep(_ u: UnsafeMutableBufferPointer<Float>, _ shared: SharedUpdate, stepSize: Double,
                            context: inout StepContext) throws -> StepOutcome {
        let n2 = shared.sumSquares()
        guard n2.isFinite else { throw NonFiniteIterate(step: context.step) }
        context.updateNorm = n2.squareRoot()
        let a = Float(-stepSize), x = context.parameters
        try context.writeIterateAfterCollective { part in
            Kernels.axpy(a, UnsafeBufferPointer(rebasing: u[part]), UnsafeMutableBufferPointer(rebasing: x[part]))
        }
        return .proceed
    }
}
