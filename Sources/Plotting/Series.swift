/// A named sequence of (x, y) points, drawn as a line and/or markers, with an optional band.
///
/// Points that cannot be shown (NaN, ±∞, ≤ 0 on a log axis) leave a gap in
/// the line. Extra values in the longer of `x` and `y` are ignored.
public struct Series: Sendable {
    /// The legend text; also the key of the palette's fixed style.
    public var name: String
    /// The x values.
    public var x: [Double]
    /// The y values, one per x.
    public var y: [Double]
    /// A shaded range around the line, e.g. the 10 % and 90 % quantiles over runs.
    public var band: Band?
    /// Overrides of the palette's style for this series.
    public var style: SeriesStyle?
    /// Whether the series has a legend entry.
    public var inLegend: Bool

    /// A series from parallel arrays.
    public init(name: String, x: [Double], y: [Double], band: Band? = nil, style: SeriesStyle? = nil, inLegend: Bool = true) {
        self.name = name
        self.x = x
        self.y = y
        self.band = band
        self.style = style
        self.inLegend = inLegend
    }

    /// A series from (x, y) pairs.
    public init(name: String, points: [(x: Double, y: Double)], band: Band? = nil, style: SeriesStyle? = nil, inLegend: Bool = true) {
        self.init(name: name, x: points.map(\.x), y: points.map(\.y), band: band, style: style, inLegend: inLegend)
    }
}

/// A range (lower, upper) at each x of a series, filled translucently in the series' colour.
public struct Band: Sendable {
    /// The lower edge, one value per point of the series.
    public var lower: [Double]
    /// The upper edge, one value per point of the series.
    public var upper: [Double]
    /// The fill opacity, 0…1.
    public var opacity: Double

    /// A band between `lower` and `upper`.
    public init(lower: [Double], upper: [Double], opacity: Double = 0.2) {
        self.lower = lower
        self.upper = upper
        self.opacity = opacity
    }
}
