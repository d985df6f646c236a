/// A labelled vertical or horizontal line across the plot, such as a threshold or an event.
public struct ReferenceLine: Hashable, Sendable {
    /// Which way the line runs.
    public enum Orientation: Hashable, Sendable {
        /// At an x value, from bottom to top.
        case vertical
        /// At a y value, from left to right.
        case horizontal
    }

    /// Which way the line runs.
    public var orientation: Orientation
    /// Where, in data units of the axis it crosses.
    public var value: Double
    /// The text beside the line (may be empty).
    public var label: String
    /// The line and label colour.
    public var color: Color
    /// The dash pattern.
    public var dash: Dash

    /// A line at `value`.
    public init(_ orientation: Orientation, at value: Double, label: String = "", color: Color = .grey, dash: Dash = .dashed) {
        self.orientation = orientation
        self.value = value
        self.label = label
        self.color = color
        self.dash = dash
    }

    /// A vertical line at x = `value`.
    public static func vertical(at value: Double, label: String = "", color: Color = .grey, dash: Dash = .dashed) -> ReferenceLine {
        ReferenceLine(.vertical, at: value, label: label, color: color, dash: dash)
    }

    /// A horizontal line at y = `value`.
    public static func horizontal(at value: Double, label: String = "", color: Color = .grey, dash: Dash = .dashed) -> ReferenceLine {
        ReferenceLine(.horizontal, at: value, label: label, color: color, dash: dash)
    }
}

/// Internal: reference lines placed in a frame, their labels kept apart.
struct ReferenceMarks {
    private struct Placed {
        var line: ReferenceLine
        var from: Point
        var to: Point
        var labelBox: Rect?
    }

    private let placed: [Placed]

    /// Places the lines the frame's axes can show. A label goes beside its
    /// line in the first spot that covers neither `data` nor an earlier label:
    /// for a vertical line at the top (right of it, then left), then lower
    /// down, then at the bottom; for a horizontal line at the right end (above,
    /// then below), then at the left end.
    init(_ lines: [ReferenceLine], in frame: PlotFrame, avoiding data: Obstacles = Obstacles()) {
        let plot = frame.plot
        let height = Style.tickFont * Style.lineHeight
        var result: [Placed] = []
        for line in lines {
            let map = line.orientation == .vertical ? frame.xMap : frame.yMap
            guard map.shows(line.value), let p = map.pixel(line.value) else { continue }
            let width = TextMetrics.width(line.label, fontSize: Style.tickFont) + 4
            let from: Point, to: Point
            var spots: [Rect]
            switch line.orientation {
            case .vertical:
                (from, to) = (Point(x: p, y: plot.minY), Point(x: p, y: plot.maxY))
                let sides = [p + 3, p - 3 - width].filter { $0 >= plot.minX && $0 + width <= plot.maxX }
                let rows = Array(Swift.stride(from: plot.minY + 3, through: plot.maxY - height - 3, by: height))
                spots = rows.flatMap { y in sides.map { Rect(x: $0, y: y, width: width, height: height) } }
            case .horizontal:
                (from, to) = (Point(x: plot.minX, y: p), Point(x: plot.maxX, y: p))
                let levels = [p - height - 2, p + 2].filter { $0 >= plot.minY && $0 + height <= plot.maxY }
                spots = [plot.maxX - 3 - width, plot.minX + 3].flatMap { x in levels.map { Rect(x: x, y: $0, width: width, height: height) } }
            }
            if spots.isEmpty { spots = [Rect(x: from.x + 3, y: from.y + 3, width: width, height: height)] }
            let taken = Obstacles(boxes: result.compactMap(\.labelBox)).merged(data)
            let box = spots.first { !taken.touch($0) } ?? spots[0]
            result.append(Placed(line: line, from: from, to: to, labelBox: line.label.isEmpty ? nil : box))
        }
        placed = result
    }

    /// What a legend should not cover: the lines and their labels.
    var obstacles: Obstacles {
        Obstacles(segments: placed.map { ($0.from, $0.to) }, boxes: placed.compactMap(\.labelBox))
    }

    /// The lines, under the data.
    func drawLines(into w: inout SVGWriter) {
        let f = NumberFormat.coordinate
        for mark in placed {
            var attributes: SVGWriter.Attributes = [
                ("d", "M\(f(mark.from.x)) \(f(mark.from.y))L\(f(mark.to.x)) \(f(mark.to.y))"),
                ("fill", "none"), ("stroke", mark.line.color.hex), ("stroke-width", "1.2"),
            ]
            if let dashes = mark.line.dash.dashArray(width: 1.2) { attributes.append(("stroke-dasharray", dashes)) }
            w.empty("path", attributes)
        }
    }

    /// The labels on a light backing, over the data.
    func drawLabels(into w: inout SVGWriter) {
        let f = NumberFormat.coordinate
        for mark in placed {
            guard let box = mark.labelBox else { continue }
            w.empty("rect", [
                ("x", f(box.x)), ("y", f(box.y)), ("width", f(box.width)), ("height", f(box.height)),
                ("fill", "#ffffff"), ("fill-opacity", "0.85"),
            ])
            w.text(mark.line.label, at: Point(x: box.x + 2, y: box.y + Style.tickFont), fill: mark.line.color == .grey ? Style.mutedText : mark.line.color.hex)
        }
    }
}
