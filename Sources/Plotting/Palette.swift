/// The colours of a report and the fixed style of each named series, so that
/// one method looks the same in every chart.
///
/// Give every chart of a report the same palette. Names given a style (by
/// `setStyle` or `register`) keep it everywhere; other series take, in their
/// chart's order, the first colour (then colour and dash) that no other series
/// of that chart uses.
///
/// ```swift
/// var palette = Palette()
/// palette.register(["SGD", "QSGD", "Top-k"])   // blue, vermillion, green
/// palette.setStyle(SeriesStyle(color: .black, dash: .dashed), for: "theory")
/// chart.palette = palette
/// ```
public struct Palette: Hashable, Sendable {
    /// The colours handed out, in order.
    public var colors: [Color]
    /// The dash patterns combined with the colours once every colour is taken.
    public var dashes: [Dash]
    private var styles: [String: SeriesStyle] = [:]

    /// Okabe–Ito, ordered for lines on white: blue, vermillion, bluish green,
    /// orange, reddish purple, sky blue, black, yellow.
    public static let okabeIto: [Color] = [
        .blue, .vermillion, .bluishGreen, .orange, .reddishPurple, .skyBlue, .black, .yellow,
    ]

    /// The default palette: Okabe–Ito, then solid, dashed, dotted, dash-dot lines.
    public static let standard = Palette()

    /// A palette handing out `colors`, then `colors` with each further dash.
    public init(colors: [Color] = Palette.okabeIto, dashes: [Dash] = Dash.allCases) {
        precondition(!colors.isEmpty, "a palette needs a colour")
        self.colors = colors
        self.dashes = dashes.isEmpty ? [.solid] : dashes
    }

    /// The fixed style for `name`, if it has one.
    public func style(for name: String) -> SeriesStyle? {
        styles[name]
    }

    /// Fixes the style of every series called `name` (its nil fields stay automatic).
    public mutating func setStyle(_ style: SeriesStyle, for name: String) {
        styles[name] = style
    }

    /// Gives each name that has no colour yet the first colour (and dash) that
    /// no fixed style uses, in the order given.
    public mutating func register(_ names: [String]) {
        var used = Set(styles.values.compactMap { style in style.color.map { Look(color: $0, dash: style.dash ?? .solid) } })
        for name in names where styles[name]?.color == nil {
            let look = nextLook(avoiding: used)
            used.insert(look)
            styles[name] = SeriesStyle(color: look.color, dash: look.dash).over(styles[name])
        }
    }

    /// Internal: complete styles for a chart's series, in order. Each series'
    /// own style wins over the palette's style for its name; what is still open
    /// gets the first colour and dash not used in this chart, and `defaults`.
    func resolve(_ series: [(name: String, style: SeriesStyle?)], defaults: SeriesStyle = .automatic) -> [ResolvedStyle] {
        let fixed = series.map { ($0.style ?? .automatic).over(styles[$0.name]) }
        var used = Set(fixed.compactMap { style in style.color.map { Look(color: $0, dash: style.dash ?? .solid) } })
        return fixed.map { style in
            var look = Look(color: style.color ?? colors[0], dash: style.dash ?? .solid)
            if style.color == nil {
                look = nextLook(avoiding: used)
                used.insert(look)
            }
            let complete = style.over(defaults)
            return ResolvedStyle(
                color: look.color, dash: style.dash ?? look.dash, marker: complete.marker,
                lineWidth: complete.lineWidth ?? Style.lineWidth, connects: complete.connects ?? true
            )
        }
    }

    private struct Look: Hashable {
        var color: Color
        var dash: Dash
    }

    private func nextLook(avoiding used: Set<Look>) -> Look {
        for dash in dashes {
            for color in colors where !used.contains(Look(color: color, dash: dash)) {
                return Look(color: color, dash: dash)
            }
        }
        return Look(color: colors[used.count % colors.count], dash: dashes[0])
    }
}
