import Foundation

/// A straight line fitted in axis units: v = intercept + slope · u, where u and v
/// are x and y on their scales (log₁₀ on a log axis).
///
/// On log–log axes this is the power law y = 10^intercept · x^slope, and it is
/// drawn straight; on the axes it was fitted on, it is always a straight line.
public struct LinearFit: Hashable, Sendable {
    /// The change in v per unit of u (the exponent, on log–log axes).
    public var slope: Double
    /// v at u = 0.
    public var intercept: Double
    /// The standard error of the slope (0 when unknown).
    public var slopeError: Double
    /// The scale u is taken on.
    public var xScale: Scale
    /// The scale v is taken on.
    public var yScale: Scale
    /// The x values (data units) the line is drawn over.
    public var xRange: ClosedRange<Double>

    /// A line given by its coefficients.
    public init(slope: Double, intercept: Double, slopeError: Double = 0, xScale: Scale = .linear, yScale: Scale = .linear, xRange: ClosedRange<Double>) {
        self.slope = slope
        self.intercept = intercept
        self.slopeError = slopeError
        self.xScale = xScale
        self.yScale = yScale
        self.xRange = xRange
    }

    /// The least-squares line through the points both scales can show,
    /// drawn over their x range; nil with fewer than two distinct x.
    public static func leastSquares(x: [Double], y: [Double], xScale: Scale = .linear, yScale: Scale = .linear) -> LinearFit? {
        let pairs = zip(x, y).compactMap { a, b -> (x: Double, u: Double, v: Double)? in
            guard let u = xScale.transform(a), let v = yScale.transform(b) else { return nil }
            return (a, u, v)
        }
        let n = Double(pairs.count)
        guard pairs.count >= 2 else { return nil }
        let meanU = pairs.map(\.u).reduce(0, +) / n
        let meanV = pairs.map(\.v).reduce(0, +) / n
        let suu = pairs.map { ($0.u - meanU) * ($0.u - meanU) }.reduce(0, +)
        let suv = pairs.map { ($0.u - meanU) * ($0.v - meanV) }.reduce(0, +)
        guard suu > 0 else { return nil }
        let slope = suv / suu
        let intercept = meanV - slope * meanU
        let residuals = pairs.map { $0.v - intercept - slope * $0.u }.map { $0 * $0 }.reduce(0, +)
        let error = pairs.count > 2 ? sqrt(residuals / (n - 2) / suu) : 0
        let xs = pairs.map(\.x)
        return LinearFit(slope: slope, intercept: intercept, slopeError: error, xScale: xScale, yScale: yScale, xRange: xs.min()!...xs.max()!)
    }

    /// The fitted y (data units) at `x`; nil where x is not on `xScale`.
    public func value(at x: Double) -> Double? {
        xScale.transform(x).map { yScale.inverse(intercept + slope * $0) }
    }

    /// "slope −1.98 ± 0.05": the slope to its error's first significant digit.
    public var slopeSummary: String {
        "slope " + NumberFormat.withUncertainty(slope, error: slopeError)
    }
}

/// A fitted line as a chart shows it: the fit, its legend text and its style.
public struct FittedLine: Sendable {
    /// The line.
    public var fit: LinearFit
    /// The legend text (by default the fit's `slopeSummary`).
    public var label: String
    /// Overrides of the default style: dark grey, dashed, 1.5 px.
    public var style: SeriesStyle?

    /// A fitted line with its legend text.
    public init(_ fit: LinearFit, label: String? = nil, style: SeriesStyle? = nil) {
        self.fit = fit
        self.label = label ?? fit.slopeSummary
        self.style = style
    }

    /// Internal: the style with defaults filled in.
    var resolvedStyle: ResolvedStyle {
        let style = (self.style ?? .automatic).over(SeriesStyle(color: Color(hex: "#333333")!, dash: .dashed, lineWidth: 1.5))
        return ResolvedStyle(color: style.color!, dash: style.dash!, marker: nil, lineWidth: style.lineWidth!, connects: true)
    }

    /// Internal: the line in `frame`: straight between its ends when the
    /// frame has the fit's scales, otherwise sampled along x.
    func pieces(in frame: PlotFrame) -> [[Point]] {
        let map = frame.xMap
        guard let u0 = map.scale.transform(fit.xRange.lowerBound), let u1 = map.scale.transform(fit.xRange.upperBound) else { return [] }
        let straight = map.scale == fit.xScale && frame.y.scale == fit.yScale
        let count = straight ? 2 : 64
        let points = (0..<count).map { i -> Point? in
            let x = map.scale.inverse(u0 + (u1 - u0) * Double(i) / Double(count - 1))
            return fit.value(at: x).flatMap { frame.pixel(x, $0) }
        }
        return SeriesGeometry.runs(points).flatMap { frame.plot.clip(polyline: $0) }
    }
}
