import CSGDCore

/// The optimizer features that compose with every method whose step is a
/// plain SGD step (sgd, ef-sgd, alg1, psgd, qsgd-sgd, pgd, cnc): heavy-ball
/// or Nesterov momentum and weight decay on the averaged update, or
/// heavy-ball momentum on each worker before compression, and a step-size
/// schedule, as gradient transforms inserted into the method's chain
/// (`Momentum`, `WorkerMomentum`, `WeightDecay`, `StepSizeSchedule`). The
/// defaults add nothing, so a run without them is the method as published.
public struct OptimizerOptions: Equatable, Sendable {
    /// Where momentum sits.
    public enum MomentumPlacement: String, Equatable, Sendable, CaseIterable {
        /// After averaging, on the update every rank applies (`Momentum`).
        case update
        /// On each worker, before error feedback and compression (`WorkerMomentum`).
        case worker
    }

    /// β (0: none).
    public var momentum: Double = 0
    public var nesterov = false
    public var momentumAt: MomentumPlacement = .update
    /// λ (0: none).
    public var weightDecay: Double = 0
    public var schedule: Schedule?

    public init(momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0, schedule: Schedule? = nil,
                momentumAt: MomentumPlacement = .update) {
        self.momentum = momentum; self.nesterov = nesterov; self.weightDecay = weightDecay; self.schedule = schedule
        self.momentumAt = momentumAt
    }

    /// True when it changes nothing.
    public var isPlain: Bool { momentum == 0 && weightDecay == 0 && !nesterov && schedule == nil }

    /// Checks the values (`--momentum`, `--weight-decay`, `--nesterov`).
    public func validate() throws {
        guard momentum >= 0, momentum < 1 else { throw CSGDError("--momentum \(momentum) must be in [0, 1)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw CSGDError("--weight-decay \(weightDecay) must be non-negative") }
        if nesterov && momentum == 0 { throw CSGDError("--nesterov needs --momentum β > 0") }
        if nesterov && momentumAt == .worker { throw CSGDError("--nesterov is momentum on the averaged update: drop --momentum-at worker") }
    }

    /// What it adds, for a checkpoint's header and reports ("" when plain).
    public var description: String {
        var parts: [String] = []
        if momentum > 0 { parts.append("\(momentumAt == .worker ? "worker-momentum" : nesterov ? "nesterov" : "momentum")=\(momentum)") }
        if weightDecay > 0 { parts.append("weight-decay=\(weightDecay)") }
        if let schedule { parts.append("schedule=\(schedule)") }
        return parts.joined(separator: ",")
    }

    /// `transforms` with the features inserted: the schedule at the head,
    /// weight decay then momentum just before the SGD step (worker momentum
    /// right after the stochastic gradient instead). A chain that ends in
    /// another step (PAGD's accelerated step) is refused.
    public func apply(to transforms: [any GradientTransform], method: String) throws -> [any GradientTransform] {
        guard !isPlain else { return transforms }
        var out = transforms
        if momentum > 0 || weightDecay > 0 {
            guard let i = out.lastIndex(where: { $0 is SGDStep }) else {
                throw CSGDError("method '\(method)' takes its own step: --momentum and --weight-decay need a method ending in a plain SGD step")
            }
            var inserted: [any GradientTransform] = []
            if weightDecay > 0 { inserted.append(WeightDecay(lambda: Float(weightDecay))) }
            if momentum > 0 && momentumAt == .update { inserted.append(Momentum(beta: Float(momentum), nesterov: nesterov)) }
            out.insert(contentsOf: inserted, at: i)
            if momentum > 0 && momentumAt == .worker {
                guard let head = out.firstIndex(where: { $0 is StochasticGradient }) else {
                    throw CSGDError("method '\(method)' has no stochastic gradient for --momentum-at worker to accumulate")
                }
                out.insert(WorkerMomentum(beta: Float(momentum)), at: head + 1)
            }
        }
        if let schedule { out.insert(StepSizeSchedule(schedule), at: 0) }
        return out
    }
}
