/// Internal: the layout of one chart within its bounds (title, margins fitted
/// to the tick labels, the plot area) and the drawing of what surrounds the
/// data: gridlines, frame, ticks, labels and title.
struct PlotFrame {
    let bounds: Rect
    let plot: Rect
    let title: String
    let x: AxisPlan
    let y: AxisPlan
    let xTicks: Ticks
    let yTicks: Ticks
    let slantsXLabels: Bool
    let options: FrameOptions

    /// Lays out a chart in `bounds`, leaving `reserve` px free at the right
    /// and bottom (outside legends, colour bars).
    init(bounds: Rect, title: String, x: AxisPlan, y: AxisPlan, reserveRight: Double = 0, reserveBottom: Double = 0, options: FrameOptions) {
        self.bounds = bounds
        self.title = title
        self.x = x
        self.y = y
        self.options = options
        let line = Style.labelFont * Style.lineHeight
        let top = title.isEmpty ? Style.edge + 4 : Style.edge + Style.titleFont * Style.lineHeight + 8
        var plot = Rect(x: bounds.x + 60, y: bounds.y + top, width: bounds.width - 80, height: bounds.height - top - 50)
        var xTicks = Ticks(major: []), yTicks = Ticks(major: []), slanted = false
        for _ in 0..<3 {
            (yTicks, _) = y.ticks(length: plot.height, horizontal: false)
            (xTicks, slanted) = x.ticks(length: plot.width, horizontal: true)
            let yLabels = yTicks.major.map { AxisPlan.lineWidth($0.label) }.max() ?? 0
            var left = Style.edge + Style.majorTick + Style.tickGap + yLabels + (y.label.isEmpty ? 0 : line + 4)
            left = Swift.max(left, options.minLeft)
            var bottom = Style.edge + reserveBottom + Style.majorTick
            if options.showsXTickLabels { bottom += Style.tickGap + AxisPlan.labelHeight(xTicks, slanted: slanted) }
            if options.showsXLabel, !x.label.isEmpty { bottom += 4 + line }
            var right = Style.edge + reserveRight
            if !slanted, options.showsXTickLabels, let last = xTicks.major.last {
                let map = AxisMap(scale: x.scale, span: x.span, from: plot.minX, to: plot.maxX)
                let overhang = AxisPlan.lineWidth(last.label) / 2 - (plot.maxX - (map.pixel(last.value) ?? plot.maxX))
                right = Swift.max(right, overhang + 4 + reserveRight)
            }
            right = Swift.max(right, options.minRight)
            plot = Rect(
                x: bounds.x + left, y: bounds.y + top,
                width: Swift.max(bounds.width - left - right, 20), height: Swift.max(bounds.height - top - bottom, 20)
            )
        }
        self.plot = plot
        self.xTicks = xTicks
        self.yTicks = yTicks
        self.slantsXLabels = slanted
    }

    var xMap: AxisMap { AxisMap(scale: x.scale, span: x.span, from: plot.minX, to: plot.maxX) }
    var yMap: AxisMap { AxisMap(scale: y.scale, span: y.span, from: plot.maxY, to: plot.minY) }

    /// The pixel of a data point, nil if either coordinate cannot be shown.
    func pixel(_ xValue: Double, _ yValue: Double) -> Point? {
        guard let px = xMap.pixel(xValue), let py = yMap.pixel(yValue) else { return nil }
        return Point(x: px, y: py)
    }

    /// Light gridlines at the ticks, under the data.
    func drawGrid(into w: inout SVGWriter) {
        let f = NumberFormat.coordinate
        func lines(_ xs: [Double], _ ys: [Double]) -> String {
            let vertical = xs.compactMap(xMap.pixel).map { "M\(f($0)) \(f(plot.minY))V\(f(plot.maxY))" }
            let horizontal = ys.compactMap(yMap.pixel).map { "M\(f(plot.minX)) \(f($0))H\(f(plot.maxX))" }
            return (vertical + horizontal).joined()
        }
        let minor = lines(x.grid ? xTicks.minor : [], y.grid ? yTicks.minor : [])
        let major = lines(x.grid ? xTicks.major.map(\.value) : [], y.grid ? yTicks.major.map(\.value) : [])
        w.open("g", [("fill", "none"), ("stroke-width", "1"), ("shape-rendering", "crispEdges")])
        if !minor.isEmpty { w.empty("path", [("d", minor), ("stroke", Style.minorGrid)]) }
        if !major.isEmpty { w.empty("path", [("d", major), ("stroke", Style.grid)]) }
        w.close("g")
    }

    /// The frame, ticks, tick labels, axis labels and title, over the data.
    func drawAxes(into w: inout SVGWriter) {
        let f = NumberFormat.coordinate
        w.open("g", [("fill", "none"), ("stroke", Style.axis), ("stroke-width", "1"), ("shape-rendering", "crispEdges")])
        w.empty("rect", [("x", f(plot.x)), ("y", f(plot.y)), ("width", f(plot.width)), ("height", f(plot.height))])
        func marks(_ xs: [Double], _ ys: [Double], length: Double) -> String {
            xs.compactMap(xMap.pixel).map { "M\(f($0)) \(f(plot.maxY))v\(f(length))" }.joined()
                + ys.compactMap(yMap.pixel).map { "M\(f(plot.minX)) \(f($0))h\(f(-length))" }.joined()
        }
        let major = marks(xTicks.major.map(\.value), yTicks.major.map(\.value), length: Style.majorTick)
        let minor = marks(xTicks.minor, yTicks.minor, length: Style.minorTick)
        if !major.isEmpty { w.empty("path", [("d", major)]) }
        if !minor.isEmpty { w.empty("path", [("d", minor)]) }
        w.close("g")

        let line = Style.labelFont * Style.lineHeight
        w.open("g", [("fill", Style.text)])
        for tick in yTicks.major {
            guard let py = yMap.pixel(tick.value) else { continue }
            w.text(tick.label, at: Point(x: plot.minX - Style.majorTick - Style.tickGap, y: py + Style.tickFont * 0.35), anchor: "end")
        }
        let labelTop = plot.maxY + Style.majorTick + Style.tickGap
        if options.showsXTickLabels {
            for tick in xTicks.major {
                guard let px = xMap.pixel(tick.value) else { continue }
                if slantsXLabels {
                    let text = tick.label.replacingOccurrences(of: "\n", with: " ")
                    w.text(text, at: Point(x: px + 3, y: labelTop + Style.tickFont * 0.6), anchor: "end", rotation: AxisPlan.slant)
                } else {
                    w.text(tick.label, at: Point(x: px, y: labelTop + Style.tickFont * 0.8), anchor: "middle")
                }
            }
        }
        if options.showsXLabel, !x.label.isEmpty {
            let below = options.showsXTickLabels ? AxisPlan.labelHeight(xTicks, slanted: slantsXLabels) : 0
            w.text(x.label, at: Point(x: plot.midX, y: labelTop + below + 4 + Style.labelFont), anchor: "middle", size: Style.labelFont)
        }
        if !y.label.isEmpty {
            let at = Point(x: bounds.minX + Style.edge + line * 0.75, y: plot.midY)
            w.text(y.label, at: at, anchor: "middle", size: Style.labelFont, rotation: -90)
        }
        if !title.isEmpty {
            let width = TextMetrics.width(title, fontSize: Style.titleFont, bold: true)
            let half = width / 2
            let centre = Swift.min(Swift.max(plot.midX, bounds.minX + Style.edge + half), bounds.maxX - Style.edge - half)
            let at = Point(x: width > bounds.width - 2 * Style.edge ? bounds.midX : centre, y: bounds.minY + Style.edge + Style.titleFont)
            w.text(title, at: at, anchor: "middle", size: Style.titleFont, bold: true)
        }
        w.close("g")
    }
}
