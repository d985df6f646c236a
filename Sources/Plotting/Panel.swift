/// Several charts in one SVG: a grid of cells filled row by row, optionally
/// with the charts of each column sharing one x axis.
///
/// With `sharesX`, the charts of a column that can share (line charts on the
/// same x scale) get the union of their x ranges and plot areas lined up, and
/// only the bottom one shows x tick labels and the x label: loss, ‖g‖ and
/// λ_min over the same steps, say. Charts stay independent otherwise; for
/// free-flowing layouts put separate SVGs side by side in HTML instead.
///
/// ```swift
/// var panel = Panel(title: "Run 3", sharesX: true)
/// panel.add(lossChart)
/// panel.add(gradientNormChart)
/// panel.add(lambdaMinChart)
/// let svg = panel.svg(width: 640, height: 720)
/// ```
public struct Panel: Chart, FramedChart {
    /// The title over all cells (may be empty).
    public var title: String
    /// The charts, filling the grid row by row.
    public var charts: [any Chart] = []
    /// How many cells per row.
    public var columns: Int
    /// Whether the charts of a column share their x axis.
    public var sharesX: Bool

    /// An empty panel.
    public init(title: String = "", columns: Int = 1, sharesX: Bool = false) {
        self.title = title
        self.columns = Swift.max(columns, 1)
        self.sharesX = sharesX
    }

    /// Adds a chart in the next cell.
    public mutating func add(_ chart: any Chart) {
        charts.append(chart)
    }

    /// The panel as an SVG document (see ``Chart/svg(width:height:)``).
    public func svg(width: Double = 640, height: Double = 720) -> String {
        standaloneSVG(width: width, height: height)
    }

    // MARK: Layout and drawing

    func plotArea(in bounds: Rect, options: FrameOptions) -> Rect { bounds }

    private var titleHeight: Double {
        title.isEmpty ? 0 : Style.edge + Style.titleFont * Style.lineHeight + 4
    }

    /// The cell of chart `i`.
    private func cell(_ i: Int, in bounds: Rect) -> Rect {
        let rows = Swift.max(1, (charts.count + columns - 1) / columns)
        let top = bounds.minY + titleHeight
        let width = bounds.width / Double(columns), height = (bounds.height - titleHeight) / Double(rows)
        return Rect(x: bounds.minX + Double(i % columns) * width, y: top + Double(i / columns) * height, width: width, height: height)
    }

    /// How each chart is framed: alone, or lined up with its column.
    private func options(in bounds: Rect) -> [FrameOptions] {
        var options = charts.map { _ in FrameOptions.standalone }
        guard sharesX else { return options }
        for column in 0..<columns {
            let members = Array(Swift.stride(from: column, to: charts.count, by: columns)).filter { charts[$0] is FramedChart }
            let sharing = members.compactMap { (charts[$0] as! FramedChart).xSharing }
            guard let last = members.last else { continue }
            var span: ClosedRange<Double>?
            if sharing.count == members.count, let first = sharing.first, sharing.allSatisfy({ $0.scale == first.scale }) {
                span = sharing.map(\.span.lowerBound).min()!...sharing.map(\.span.upperBound).max()!
            }
            for i in members {
                options[i].xSpan = span
                options[i].showsXTickLabels = i == last || span == nil
                options[i].showsXLabel = i == last || span == nil
            }
            let margins = members.map { i -> (Double, Double) in
                let bounds = cell(i, in: bounds)
                let plot = (charts[i] as! FramedChart).plotArea(in: bounds, options: options[i])
                return (plot.minX - bounds.minX, bounds.maxX - plot.maxX)
            }
            for i in members {
                options[i].minLeft = margins.map(\.0).max() ?? 0
                options[i].minRight = margins.map(\.1).max() ?? 0
            }
        }
        return options
    }

    func draw(into w: inout SVGWriter, bounds: Rect, options _: FrameOptions) {
        if !title.isEmpty {
            let at = Point(x: bounds.midX, y: bounds.minY + Style.edge + Style.titleFont)
            w.text(title, at: at, anchor: "middle", size: Style.titleFont + 1, bold: true)
        }
        let options = self.options(in: bounds)
        for (i, chart) in charts.enumerated() {
            let cell = self.cell(i, in: bounds)
            w.open("g", [("class", "cell")])
            if let framed = chart as? FramedChart {
                framed.draw(into: &w, bounds: cell, options: options[i])
            } else {
                let f = NumberFormat.coordinate
                w.open("g", [("transform", "translate(\(f(cell.x)) \(f(cell.y)))")])
                w.raw(chart.svg(width: cell.width, height: cell.height))
                w.close("g")
            }
            w.close("g")
        }
    }
}
