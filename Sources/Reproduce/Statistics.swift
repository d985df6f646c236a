import Foundation
import Plotting

/// The few statistics the experiments report: means, empirical quantiles,
/// and least-squares lines with confidence intervals.
public enum Statistics {
    /// The arithmetic mean (nan for no values).
    public static func mean(_ xs: [Double]) -> Double {
        xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count)
    }

    /// The empirical q-quantile with linear interpolation between order
    /// statistics (type 7 of Hyndman & Fan 1996, NumPy's default); nan for
    /// no values.
    public static func quantile(_ xs: [Double], _ q: Double) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        let h = Double(s.count - 1) * min(max(q, 0), 1)
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, s.count - 1)
        return s[lo] + (h - Double(lo)) * (s[hi] - s[lo])
    }

    /// The median.
    public static func median(_ xs: [Double]) -> Double { quantile(xs, 0.5) }

    /// A least-squares line y ≈ intercept + slope·x with the slope's
    /// standard error and a two-sided 95% confidence interval (Student t with
    /// n − 2 degrees of freedom).
    public struct LineFit: Codable, Equatable, Sendable {
        public var slope: Double
        public var intercept: Double
        public var slopeStandardError: Double
        /// Half-width of the 95% interval of the slope.
        public var slopeHalfWidth95: Double
        public var points: Int
        /// The coefficient of determination R².
        public var rSquared: Double

        public var slopeLow95: Double { slope - slopeHalfWidth95 }
        public var slopeHigh95: Double { slope + slopeHalfWidth95 }
    }

    /// Fits y ≈ a + b·x by least squares (Plotting's `LinearFit`, so a
    /// plotted line is the fitted one); nil with fewer than three finite
    /// points or when every x is the same.
    public static func fitLine(x: [Double], y: [Double]) -> LineFit? {
        fit(x: x, y: y, scale: .linear)
    }

    /// Fits log10 y ≈ a + b·log10 x over the points where both are positive:
    /// b is the exponent of a power law y ∝ x^b.
    public static func fitPowerLaw(x: [Double], y: [Double]) -> LineFit? {
        fit(x: x, y: y, scale: .log)
    }

    /// The least-squares line of v = scale(y) on u = scale(x), with its 95%
    /// interval and R², over the points the scale can show.
    static func fit(x: [Double], y: [Double], scale: Scale) -> LineFit? {
        let pairs = zip(x, y).compactMap { a, b in scale.transform(a).flatMap { u in scale.transform(b).map { (u, $0) } } }
        guard pairs.count >= 3, let f = LinearFit.leastSquares(x: x, y: y, xScale: scale, yScale: scale) else { return nil }
        let meanV = pairs.map(\.1).reduce(0, +) / Double(pairs.count)
        let total = pairs.map { ($0.1 - meanV) * ($0.1 - meanV) }.reduce(0, +)
        let residual = pairs.map { $0.1 - f.intercept - f.slope * $0.0 }.map { $0 * $0 }.reduce(0, +)
        return LineFit(slope: f.slope, intercept: f.intercept, slopeStandardError: f.slopeError,
                       slopeHalfWidth95: studentT975(degrees: pairs.count - 2) * f.slopeError, points: pairs.count,
                       rSquared: total > 0 ? 1 - residual / total : 1)
    }

    /// The 97.5% quantile of Student's t distribution with `degrees` degrees
    /// of freedom (exact table to 30, then the normal approximation with a
    /// first-order correction).
    public static func studentT975(degrees: Int) -> Double {
        let table: [Double] = [
            .nan, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
            2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
            2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
        ]
        guard degrees >= 1 else { return .nan }
        if degrees < table.count { return table[degrees] }
        let z = 1.959964
        return z + (z * z * z + z) / (4 * Double(degrees))
    }
}
