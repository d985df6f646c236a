import Foundation
import Plotting

/// relu-rate's plot: relative error against iterations on a log axis, the
/// mean over seeds with its 10%–90% band, and each method's fitted line.
enum ReluRatePlots {
    static func write(curves: [(String, GroupCurve)], fits: [String: Statistics.LineFit], into directory: URL) throws -> [PlotReference] {
        var chart = LineChart(title: "Planted ReLU, d = 1000, n = 10000, m = 800", xLabel: "iteration",
                              yLabel: "relative error ‖w − w*‖/‖w*‖", yScale: .log)
        chart.palette = ReportStyle.palette
        for (g, curve) in curves {
            guard !curve.steps.isEmpty else { continue }
            chart.add(Series(name: g, x: curve.steps, y: curve.mean, band: Band(lower: curve.low, upper: curve.high)))
            let phase = zip(curve.steps, curve.mean).filter { ReluRate.fitRange.contains($0.1) }.map(\.0)
            if let f = fits[g], let lo = phase.first, let hi = phase.last, lo < hi {
                // log10 e = a + b·t, drawn as a straight line on the log axis.
                let line = LinearFit(slope: f.slope, intercept: f.intercept, slopeError: f.slopeStandardError,
                                     xScale: .linear, yScale: .log, xRange: lo...hi)
                chart.add(line, label: String(format: "%@ fit: ×%.4f a step", g, pow(10, f.slope)),
                          style: SeriesStyle(dash: .dashed))
            }
        }
        chart.add(.horizontal(at: 1e-3, label: "10⁻³"))
        return [try ReportStyle.write(chart, file: "relative-error.svg",
                                      caption: "Relative error against iterations (mean over seeds, band: 10%–90%), with least-squares lines over the geometric phase.",
                                      into: directory)]
    }
}
