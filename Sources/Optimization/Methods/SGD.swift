import CSGDCore
import Compression

/// Mini-batch SGD, distributed: every worker sends C(∇F_i(x_t)) with no
/// memory of what compression dropped, and x_{t+1} = x_t − η·(1/W) Σ_i C(∇F_i).
/// With the default compressor `none` it is plain data-parallel SGD.
///
/// Spec: `sgd[:batch=B][,eta=η]`.
public struct SGD: PlainMethod {
    public static let name = "sgd"
    public static let builder: PlainBuilder = { sgd(compressor: $0, eta: $1, batch: $2) }
    public var common: CommonOptions

    public init(common: CommonOptions) { self.common = common }

    public func chain(compressor: any Compressor, objective: any Objective, context: MethodContext) throws -> MethodChain {
        try context.collective.check(compressor, memory: false)
        return sgd(compressor: compressor, eta: try stepSize(objective: objective, context: context), batch: batch,
                   collective: context.collective)
    }
}

/// SGD's chain: gradient → compress → average → step.
/// - Parameters:
///   - compressor: C, of the objective's dimension (the identity sends the gradient whole).
///   - eta: the step size η.
///   - batch: the mini-batch a worker (0: the full gradient).
///   - collective: how the messages travel (`Collective`; the two stages,
///     without owner memory, only for unbiased compressors).
public func sgd(compressor: any Compressor, eta: Double, batch: Int = 1, collective: Collective = .allgather) -> MethodChain {
    MethodChain(transforms: [StochasticGradient(batch: batch), CompressMessage(compressor, collective: collective), AverageMessages(), SGDStep()],
                eta: eta)
}
