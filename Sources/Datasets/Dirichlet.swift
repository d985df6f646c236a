import Foundation
import CSGDCore

/// Dirichlet(α, …, α) proportions from a keyed stream, through Gamma(α)
/// variates drawn by Marsaglia and Tsang's method (ACM TOMS 26(3), 2000).
///
/// For α ≥ 1: with d = α − 1/3 and c = 1/√(9d), draw z ~ N(0, 1) and
/// u ~ U(0, 1) until v = (1 + cz)³ > 0 and log u < z²/2 + d − dv + d·log v
/// (after the cheap squeeze u < 1 − 0.0331 z⁴), and return d·v. For α < 1,
/// Gamma(α) = Gamma(α + 1)·U^(1/α). Variates are kept as logarithms, so a
/// small α (whose draws underflow a Float, and often a Double) still gives
/// proportions that sum to 1; they are normalised as a softmax of the logs.
enum Dirichlet {
    /// log of one Gamma(α, 1) variate. Precondition: α > 0 and finite.
    static func logGamma(shape alpha: Double, stream: inout RandomStream) -> Double {
        precondition(alpha > 0 && alpha.isFinite)
        if alpha < 1 {
            let u = 1 - stream.nextUnitDouble()              // (0, 1]
            return logGamma(shape: alpha + 1, stream: &stream) + log(u) / alpha
        }
        let d = alpha - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            let z = stream.nextGaussian()
            let t = 1 + c * z
            guard t > 0 else { continue }
            let v = t * t * t
            let u = 1 - stream.nextUnitDouble()              // (0, 1]
            let z2 = z * z
            if u < 1 - 0.0331 * z2 * z2 || log(u) < 0.5 * z2 + d * (1 - v + log(v)) {
                return log(d) + log(v)
            }
        }
    }

    /// k proportions p ~ Dir(α, …, α): non-negative, summing to 1.
    static func proportions(count k: Int, alpha: Double, stream: inout RandomStream) -> [Double] {
        let logs = (0..<k).map { _ in logGamma(shape: alpha, stream: &stream) }
        let top = logs.max() ?? 0
        let w = logs.map { exp($0 - top) }
        let sum = w.reduce(0, +)
        return w.map { $0 / sum }
    }
}
