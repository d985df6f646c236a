/// A sequential colour scale: 0…1 to a colour, interpolated between evenly spaced stops.
public struct ColorMap: Hashable, Sendable {
    /// The colours at 0, 1/(n−1), …, 1.
    public var stops: [Color]

    /// A map through `stops` (at least one).
    public init(stops: [Color]) {
        precondition(!stops.isEmpty, "a colour map needs a stop")
        self.stops = stops
    }

    /// The colour at `t`, clamped to 0…1; NaN gives the colour at 0.
    public func color(at t: Double) -> Color {
        guard stops.count > 1, !t.isNaN else { return stops[0] }
        let clamped = Swift.min(Swift.max(t, 0), 1)
        let position = clamped * Double(stops.count - 1)
        let i = Swift.min(Int(position), stops.count - 2)
        return stops[i].mixed(with: stops[i + 1], position - Double(i))
    }

    /// Viridis (matplotlib's default): dark blue-purple to yellow, lightness rising
    /// monotonically, readable in grey and with colour-vision deficiencies.
    public static let viridis = ColorMap(stops: [
        "#440154", "#482878", "#3E4989", "#31688E", "#26828E",
        "#1F9E89", "#35B779", "#6ECE58", "#B5DE2B", "#FDE725",
    ].map { Color(hex: $0)! })

    /// Light grey to black, for print.
    public static let greys = ColorMap(stops: [Color(hex: "#F0F0F0")!, Color(hex: "#101010")!])
}
