import Foundation

/// Internal: an axis ready for layout: its scale and span, and its ticks,
/// automatic or given (categories, heat-map cells).
struct AxisPlan {
    /// What to do when given tick labels collide along a horizontal axis.
    enum Crowding {
        /// Keep every k-th label.
        case thin
        /// Slant the labels, then thin if still crowded.
        case slant
    }

    var label: String
    var scale: Scale
    /// The span shown, in axis units.
    var span: ClosedRange<Double>
    /// Ticks to use instead of automatic ones.
    var fixedTicks: Ticks? = nil
    var crowding = Crowding.thin
    /// Whether major (and minor) ticks get gridlines.
    var grid = true

    /// The slant of crowded labels, degrees.
    static let slant = -40.0

    /// The ticks on an axis `length` px long (horizontal or vertical): those
    /// in the span, labels thinned until they do not collide; and whether x
    /// labels are slanted.
    func ticks(length: Double, horizontal: Bool) -> (ticks: Ticks, slanted: Bool) {
        let map = AxisMap(scale: scale, span: span, from: 0, to: length)
        let all = fixedTicks ?? scale.ticks(over: span, length: length, spacing: horizontal ? 75 : 42)
        let major = all.major.filter { map.shows($0.value) }
        let minor = all.minor.filter { map.shows($0) }
        let positions = major.map { map.pixel($0.value)! }
        func fits(every k: Int, slanted: Bool) -> Bool {
            let kept = Swift.stride(from: 0, to: major.count, by: k).map { $0 }
            return zip(kept, kept.dropFirst()).allSatisfy { a, b in
                let room = Swift.abs(positions[b] - positions[a])
                if !horizontal || slanted { return room >= Style.tickFont * Style.lineHeight * (slanted ? 1.4 : 1) }
                let need = (Self.lineWidth(major[a].label) + Self.lineWidth(major[b].label)) / 2 + 8
                return room >= need
            }
        }
        let slanted = horizontal && crowding == .slant && !fits(every: 1, slanted: false)
        let k = (1...Swift.max(1, major.count)).first { fits(every: $0, slanted: slanted) } ?? 1
        let kept = Swift.stride(from: 0, to: major.count, by: k).map { major[$0] }
        return (Ticks(major: kept, minor: k == 1 ? minor : []), slanted)
    }

    /// The width of a label's widest line at tick size.
    static func lineWidth(_ label: String) -> Double {
        TextMetrics.maxWidth(label.split(separator: "\n").map(String.init), fontSize: Style.tickFont)
    }

    /// The height tick labels take below a horizontal axis.
    static func labelHeight(_ ticks: Ticks, slanted: Bool) -> Double {
        let line = Style.tickFont * Style.lineHeight
        if slanted {
            let widest = ticks.major.map { lineWidth($0.label.replacingOccurrences(of: "\n", with: " ")) }.max() ?? 0
            let angle = -slant * Double.pi / 180
            return widest * sin(angle) + line * cos(angle)
        }
        let lines = ticks.major.map { $0.label.split(separator: "\n").count }.max() ?? 1
        return line * Double(Swift.max(lines, 1))
    }
}
