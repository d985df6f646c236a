import Foundation

/// A strip plot: the raw samples of each group as dots in a column, its median
/// as a bar, groups side by side along a category axis.
///
/// Made for a few (3–10) runs per group, such as escape steps or final losses
/// per method: every run stays visible. Dots of equal value spread sideways
/// (a small beeswarm, laid out deterministically). Samples the value axis
/// cannot show (NaN, ±∞, ≤ 0 on a log axis) are counted under the group's name
/// ("2 not shown").
///
/// ```swift
/// var chart = DistributionChart(title: "Escape step", xLabel: "method", yLabel: "step", yScale: .log)
/// chart.add(DistributionChart.Group(name: "SGD", samples: [820, 910, 1040, 1200]))
/// chart.add(DistributionChart.Group(name: "Top-k", samples: [1500, 1720, .infinity]))
/// let svg = chart.svg(width: 480, height: 360)
/// ```
public struct DistributionChart: Chart, FramedChart {
    /// One category: a name and its samples.
    public struct Group: Sendable {
        /// The category label.
        public var name: String
        /// The raw samples, one per run.
        public var samples: [Double]
        /// The palette name that colours the group (groups sharing a key share a
        /// colour and get one legend entry); nil: the group's own name, no legend entry.
        public var key: String?

        /// A group of samples.
        public init(name: String, samples: [Double], key: String? = nil) {
            self.name = name
            self.samples = samples
            self.key = key
        }
    }

    /// The title above the plot (may be empty).
    public var title: String
    /// The text under the category axis.
    public var xLabel: String
    /// The value axis.
    public var y: Axis
    /// The groups, left to right.
    public var groups: [Group] = []
    /// Reference lines; horizontal ones (values) are shown.
    public var referenceLines: [ReferenceLine] = []
    /// Whether each group's median is marked with a bar.
    public var showsMedian = true
    /// Where the legend (colour keys and the median bar) goes.
    public var legend = LegendPlacement.automatic
    /// The colours and fixed styles of named series.
    public var palette = Palette.standard

    /// An empty chart.
    public init(title: String = "", xLabel: String = "", yLabel: String = "", yScale: Scale = .linear) {
        self.title = title
        self.xLabel = xLabel
        self.y = Axis(label: yLabel, scale: yScale)
    }

    /// Adds a group.
    public mutating func add(_ group: Group) {
        groups.append(group)
    }

    /// Adds a reference line.
    public mutating func add(_ line: ReferenceLine) {
        referenceLines.append(line)
    }

    /// The chart as an SVG document (see ``Chart/svg(width:height:)``).
    public func svg(width: Double = 640, height: Double = 400) -> String {
        standaloneSVG(width: width, height: height)
    }

    // MARK: Layout and drawing

    private var keys: [String] {
        var seen = Set<String>()
        return groups.map { $0.key ?? $0.name }.filter { seen.insert($0).inserted }
    }

    private var styles: [String: ResolvedStyle] {
        let keys = self.keys
        let resolved = palette.resolve(keys.map { ($0, nil) }, defaults: .points)
        return Dictionary(uniqueKeysWithValues: zip(keys, resolved))
    }

    private static let medianStyle = ResolvedStyle(color: Color(hex: "#222222")!, dash: .solid, marker: nil, lineWidth: 2.5, connects: true)

    private var legendEntries: Legend {
        let styles = self.styles
        var seen = Set<String>()
        let keyed = groups.compactMap(\.key).filter { seen.insert($0).inserted }.map { Legend.Entry(label: $0, style: styles[$0]!) }
        let median = showsMedian && groups.contains { !$0.samples.isEmpty } ? [Legend.Entry(label: "median", style: Self.medianStyle)] : []
        return Legend(entries: keyed + median)
    }

    private var hidden: [Int] {
        groups.map { group in group.samples.filter { y.scale.transform($0) == nil }.count }
    }

    private func layout(in bounds: Rect, options: FrameOptions) -> (PlotFrame, Legend.Position) {
        let values = groups.flatMap(\.samples) + referenceLines.filter { $0.orientation == .horizontal }.map(\.value)
        let ticks = zip(groups, hidden).enumerated().map { i, pair in
            Tick(value: Double(i), label: pair.0.name + (pair.1 > 0 ? "\n\(pair.1) not shown" : ""))
        }
        let xPlan = AxisPlan(
            label: xLabel, scale: .linear, span: -0.5...(Double(Swift.max(groups.count, 1)) - 0.5),
            fixedTicks: Ticks(major: ticks), crowding: .slant, grid: false
        )
        let yPlan = AxisPlan(label: y.label, scale: y.scale, span: y.span(covering: values))
        return legendEntries.place(legend, bounds: bounds) { right, bottom in
            PlotFrame(bounds: bounds, title: title, x: xPlan, y: yPlan, reserveRight: right, reserveBottom: bottom, options: options)
        } obstacles: { frame in
            let data = Self.obstacles(strips(in: frame))
            return data.merged(ReferenceMarks(horizontalLines, in: frame, avoiding: data).obstacles)
        }
    }

    private var horizontalLines: [ReferenceLine] {
        referenceLines.filter { $0.orientation == .horizontal }
    }

    private static func obstacles(_ strips: [Strip]) -> Obstacles {
        strips.reduce(Obstacles()) { $0.merged(Obstacles(segments: $1.median.map { [$0] } ?? [], points: $1.dots)) }
    }

    /// One group's dots and median bar in pixels.
    private struct Strip {
        var dots: [Point]
        var median: (Point, Point)?
    }

    private func strips(in frame: PlotFrame) -> [Strip] {
        let slot = frame.plot.width / Double(Swift.max(groups.count, 1))
        let radius = Style.markerRadius + 0.5
        let spread = Swift.min(slot * 0.38, 40)
        return groups.enumerated().map { i, group in
            let centre = frame.xMap.pixel(Double(i))!
            let values = group.samples.filter { y.scale.transform($0) != nil }.sorted()
            let step = radius + 0.5
            var offsets = [0.0]
            for k in 1...Swift.max(1, Int(spread / step)) {
                offsets += [Double(k) * step, -Double(k) * step]
            }
            var dots: [Point] = []
            for py in values.compactMap(frame.yMap.pixel) {
                let near = dots.filter { Swift.abs($0.y - py) < 2 * radius }
                let offset = offsets.first { dx in near.allSatisfy { hypot($0.x - centre - dx, $0.y - py) >= 2 * radius } } ?? 0
                dots.append(Point(x: centre + offset, y: py))
            }
            var bar: (Point, Point)?
            if showsMedian, !values.isEmpty, let py = frame.yMap.pixel(median(values)) {
                let half = Swift.min(slot * 0.32, 26)
                bar = frame.plot.clip(Point(x: centre - half, y: py), Point(x: centre + half, y: py))
            }
            return Strip(dots: dots.filter(frame.plot.contains), median: bar)
        }
    }

    /// The median of sorted values (the mean of the middle two for an even count; on
    /// a log axis, their geometric mean).
    private func median(_ sorted: [Double]) -> Double {
        let mid = sorted.count / 2
        guard sorted.count % 2 == 0, let a = y.scale.transform(sorted[mid - 1]), let b = y.scale.transform(sorted[mid]) else {
            return sorted[mid]
        }
        return y.scale.inverse((a + b) / 2)
    }

    func plotArea(in bounds: Rect, options: FrameOptions) -> Rect {
        layout(in: bounds, options: options).0.plot
    }

    func draw(into w: inout SVGWriter, bounds: Rect, options: FrameOptions) {
        let (frame, position) = layout(in: bounds, options: options)
        let strips = self.strips(in: frame)
        let references = ReferenceMarks(horizontalLines, in: frame, avoiding: Self.obstacles(strips))
        let styles = self.styles
        let f = NumberFormat.coordinate
        frame.drawGrid(into: &w)
        references.drawLines(into: &w)
        for (group, strip) in zip(groups, strips) {
            let style = styles[group.key ?? group.name]!
            w.open("g", [("class", "series")])
            w.element("title", text: group.name)
            if let (a, b) = strip.median {
                w.empty("path", [("d", "M\(f(a.x)) \(f(a.y))H\(f(b.x))")] + Self.medianStyle.strokeAttributes)
            }
            if !strip.dots.isEmpty {
                let marker = style.marker ?? .circle
                let d = strip.dots.map { marker.path(at: $0, radius: Style.markerRadius + 0.5) }.joined()
                w.empty("path", [("d", d), ("fill-opacity", "0.85")] + SeriesGeometry.markerPaint(style))
            }
            w.close("g")
        }
        references.drawLabels(into: &w)
        frame.drawAxes(into: &w)
        legendEntries.draw(into: &w, at: position)
    }
}
