import CSGDCore
import Compression

/// Mini-batch SGD, distributed: every worker sends C(∇F_i(x_t)) with no
/// memory of what compression dropped, and x_{t+1} = x_t − η·(1/W) Σ_i C(∇F_i).
/// With the default compressor `none` it is plain data-parallel SGD.
///
/// Spec: `sgd[:batch=B][,eta=η]`.
public struct SGD: PlainMethod {
    public static let name = "sgd"
    public static let builder: PlainBuilder = sgd(compressor:eta:batch:)
    public var common: CommonOptions

    public init(common: CommonOptions) { self.common = common }
}

/// SGD's chain: gradient → compress → average → step.
/// - Parameters:
///   - compressor: C, of the objective's dimension (the identity sends the gradient whole).
///   - eta: the step size η.
///   - batch: the mini-batch a worker (0: the full gradient).
public func sgd(compressor: any Compressor, eta: Double, batch: Int = 1) -> MethodChain {
    MethodChain(transforms: [StochasticGradient(batch: batch), CompressMessage(compressor), AverageMessages(), SGDStep()], eta: eta)
}
