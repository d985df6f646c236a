/// Internal: the map from data values to pixels along one axis.
struct AxisMap {
    var scale: Scale
    /// The span shown, in axis units.
    var span: ClosedRange<Double>
    /// The pixel of `span.lowerBound` and of `span.upperBound`.
    var from: Double
    var to: Double

    /// The pixel at a position in axis units (not limited to the span).
    func position(_ u: Double) -> Double {
        let width = span.upperBound - span.lowerBound
        return from + (u - span.lowerBound) / width * (to - from)
    }

    /// The pixel of a data value; nil when the scale cannot show it.
    func pixel(_ value: Double) -> Double? {
        scale.transform(value).map(position)
    }

    /// Whether a data value lies on the axis (a hair of slack at the ends).
    func shows(_ value: Double) -> Bool {
        guard let u = scale.transform(value) else { return false }
        let slack = (span.upperBound - span.lowerBound) * 1e-9
        return u >= span.lowerBound - slack && u <= span.upperBound + slack
    }
}
