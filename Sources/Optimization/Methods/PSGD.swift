import CSGDCore
import Compression

/// Perturbed SGD (Jin, Netrapalli, Ge, Kakade & Jordan, *On Nonconvex
/// Optimization for Machine Learning: Gradients, Stochasticity, and Saddle
/// Points*, J. ACM 2021): x_{t+1} = x_t − η·((1/W) Σ_i ∇F_i(x_t) + ξ_t) with
/// fresh noise ξ_t every step (the same on every worker), uncompressed.
///
/// Spec: `psgd:r=R|sigma=S[,batch=B][,eta=η]`; the noise is required (it
/// may come from the run instead: `csgd train --noise σ`).
public struct PSGD: PerturbedMethod {
    public static let name = "psgd"
    public var common: CommonOptions
    public var noise: NoiseSpec

    public init(common: CommonOptions, noise: NoiseSpec) {
        self.common = common
        self.noise = noise
    }

    /// The identity: PSGD sends its gradients whole.
    public var prescribedCompressor: CompressorSpec? { CompressorSpec.none }

    public static func parse(_ p: inout SpecParser) throws -> PSGD {
        try p.read(options: ["r", "sigma", "batch", "eta"])
        let m = PSGD(common: try p.commonOptions(), noise: try p.noise())
        if m.noise == .none { throw p.error("needs its noise: r=… (E‖ξ‖² = r²) or sigma=…") }
        return m
    }

    public func chain(compressor: any Compressor, objective: any Objective, context: MethodContext) throws -> MethodChain {
        let eta = try stepSize(objective: objective, context: context)
        try context.collective.check(compressor, memory: false)
        return psgd(noise: Float(noise.perCoordinateSigma(dimension: objective.dimension)), compressor: compressor, eta: eta, batch: batch,
                    collective: context.collective)
    }
}

/// Perturbed SGD's chain: gradient → add ξ_t ~ N(0, σ²I) and send →
/// average → step.
/// - Parameters:
///   - noise: σ a coordinate (0: none), shared by the ranks.
///   - compressor: what messages are sent as (the method prescribes the identity).
///   - eta: the step size η.
///   - batch: the mini-batch a worker (0: the full gradient).
///   - collective: how the messages travel (`Collective`; the two stages,
///     without owner memory, only for unbiased compressors).
public func psgd(noise: Float, compressor: any Compressor, eta: Double, batch: Int = 1, collective: Collective = .allgather) -> MethodChain {
    MethodChain(transforms: [StochasticGradient(batch: batch), CompressMessage(compressor, noise: noise, collective: collective), AverageMessages(), SGDStep()],
                eta: eta)
}
