import Optimization

/// A double well along x₁ inside a quadratic valley:
///
///     f(x) = ¼·(x₁² − 1)² + ½·(x₂² + … + x_d²)
///
/// The origin is a strict saddle: f = ¼, ∇f = 0, ∇²f = diag(−1, 1, …, 1).
/// The minimisers ±e₁ have f = 0. Gradient descent started at the origin
/// never moves; a method that escapes saddle points must leave it.
public final class DoubleWell: Objective {
    public let dimension: Int

    /// The loss at the saddle x = 0.
    public static let saddleValue = 0.25

    public init(dimension: Int) {
        precondition(dimension >= 1)
        self.dimension = dimension
    }

    public var name: String { "double-well:d=\(dimension)" }

    /// L and ρ on |x₁| ≤ 2, which holds every point with f ≤ ¼.
    public var constants: ObjectiveConstants {
        ObjectiveConstants(L: 11, rho: 12)
    }

    public func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        let x1 = Double(x[0])
        var valley = 0.0
        for i in 1..<dimension { valley += Double(x[i]) * Double(x[i]) }
        return 0.25 * (x1 * x1 - 1) * (x1 * x1 - 1) + 0.5 * valley
    }

    public func fullGradient(
        at x: UnsafeBufferPointer<Float>,
        into g: UnsafeMutableBufferPointer<Float>
    ) -> Double {
        let x1 = Double(x[0])
        g[0] = Float(x1 * x1 * x1 - x1)
        for i in 1..<dimension { g[i] = x[i] }
        return loss(at: x)
    }

    /// Exact gradients for every worker and mini-batch: the method's
    /// perturbation is the only randomness, so it alone moves x off the
    /// saddle.
    public func gradient(
        at x: UnsafeBufferPointer<Float>, batch: BatchKey,
        into g: UnsafeMutableBufferPointer<Float>
    ) -> Double {
        fullGradient(at: x, into: g)
    }

    public func hessianVectorProduct(
        at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>,
        into out: UnsafeMutableBufferPointer<Float>
    ) {
        let x1 = Double(x[0])
        out[0] = Float((3 * x1 * x1 - 1) * Double(v[0]))
        for i in 1..<dimension { out[i] = v[i] }
    }

    /// Every run starts on the saddle.
    public func initialPoint(
        seed: UInt64, into x: UnsafeMutableBufferPointer<Float>
    ) {
        x.update(repeating: 0)
    }
}
