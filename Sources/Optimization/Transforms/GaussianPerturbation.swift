import CSGDCore

/// Adds ξ_t ~ N(0, σ²I) to this rank's vector, with ξ_t from the shared
/// stream of (seed, t, purpose perturbation): the same on every rank
/// (SPEC §3). The addition is scheduled (`GradientBuffer.pendingNoise`) and
/// done by the next transform that reads every coordinate, in its own pass.
public struct GaussianPerturbation: GradientTransform {
    public let sigma: Float
    public init(sigma: Float) { self.sigma = sigma }

    public func initialState(dimension: Int, workers: Int) {}

    public func update(_ g: inout GradientBuffer, state: inout Void, context: inout StepContext) throws -> StepOutcome {
        guard sigma > 0 else { return .proceed }
        g.materializeNoise()   // a second perturbation in one chain: add the first now
        g.pendingNoise = PendingNoise(sigma: sigma, key: context.sharedKey(.perturbation))
        return .proceed
    }
}
