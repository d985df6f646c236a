import CSGDCore
import Compression

/// Compressed SGD with error feedback: mem-SGD of Stich, Cordonnier & Jaggi
/// (*Sparsified SGD with Memory*, NeurIPS 2018, Algorithm 1) and EF-SGD of
/// Karimireddy, Rebjock, Stich & Jaggi (*Error Feedback Fixes SignSGD and
/// other Gradient Compression Schemes*, ICML 2019): every worker sends
/// g_t⁽ⁱ⁾ = C(e_t⁽ⁱ⁾ + ∇F_i(x_t)) and keeps e_{t+1}⁽ⁱ⁾ = e_t⁽ⁱ⁾ + ∇F_i(x_t) − g_t⁽ⁱ⁾;
/// x_{t+1} = x_t − η·(1/W) Σ_i g_t⁽ⁱ⁾. Algorithm 1 of the NeurIPS 2021 paper
/// (`Alg1`) without its noise and reset.
///
/// Spec: `ef-sgd[:batch=B][,eta=η]`.
public struct EFSGD: PlainMethod {
    public static let name = "ef-sgd"
    public static let builder: PlainBuilder = { efSGD(compressor: $0, eta: $1, batch: $2) }
    public var common: CommonOptions

    public init(common: CommonOptions) { self.common = common }

    public func chain(compressor: any Compressor, objective: any Objective, context: MethodContext) throws -> MethodChain {
        try context.collective.check(compressor)
        return efSGD(compressor: compressor, eta: try stepSize(objective: objective, context: context), batch: batch, collective: context.collective)
    }
}

/// EF-SGD's chain: gradient → error feedback (w ← v + e, m ← C(w),
/// e ← w − C(w)) → average → step.
/// - Parameters:
///   - compressor: C, of the objective's dimension.
///   - eta: the step size η.
///   - batch: the mini-batch a worker (0: the full gradient).
///   - collective: how non-linear messages travel (`Collective`).
public func efSGD(compressor: any Compressor, eta: Double, batch: Int = 1, collective: Collective = .allgather) -> MethodChain {
    MethodChain(transforms: [StochasticGradient(batch: batch), ErrorFeedback(compressor, collective: collective), AverageMessages(), SGDStep()],
                eta: eta)
}
