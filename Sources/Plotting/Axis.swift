/// A numeric axis: its label, scale and range (automatic unless set).
public struct Axis: Hashable, Sendable {
    /// The text under (x) or beside (y) the axis.
    public var label: String
    /// Linear or log₁₀.
    public var scale: Scale
    /// A fixed lower end in data units; nil (or ≤ 0 on a log axis): from the data.
    public var min: Double?
    /// A fixed upper end in data units; nil (or ≤ 0 on a log axis): from the data.
    public var max: Double?
    /// Room left beyond the data on each automatic end, as a fraction of the span.
    public var padding: Double

    /// An axis with an automatic range.
    public init(label: String = "", scale: Scale = .linear, min: Double? = nil, max: Double? = nil, padding: Double = 0.04) {
        self.label = label
        self.scale = scale
        self.min = min
        self.max = max
        self.padding = padding
    }

    /// Both ends at once; nil makes both automatic again.
    public var range: ClosedRange<Double>? {
        get {
            guard let min, let max else { return nil }
            return Swift.min(min, max)...Swift.max(min, max)
        }
        set {
            min = newValue?.lowerBound
            max = newValue?.upperBound
        }
    }

    /// Internal: the span in axis units for data `values`: fixed ends where set
    /// and showable, the padded data span elsewhere, never empty or reversed.
    func span(covering values: [Double]) -> ClosedRange<Double> {
        let automatic = scale.span(covering: values, padding: padding)
        var lo = min.flatMap(scale.transform) ?? automatic.lowerBound
        var hi = max.flatMap(scale.transform) ?? automatic.upperBound
        if lo > hi { swap(&lo, &hi) }
        if hi - lo <= 0 {
            let widened = scale.span(covering: [scale.inverse(lo)], padding: 0)
            if min.flatMap(scale.transform) != nil, max.flatMap(scale.transform) == nil {
                return lo...Swift.max(widened.upperBound, lo + 1e-9)
            }
            if max.flatMap(scale.transform) != nil, min.flatMap(scale.transform) == nil {
                return Swift.min(widened.lowerBound, hi - 1e-9)...hi
            }
            return widened
        }
        return lo...hi
    }
}
