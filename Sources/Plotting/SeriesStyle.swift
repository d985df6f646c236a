/// How a line is stroked.
public enum Dash: Hashable, Sendable, CaseIterable {
    /// A continuous line.
    case solid
    /// Long dashes.
    case dashed
    /// Dots.
    case dotted
    /// Alternating dashes and dots.
    case dashDot

    /// The `stroke-dasharray` for a line `width` px wide; nil for solid.
    func dashArray(width: Double) -> String? {
        let pattern: [Double]
        switch self {
        case .solid: return nil
        case .dashed: pattern = [4, 2.5]
        case .dotted: pattern = [0.01, 2.2]
        case .dashDot: pattern = [4, 2, 0.01, 2]
        }
        return pattern.map { NumberFormat.coordinate($0 * Swift.max(width, 1)) }.joined(separator: " ")
    }
}

/// A filled marker shape drawn at each point.
public enum Marker: Hashable, Sendable, CaseIterable {
    /// A disc.
    case circle
    /// An axis-aligned square.
    case square
    /// A triangle pointing up.
    case triangle
    /// A square standing on a corner.
    case diamond
    /// A plus sign.
    case plus

    /// The outline of the marker of radius `r` at `p` as SVG path data.
    func path(at p: Point, radius r: Double) -> String {
        let f = NumberFormat.coordinate
        func polygon(_ offsets: [(Double, Double)]) -> String {
            "M" + offsets.map { f(p.x + $0.0 * r) + " " + f(p.y + $0.1 * r) }.joined(separator: "L") + "Z"
        }
        switch self {
        case .circle:
            return "M\(f(p.x - r)) \(f(p.y))a\(f(r)) \(f(r)) 0 1 0 \(f(2 * r)) 0a\(f(r)) \(f(r)) 0 1 0 \(f(-2 * r)) 0Z"
        case .square:
            return polygon([(-0.9, -0.9), (0.9, -0.9), (0.9, 0.9), (-0.9, 0.9)])
        case .triangle:
            return polygon([(0, -1.25), (1.1, 0.75), (-1.1, 0.75)])
        case .diamond:
            return polygon([(0, -1.3), (1.1, 0), (0, 1.3), (-1.1, 0)])
        case .plus:
            let a = 1.25, b = 0.4
            return polygon([(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a), (-b, b), (-a, b), (-a, -b), (-b, -b)])
        }
    }
}

/// How a series looks; every field left nil is taken from the palette's style
/// for the series' name, then from the defaults (next free palette colour, solid,
/// no marker, 2 px, points connected).
public struct SeriesStyle: Hashable, Sendable {
    /// The line, marker and band colour.
    public var color: Color?
    /// The line's dash pattern.
    public var dash: Dash?
    /// A marker at the points (on long lines, at about 20 of them).
    public var marker: Marker?
    /// The line width in px.
    public var lineWidth: Double?
    /// Whether consecutive points are joined by a line (false: markers only).
    public var connects: Bool?

    /// A style; nil fields are filled in from the palette and the defaults.
    public init(color: Color? = nil, dash: Dash? = nil, marker: Marker? = nil, lineWidth: Double? = nil, connects: Bool? = nil) {
        self.color = color
        self.dash = dash
        self.marker = marker
        self.lineWidth = lineWidth
        self.connects = connects
    }

    /// Nothing fixed: everything from the palette and the defaults.
    public static let automatic = SeriesStyle()
    /// A dashed line.
    public static let dashed = SeriesStyle(dash: .dashed)
    /// Markers only, as in a scatter plot.
    public static let points = SeriesStyle(marker: .circle, connects: false)

    /// This style with its nil fields taken from `base`.
    func over(_ base: SeriesStyle?) -> SeriesStyle {
        guard let base else { return self }
        return SeriesStyle(
            color: color ?? base.color, dash: dash ?? base.dash, marker: marker ?? base.marker,
            lineWidth: lineWidth ?? base.lineWidth, connects: connects ?? base.connects
        )
    }
}

/// Internal: a style with every field decided.
struct ResolvedStyle: Equatable {
    var color: Color
    var dash: Dash
    var marker: Marker?
    var lineWidth: Double
    var connects: Bool

    /// Stroke attributes for a line in this style.
    var strokeAttributes: SVGWriter.Attributes {
        var attributes: SVGWriter.Attributes = [
            ("fill", "none"), ("stroke", color.hex), ("stroke-width", NumberFormat.coordinate(lineWidth)),
            ("stroke-linejoin", "round"), ("stroke-linecap", "round"),
        ]
        if let dashes = dash.dashArray(width: lineWidth) { attributes.append(("stroke-dasharray", dashes)) }
        return attributes
    }
}
