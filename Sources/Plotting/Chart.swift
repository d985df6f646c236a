/// A chart that renders itself as a standalone SVG document.
///
/// Every chart of this module (``LineChart``, ``DistributionChart``,
/// ``HeatMap``, ``Panel``) conforms; ``Panel`` lays several out in one SVG.
public protocol Chart: Sendable {
    /// The chart as SVG 1.1 text: the `<svg>` element with `width`, `height` and
    /// a `viewBox` of that size, so that it can be saved as a `.svg` file or put
    /// inline in HTML (and scaled there with CSS). Same chart, same bytes.
    func svg(width: Double, height: Double) -> String
}

/// Internal: how a chart is placed within a panel.
struct FrameOptions {
    /// A span (axis units) for the x axis instead of the chart's own.
    var xSpan: ClosedRange<Double>? = nil
    /// The least left and right margins in px (to line plot areas up).
    var minLeft = 0.0
    var minRight = 0.0
    /// Whether the x axis has its tick labels and its label.
    var showsXTickLabels = true
    var showsXLabel = true

    /// A chart alone in its document.
    static let standalone = FrameOptions()
}

/// Internal: a chart that draws into a part of a larger document (a panel cell).
protocol FramedChart: Chart {
    /// The x scale and span (axis units) the chart would choose, for sharing; nil if it cannot share.
    var xSharing: (scale: Scale, span: ClosedRange<Double>)? { get }
    /// The plot area the chart would use in `bounds`.
    func plotArea(in bounds: Rect, options: FrameOptions) -> Rect
    /// Draws the chart within `bounds`.
    func draw(into writer: inout SVGWriter, bounds: Rect, options: FrameOptions)
    /// The chart's title, also the document's `<title>`.
    var title: String { get }
}

extension FramedChart {
    /// By default a chart does not share its x axis.
    var xSharing: (scale: Scale, span: ClosedRange<Double>)? { nil }

    /// The standalone document: the whole chart in a `width` × `height` SVG.
    func standaloneSVG(width: Double, height: Double) -> String {
        SVGWriter.document(width: width, height: height, title: title) { writer in
            draw(into: &writer, bounds: Rect(x: 0, y: 0, width: width, height: height), options: .standalone)
        }
    }
}
