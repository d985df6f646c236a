import Foundation

/// A grid of values as coloured cells, with a colour bar and optional lines on top
/// (such as a fitted boundary).
///
/// Rows run bottom to top, columns left to right: `values[row][column]`.
/// Cells whose value the colour scale cannot show (NaN, ±∞, ≤ 0 on a log
/// colour scale) are light grey.
///
/// ```swift
/// var map = HeatMap(title: "Final loss", xLabel: "step size", yLabel: "workers",
///                   columns: .values([0.001, 0.01, 0.1], scale: .log), rows: .categories(["2", "4", "8"]),
///                   values: losses)
/// map.add(overlay: Series(name: "boundary", x: [0.002, 0.02, 0.08], y: [0, 1, 2]))
/// let svg = map.svg(width: 560, height: 400)
/// ```
public struct HeatMap: Chart, FramedChart {
    /// What the cells of one direction stand for.
    public enum Coordinates: Hashable, Sendable {
        /// Named cells; overlays use the index (0, 1, …) as coordinate.
        case categories([String])
        /// Cells centred on ascending numbers on a scale; overlays use the
        /// numbers. Anything else (unsorted, not on the scale) is shown as
        /// categories named by the numbers.
        case values([Double], scale: Scale)
    }

    /// The title above the plot (may be empty).
    public var title: String
    /// The text under the x axis.
    public var xLabel: String
    /// The text beside the y axis.
    public var yLabel: String
    /// The text beside the colour bar.
    public var colorLabel = ""
    /// What the columns stand for.
    public var columns: Coordinates
    /// What the rows stand for.
    public var rows: Coordinates
    /// The values, `values[row][column]`; short rows leave empty cells.
    public var values: [[Double]]
    /// The colours for 0…1.
    public var colorMap = ColorMap.viridis
    /// How values map to 0…1: linearly or by log₁₀.
    public var colorScale = Scale.linear
    /// The values at the ends of the colour map; nil: the smallest and largest value.
    public var colorRange: ClosedRange<Double>?
    /// Whether each cell shows its value (where it fits).
    public var showsValues = false
    /// Lines drawn over the cells, in the coordinates of `columns` and `rows`.
    public var overlays: [Series] = []
    /// Where the overlays' legend goes: under the plot, or hidden.
    public var legend = LegendPlacement.bottom
    /// The colours and fixed styles of named overlays.
    public var palette = Palette.standard

    /// A heat map of `values` over `columns` × `rows`.
    public init(title: String = "", xLabel: String = "", yLabel: String = "", columns: Coordinates, rows: Coordinates, values: [[Double]]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.columns = columns
        self.rows = rows
        self.values = values
    }

    /// Adds a line over the cells.
    public mutating func add(overlay: Series) {
        overlays.append(overlay)
    }

    /// The chart as an SVG document (see ``Chart/svg(width:height:)``).
    public func svg(width: Double = 640, height: Double = 400) -> String {
        standaloneSVG(width: width, height: height)
    }

    /// The colour of a cell holding `value`; nil if the colour scale cannot show it.
    public func color(for value: Double) -> Color? {
        guard let u = colorScale.transform(value) else { return nil }
        let span = colorSpan
        return colorMap.color(at: (u - span.lowerBound) / (span.upperBound - span.lowerBound))
    }

    // MARK: Layout and drawing

    /// The colour range in colour-scale units.
    private var colorSpan: ClosedRange<Double> {
        let automatic = colorScale.span(covering: values.flatMap { $0 }, padding: 0)
        guard let range = colorRange, let lo = colorScale.transform(range.lowerBound), let hi = colorScale.transform(range.upperBound), lo < hi else {
            return automatic
        }
        return lo...hi
    }

    private var columnCount: Int { Swift.max(values.map(\.count).max() ?? 0, Self.count(columns)) }
    private var rowCount: Int { Swift.max(values.count, Self.count(rows)) }

    private static func count(_ coordinates: Coordinates) -> Int {
        switch coordinates {
        case let .categories(names): return names.count
        case let .values(numbers, _): return numbers.count
        }
    }

    /// One direction's cells: edges in axis units and the axis plan.
    private struct Cells {
        var edges: [Double]
        var plan: AxisPlan
    }

    private static func cells(_ coordinates: Coordinates, count: Int, label: String, horizontal: Bool) -> Cells {
        if case let .values(numbers, scale) = coordinates, numbers.count == count, count > 0 {
            let us = numbers.compactMap(scale.transform)
            if us.count == count, zip(us, us.dropFirst()).allSatisfy({ $0 < $1 }) {
                let half = count > 1 ? [(us[1] - us[0]) / 2, (us[count - 1] - us[count - 2]) / 2] : [0.5, 0.5]
                let edges = [us[0] - half[0]] + zip(us, us.dropFirst()).map { ($0 + $1) / 2 } + [us[count - 1] + half[1]]
                let ticks = numbers.map { Tick(value: $0, label: NumberFormat.compact($0)) }
                let plan = AxisPlan(label: label, scale: scale, span: edges[0]...edges[count], fixedTicks: Ticks(major: ticks), crowding: .thin, grid: false)
                return Cells(edges: edges, plan: plan)
            }
        }
        let names: [String]
        switch coordinates {
        case let .categories(given): names = given
        case let .values(numbers, _): names = numbers.map { NumberFormat.compact($0) }
        }
        let labels = (0..<count).map { $0 < names.count ? names[$0] : String($0) }
        let ticks = labels.enumerated().map { Tick(value: Double($0), label: $1) }
        let span = -0.5...(Double(Swift.max(count, 1)) - 0.5)
        let plan = AxisPlan(label: label, scale: .linear, span: span, fixedTicks: Ticks(major: ticks), crowding: horizontal ? .slant : .thin, grid: false)
        return Cells(edges: (0...count).map { Double($0) - 0.5 }, plan: plan)
    }

    /// The colour bar's ticks for a bar `length` px long.
    private func colorTicks(length: Double) -> Ticks {
        let span = colorSpan
        let ticks = colorScale.ticks(over: span, length: length, spacing: 36)
        let map = AxisMap(scale: colorScale, span: span, from: 0, to: 1)
        return Ticks(major: ticks.major.filter { map.shows($0.value) }, minor: ticks.minor.filter { map.shows($0) })
    }

    private static let barGap = 14.0
    private static let barWidth = 14.0

    private func layout(in bounds: Rect, options: FrameOptions) -> (PlotFrame, Legend.Position, Cells, Cells) {
        let x = Self.cells(columns, count: columnCount, label: xLabel, horizontal: true)
        let y = Self.cells(rows, count: rowCount, label: yLabel, horizontal: false)
        let labels = colorTicks(length: bounds.height - 80).major.map { TextMetrics.width($0.label, fontSize: Style.tickFont) }.max() ?? 0
        let bar = Self.barGap + Self.barWidth + Style.majorTick + Style.tickGap + labels
            + (colorLabel.isEmpty ? 0 : 6 + Style.labelFont * Style.lineHeight)
        let (frame, position) = overlayLegend.place(legend == .hidden ? .hidden : .bottom, bounds: bounds) { right, bottom in
            PlotFrame(bounds: bounds, title: title, x: x.plan, y: y.plan, reserveRight: right + bar, reserveBottom: bottom, options: options)
        } obstacles: { _ in Obstacles() }
        return (frame, position, x, y)
    }

    private var overlayStyles: [ResolvedStyle] {
        palette.resolve(overlays.map { ($0.name, $0.style) })
    }

    private var overlayLegend: Legend {
        Legend(entries: zip(overlays, overlayStyles).filter { $0.0.inLegend }.map { Legend.Entry(label: $0.0.name, style: $0.1) })
    }

    func plotArea(in bounds: Rect, options: FrameOptions) -> Rect {
        layout(in: bounds, options: options).0.plot
    }

    func draw(into w: inout SVGWriter, bounds: Rect, options: FrameOptions) {
        let (frame, position, x, y) = layout(in: bounds, options: options)
        let f = NumberFormat.coordinate
        let styles = overlayStyles
        let lines = zip(overlays, styles).map { SeriesGeometry($0, style: $1, frame: frame) }
        let covered = lines.reduce(Obstacles()) { $0.merged($1.obstacles) }
        w.open("g", [("class", "cells"), ("shape-rendering", "crispEdges"), ("stroke", "none")])
        var labels: [(String, Point, Color)] = []
        for (r, row) in values.enumerated() where r < rowCount {
            let top = frame.yMap.position(y.edges[r + 1]), bottom = frame.yMap.position(y.edges[r])
            for (c, value) in row.enumerated() where c < columnCount {
                let left = frame.xMap.position(x.edges[c]), right = frame.xMap.position(x.edges[c + 1])
                let color = self.color(for: value)
                w.empty("rect", [
                    ("x", f(left)), ("y", f(top)), ("width", f(right - left)), ("height", f(bottom - top)),
                    ("fill", color?.hex ?? Style.missing),
                ])
                let text = NumberFormat.compact(value)
                if showsValues, let color, let at = Self.labelSpot(text, cell: Rect(x: left, y: top, width: right - left, height: bottom - top), avoiding: covered) {
                    labels.append((text, at, color))
                }
            }
        }
        w.close("g")
        if !labels.isEmpty {
            w.open("g", [("class", "values"), ("text-anchor", "middle")])
            for (text, at, color) in labels {
                w.text(text, at: at, fill: color.luminance > 0.3 ? "#000000" : "#ffffff")
            }
            w.close("g")
        }
        for ((overlay, style), geometry) in zip(zip(overlays, styles), lines) {
            if !geometry.lines.isEmpty {
                var halo = style
                halo.color = .white
                halo.dash = .solid
                halo.lineWidth += 2.5
                w.empty("path", [("d", SeriesGeometry.pathData(geometry.lines)), ("stroke-opacity", "0.85")] + halo.strokeAttributes)
            }
            geometry.draw(into: &w, name: overlay.name, style: style, bandOpacity: overlay.band?.opacity ?? 0)
        }
        frame.drawAxes(into: &w)
        drawColorBar(into: &w, frame: frame)
        overlayLegend.draw(into: &w, at: position)
    }

    /// Where a value label goes in its cell: the middle, else the upper or
    /// lower part, wherever it is clear of the overlays; nil if it fits nowhere.
    private static func labelSpot(_ text: String, cell: Rect, avoiding covered: Obstacles) -> Point? {
        let width = TextMetrics.width(text, fontSize: Style.tickFont) + 4, height = Style.tickFont + 3
        guard width <= cell.width, height <= cell.height else { return nil }
        let middles = [cell.midY, cell.minY + height / 2 + 1, cell.maxY - height / 2 - 1]
        let spot = middles.first { y in
            !covered.touch(Rect(x: cell.midX - width / 2 - 2, y: y - height / 2 - 2, width: width + 4, height: height + 4))
        }
        return spot.map { Point(x: cell.midX, y: $0 + Style.tickFont * 0.35) }
    }

    private func drawColorBar(into w: inout SVGWriter, frame: PlotFrame) {
        let f = NumberFormat.coordinate
        let plot = frame.plot
        let left = plot.maxX + Self.barGap
        let steps = 64
        let span = colorSpan
        let map = AxisMap(scale: colorScale, span: span, from: plot.maxY, to: plot.minY)
        w.open("g", [("class", "colorbar"), ("shape-rendering", "crispEdges"), ("stroke", "none")])
        for i in 0..<steps {
            let t0 = Double(i) / Double(steps), t1 = Double(i + 1) / Double(steps)
            let top = plot.maxY - t1 * plot.height, height = (t1 - t0) * plot.height
            w.empty("rect", [
                ("x", f(left)), ("y", f(top)), ("width", f(Self.barWidth)), ("height", f(height + 0.5)),
                ("fill", colorMap.color(at: (t0 + t1) / 2).hex),
            ])
        }
        w.empty("rect", [
            ("x", f(left)), ("y", f(plot.minY)), ("width", f(Self.barWidth)), ("height", f(plot.height)),
            ("fill", "none"), ("stroke", Style.axis),
        ])
        let ticks = colorTicks(length: plot.height)
        let edge = left + Self.barWidth
        let d = ticks.major.compactMap { map.pixel($0.value) }.map { "M\(f(edge)) \(f($0))h\(f(Style.majorTick))" }.joined()
            + ticks.minor.compactMap(map.pixel).map { "M\(f(edge)) \(f($0))h\(f(Style.minorTick))" }.joined()
        if !d.isEmpty { w.empty("path", [("d", d), ("fill", "none"), ("stroke", Style.axis)]) }
        w.close("g")
        var widest = 0.0
        for tick in ticks.major {
            guard let py = map.pixel(tick.value) else { continue }
            w.text(tick.label, at: Point(x: edge + Style.majorTick + Style.tickGap, y: py + Style.tickFont * 0.35))
            widest = Swift.max(widest, TextMetrics.width(tick.label, fontSize: Style.tickFont))
        }
        if !colorLabel.isEmpty {
            let x = edge + Style.majorTick + Style.tickGap + widest + 6 + Style.labelFont * 0.8
            w.text(colorLabel, at: Point(x: x, y: plot.midY), anchor: "middle", size: Style.labelFont, rotation: 90)
        }
    }
}
