/// Where a chart's legend goes.
public enum LegendPlacement: Hashable, Sendable {
    /// Inside the plot, in the first corner (top right, top left, bottom right,
    /// bottom left) where it covers no data; outside on the right (or, when
    /// wide, at the bottom) if every corner has data.
    case automatic
    /// Inside the plot, top left.
    case topLeft
    /// Inside the plot, top right.
    case topRight
    /// Inside the plot, bottom left.
    case bottomLeft
    /// Inside the plot, bottom right.
    case bottomRight
    /// Outside the plot, to its right.
    case right
    /// Outside the plot, under the x axis, in rows.
    case bottom
    /// No legend.
    case hidden
}

/// Internal: a legend's entries, size and drawing.
struct Legend {
    /// One entry: a swatch in a series' style and its text.
    struct Entry {
        var label: String
        var style: ResolvedStyle
        /// Whether the swatch shows a band behind the line.
        var band: Bool = false
    }

    /// Where a laid-out legend is drawn.
    enum Position {
        case none
        /// A boxed column with its top-left corner here.
        case column(Point, boxed: Bool)
        /// Rows within this width, centred, top at the point's y.
        case rows(Point, width: Double)
    }

    var entries: [Entry]

    private static let swatch = 26.0
    private static let row = 16.0
    private static let padding = 6.0

    /// The size of the legend as one column.
    var columnSize: (width: Double, height: Double) {
        let text = TextMetrics.maxWidth(entries.map(\.label), fontSize: Style.legendFont)
        return (2 * Self.padding + Self.swatch + 6 + text, 2 * Self.padding - 4 + Double(entries.count) * Self.row)
    }

    private func itemWidth(_ entry: Entry) -> Double {
        Self.swatch + 6 + TextMetrics.width(entry.label, fontSize: Style.legendFont) + 16
    }

    /// The entries in rows no wider than `width`.
    private func rows(width: Double) -> [[Entry]] {
        var rows: [[Entry]] = [[]]
        var used = 0.0
        for entry in entries {
            let w = itemWidth(entry)
            if used + w > width, !rows[rows.count - 1].isEmpty {
                rows.append([])
                used = 0
            }
            rows[rows.count - 1].append(entry)
            used += w
        }
        return rows
    }

    /// The height of the legend in rows no wider than `width`.
    func rowsHeight(width: Double) -> Double {
        Double(rows(width: width).count) * Self.row + 4
    }

    /// Lays out a chart with this legend: `frame(reserveRight, reserveBottom)`
    /// makes the chart's frame, `obstacles` says what it draws in a frame.
    func place(
        _ placement: LegendPlacement, bounds: Rect,
        frame: (Double, Double) -> PlotFrame, obstacles: (PlotFrame) -> Obstacles
    ) -> (PlotFrame, Position) {
        guard !entries.isEmpty, placement != .hidden else { return (frame(0, 0), .none) }
        let size = columnSize
        var outside = placement
        if placement != .right, placement != .bottom {
            let inner = frame(0, 0)
            let plot = inner.plot
            let fits = size.width <= plot.width * 0.6 && size.height <= plot.height * 0.7
            let corners: [LegendPlacement] = placement == .automatic ? [.topRight, .topLeft, .bottomRight, .bottomLeft] : [placement]
            let drawn = placement == .automatic ? obstacles(inner) : Obstacles()
            for corner in corners where fits || placement != .automatic {
                let left = corner == .topLeft || corner == .bottomLeft
                let top = corner == .topLeft || corner == .topRight
                let box = Rect(
                    x: left ? plot.minX + 8 : plot.maxX - 8 - size.width,
                    y: top ? plot.minY + 8 : plot.maxY - 8 - size.height,
                    width: size.width, height: size.height
                )
                if !drawn.touch(Rect(x: box.x - 5, y: box.y - 5, width: box.width + 10, height: box.height + 10)) {
                    return (inner, .column(Point(x: box.x, y: box.y), boxed: true))
                }
            }
            outside = size.width <= bounds.width * 0.3 ? .right : .bottom
        }
        if outside == .right {
            let framed = frame(size.width + 6, 0)
            return (framed, .column(Point(x: framed.plot.maxX + 6, y: framed.plot.minY), boxed: false))
        }
        let width = bounds.width - 2 * Style.edge
        let height = rowsHeight(width: width)
        let framed = frame(0, height + 4)
        return (framed, .rows(Point(x: bounds.minX + Style.edge, y: bounds.maxY - Style.edge - height), width: width))
    }

    /// Draws the legend at `position`.
    func draw(into w: inout SVGWriter, at position: Position) {
        let f = NumberFormat.coordinate
        switch position {
        case .none:
            return
        case let .column(origin, boxed):
            let size = columnSize
            w.open("g", [("class", "legend")])
            if boxed {
                w.empty("rect", [
                    ("x", f(origin.x)), ("y", f(origin.y)), ("width", f(size.width)), ("height", f(size.height)),
                    ("rx", "2"), ("fill", "#ffffff"), ("fill-opacity", "0.9"), ("stroke", "#cccccc"),
                ])
            }
            for (i, entry) in entries.enumerated() {
                let y = origin.y + Self.padding - 2 + Self.row * (Double(i) + 0.5)
                drawEntry(entry, at: Point(x: origin.x + Self.padding, y: y), into: &w)
            }
            w.close("g")
        case let .rows(origin, width):
            w.open("g", [("class", "legend")])
            for (r, row) in rows(width: width).enumerated() {
                let total = row.map(itemWidth).reduce(0, +) - 16
                var x = origin.x + Swift.max(0, (width - total) / 2)
                let y = origin.y + 2 + Self.row * (Double(r) + 0.5)
                for entry in row {
                    drawEntry(entry, at: Point(x: x, y: y), into: &w)
                    x += itemWidth(entry)
                }
            }
            w.close("g")
        }
    }

    /// One swatch and its text, vertically centred on `p.y`.
    private func drawEntry(_ entry: Entry, at p: Point, into w: inout SVGWriter) {
        let f = NumberFormat.coordinate
        let style = entry.style
        if entry.band {
            w.empty("rect", [
                ("x", f(p.x)), ("y", f(p.y - 5)), ("width", f(Self.swatch)), ("height", "10"),
                ("fill", style.color.hex), ("fill-opacity", NumberFormat.coordinate(Style.bandOpacity)),
            ])
        }
        if style.connects {
            w.empty("path", [("d", "M\(f(p.x + 1)) \(f(p.y))H\(f(p.x + Self.swatch - 1))")] + style.strokeAttributes)
        }
        if let marker = style.marker {
            let centre = Point(x: p.x + Self.swatch / 2, y: p.y)
            w.empty("path", [("d", marker.path(at: centre, radius: Style.markerRadius))] + SeriesGeometry.markerPaint(style))
        }
        w.text(entry.label, at: Point(x: p.x + Self.swatch + 6, y: p.y + Style.legendFont * 0.35), size: Style.legendFont)
    }
}
