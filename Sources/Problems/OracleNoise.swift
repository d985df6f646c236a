import CSGDCore
import Optimization

/// The additive Gaussian oracle noise every problem accepts (`noise=σ`).
///
/// A stochastic gradient `gradient(at:batch:into:)` gets independent N(0, σ²)
/// added to each coordinate, once per call (not per sample, so the noise level
/// does not depend on the mini-batch size). The draws come from the stream of
/// `batch.randomKey(.minibatch)` starting at block 2³¹ (element offset 2³³),
/// far beyond the blocks the same key spends on sample indices (which start at
/// block 0), so noise and sample choice never share random words and the noise
/// is a pure function of the `BatchKey`. With σ per coordinate the oracle's
/// variance is E‖∇F − ∇f‖² = dσ² added to any sampling variance.
public enum OracleNoise {
    /// Element offset of the noise inside the mini-batch stream (block 2³¹).
    public static let streamOffset = 1 << 33

    /// Adds N(0, σ²) to every coordinate of `g` (nothing when σ = 0).
    public static func add(sigma: Double, batch: BatchKey, to g: UnsafeMutableBufferPointer<Float>) {
        guard sigma > 0 else { return }
        RandomFill.gaussian(batch.randomKey(.minibatch), sigma: Float(sigma), into: g, offset: streamOffset, accumulate: true)
    }
}

extension OracleNoise {
    /// The oracle of a problem whose gradient is exact (the strict saddle,
    /// matrix factorisation, tensor decomposition): ∇f(x) into `g` plus
    /// N(0, σ²) a coordinate. Returns f(x).
    static func exactGradient(of p: some Objective, at x: UnsafeBufferPointer<Float>, batch: BatchKey, sigma: Double,
                              into g: UnsafeMutableBufferPointer<Float>) -> Double {
        let f = p.fullGradient(at: x, into: g)
        add(sigma: sigma, batch: batch, to: g)
        return f
    }

    /// The constants of such a problem with `noise=σ`: its L and ρ, the
    /// noise's norm σ·√d as the oracle's σ, and ℓ = L (the noise does not
    /// depend on x).
    static func exactGradientConstants(L: Double, rho: Double, noise: Double, dimension d: Int) -> ObjectiveConstants {
        ObjectiveConstants(L: L, rho: rho, sigma: noise * Double(d).squareRoot(), ell: L)
    }
}
