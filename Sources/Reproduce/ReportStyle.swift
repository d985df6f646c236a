import Foundation
import Plotting

/// The look shared by every plot of the report: one palette in which each
/// method or configuration keeps its colour from plot to plot, and the
/// plots' size.
public enum ReportStyle {
    /// Every group name the experiments use, registered in a fixed order.
    public static let palette: Palette = {
        var p = Palette()
        // Figure 2's colours: red without noise, green with it, for every compressor.
        for c in ["no compression", "topk 0.1%", "randomk 0.1%"] {
            p.setStyle(SeriesStyle(color: .vermillion), for: c)
            p.setStyle(SeriesStyle(color: .bluishGreen), for: "\(c), σ = 0.01")
        }
        p.setStyle(SeriesStyle(color: .vermillion), for: "no noise")
        p.setStyle(SeriesStyle(color: .bluishGreen), for: "σ = 0.01")
        p.register(["SGD", "QSGD b=7"])
        // The saddle methods, the same colour in pgd-pagd and cnc: a method's
        // name, its runs' points and its medians.
        for (m, c) in methodColors {
            for name in [m, "\(m) runs", "\(m) median"] { p.setStyle(SeriesStyle(color: c), for: name) }
        }
        return p
    }()

    /// The colour of each perturbed method across the page.
    public static let methodColors: [String: Color] = ["PGD": .blue, "PAGD": .vermillion, "CNC": .bluishGreen]

    public static let width = 720.0
    public static let height = 420.0

    /// Writes a chart's SVG into `directory/file` (atomically) and returns its reference.
    static func write(_ chart: any Chart, file: String, caption: String, into directory: URL,
                      width: Double = width, height: Double = height) throws -> PlotReference {
        try Files.makeDirectory(directory)
        try Files.writeAtomically(Data(chart.svg(width: width, height: height).utf8), to: directory.appendingPathComponent(file))
        return PlotReference(file: file, caption: caption)
    }
}
