/// A chart of series of (x, y) points on linear or log axes: lines with
/// optional bands and markers, scatter points (``SeriesStyle/points``),
/// fitted straight lines and labelled reference lines.
///
/// ```swift
/// var chart = LineChart(title: "Training loss", xLabel: "step", yLabel: "loss", yScale: .log)
/// chart.add(Series(name: "SGD", x: steps, y: median, band: Band(lower: q10, upper: q90)))
/// chart.add(Series(name: "QSGD", x: steps, y: qsgd, style: .dashed))
/// chart.add(.vertical(at: 1200, label: "escape step"))
/// let svg = chart.svg(width: 640, height: 400)
/// ```
///
/// For a log–log rate plot, add points and their fit:
///
/// ```swift
/// var rate = LineChart(title: "Rate", xLabel: "n", yLabel: "error", xScale: .log, yScale: .log)
/// rate.add(Series(name: "measured", x: n, y: error, style: .points))
/// if let fit = LinearFit.leastSquares(x: n, y: error, xScale: .log, yScale: .log) { rate.add(fit) }
/// ```
public struct LineChart: Chart, FramedChart {
    /// The title above the plot (may be empty).
    public var title: String
    /// The horizontal axis.
    public var x: Axis
    /// The vertical axis.
    public var y: Axis
    /// The series, drawn in order (later ones on top).
    public var series: [Series] = []
    /// Fitted lines, drawn over the series.
    public var fits: [FittedLine] = []
    /// Reference lines, drawn under the series.
    public var referenceLines: [ReferenceLine] = []
    /// Where the legend goes.
    public var legend = LegendPlacement.automatic
    /// The colours and fixed styles of named series.
    public var palette = Palette.standard

    /// An empty chart.
    public init(title: String = "", xLabel: String = "", yLabel: String = "", xScale: Scale = .linear, yScale: Scale = .linear) {
        self.title = title
        self.x = Axis(label: xLabel, scale: xScale)
        self.y = Axis(label: yLabel, scale: yScale)
    }

    /// Adds a series.
    public mutating func add(_ series: Series) {
        self.series.append(series)
    }

    /// Adds a fitted line; its legend text is `label`, by default the slope and its error.
    public mutating func add(_ fit: LinearFit, label: String? = nil, style: SeriesStyle? = nil) {
        fits.append(FittedLine(fit, label: label, style: style))
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

    var xSharing: (scale: Scale, span: ClosedRange<Double>)? {
        (x.scale, x.span(covering: extents.x))
    }

    /// The data values the axes must cover: points both axes can show, band
    /// edges, reference lines.
    private var extents: (x: [Double], y: [Double]) {
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for i in 0..<Swift.min(s.x.count, s.y.count) where x.scale.transform(s.x[i]) != nil {
                if y.scale.transform(s.y[i]) != nil {
                    xs.append(s.x[i])
                    ys.append(s.y[i])
                }
                if let band = s.band, i < band.lower.count, i < band.upper.count {
                    ys += [band.lower[i], band.upper[i]]
                }
            }
        }
        for line in referenceLines {
            if line.orientation == .vertical { xs.append(line.value) } else { ys.append(line.value) }
        }
        return (xs, ys)
    }

    private var styles: [ResolvedStyle] {
        palette.resolve(series.map { ($0.name, $0.style) })
    }

    private var legendEntries: Legend {
        let lines = zip(series, styles).filter { $0.0.inLegend }.map { Legend.Entry(label: $0.0.name, style: $0.1, band: $0.0.band != nil) }
        return Legend(entries: lines + fits.map { Legend.Entry(label: $0.label, style: $0.resolvedStyle) })
    }

    /// What is drawn in a frame's plot area.
    private struct Contents {
        var series: [SeriesGeometry]
        var fits: [[[Point]]]
        var references: ReferenceMarks
        var obstacles: Obstacles
    }

    private func contents(in frame: PlotFrame, styles: [ResolvedStyle]) -> Contents {
        let geometries = zip(series, styles).map { SeriesGeometry($0, style: $1, frame: frame) }
        let fitPieces = fits.map { $0.pieces(in: frame) }
        let data = geometries.reduce(Obstacles(polylines: fitPieces.flatMap { $0 })) { $0.merged($1.obstacles) }
        let references = ReferenceMarks(referenceLines, in: frame, avoiding: data)
        return Contents(series: geometries, fits: fitPieces, references: references, obstacles: data.merged(references.obstacles))
    }

    private func layout(in bounds: Rect, options: FrameOptions) -> (PlotFrame, Legend.Position) {
        let (xs, ys) = extents
        let xPlan = AxisPlan(label: x.label, scale: x.scale, span: options.xSpan ?? x.span(covering: xs))
        let yPlan = AxisPlan(label: y.label, scale: y.scale, span: y.span(covering: ys))
        let styles = self.styles
        return legendEntries.place(legend, bounds: bounds) { right, bottom in
            PlotFrame(bounds: bounds, title: title, x: xPlan, y: yPlan, reserveRight: right, reserveBottom: bottom, options: options)
        } obstacles: { frame in
            contents(in: frame, styles: styles).obstacles
        }
    }

    func plotArea(in bounds: Rect, options: FrameOptions) -> Rect {
        layout(in: bounds, options: options).0.plot
    }

    func draw(into w: inout SVGWriter, bounds: Rect, options: FrameOptions) {
        let (frame, position) = layout(in: bounds, options: options)
        let styles = self.styles
        let contents = self.contents(in: frame, styles: styles)
        frame.drawGrid(into: &w)
        contents.references.drawLines(into: &w)
        for ((s, style), geometry) in zip(zip(series, styles), contents.series) {
            geometry.draw(into: &w, name: s.name, style: style, bandOpacity: s.band?.opacity ?? 0)
        }
        for (fit, pieces) in zip(fits, contents.fits) where !pieces.isEmpty {
            w.open("g", [("class", "fit")])
            w.element("title", text: fit.label)
            w.empty("path", [("d", SeriesGeometry.pathData(pieces))] + fit.resolvedStyle.strokeAttributes)
            w.close("g")
        }
        contents.references.drawLabels(into: &w)
        frame.drawAxes(into: &w)
        legendEntries.draw(into: &w, at: position)
    }
}
