import CSGDCore
import Compression

/// CNC, SGD with steps along correlated negative curvature (Daneshmand,
/// Kohler, Lucchi & Hofmann, *Escaping Saddles with Stochastic Gradients*,
/// ICML 2018): SGD (or, with no batch, gradient descent) in which, where PGD
/// would perturb (‖∇f‖ ≤ g_thres and none in the last t_thres steps), the
/// update is one single-sample stochastic gradient, the same sample on every
/// worker, taken with the larger step r (`CurvatureStep`).
///
/// Spec: `cnc[:batch=B][,eta=η][,r=…][,gthres=…][,tthres=…]`: r defaults to
/// 2η, g_thres to the run's ε (--eps) or 10⁻³, t_thres to 10; without
/// `batch=` the gradient is the full one.
public struct CNC: Method {
    public static let name = "cnc"
    public var common: CommonOptions
    /// The curvature step's size r.
    public var curvatureStep: Double?
    public var gThres: Double?
    public var tThres: Int?

    public init(common: CommonOptions) { self.common = common }

    /// The identity: CNC sends its gradients whole.
    public var prescribedCompressor: CompressorSpec? { CompressorSpec.none }

    public static func parse(_ p: inout SpecParser) throws -> CNC {
        try p.read(options: ["batch", "r", "gthres", "tthres", "eta"])
        var m = CNC(common: try p.commonOptions(batch: 0))
        m.curvatureStep = try p.number("r", .positive)
        m.gThres = try p.number("gthres", .positive)
        m.tThres = try p.integer("tthres", .positive)
        return m
    }

    public func chain(compressor: any Compressor, objective: any Objective, context: MethodContext) throws -> MethodChain {
        let eta = try stepSize(objective: objective, context: context)
        try context.collective.check(compressor, memory: false)
        return cnc(compressor: compressor, eta: eta, batch: batch, gThres: gThres ?? context.epsilon ?? 1e-3, tThres: tThres ?? 10,
                   curvatureStep: curvatureStep ?? 2 * eta, collective: context.collective)
    }
}

/// CNC's chain: gradient → send → average → curvature step where PGD
/// would perturb → step.
/// - Parameters:
///   - compressor: what messages are sent as (the method prescribes the identity).
///   - eta: the step size η of ordinary steps.
///   - batch: the mini-batch a worker (0, the default: the full gradient).
///   - gThres: the gradient norm at or below which a curvature step may be taken.
///   - tThres: the fewest steps between two curvature steps.
///   - curvatureStep: the curvature step's size r.
///   - collective: how the messages travel (`Collective`; the two stages,
///     without owner memory, only for unbiased compressors).
public func cnc(compressor: any Compressor, eta: Double, batch: Int = 0, gThres: Double, tThres: Int, curvatureStep: Double,
                collective: Collective = .allgather) -> MethodChain {
    MethodChain(transforms: [StochasticGradient(batch: batch), CompressMessage(compressor, collective: collective), AverageMessages(),
                             CurvatureStep(gThres: gThres, tThres: tThres, stepSize: curvatureStep), SGDStep()], eta: eta)
}
