import Foundation
import Plotting

/// cnc's plots: the escape step of every run per method and dimension (a
/// strip plot with medians), and the means against d with each method's
/// least-squares line in log10 d.
enum CncPlots {
    static let colors = ReportStyle.methodColors

    static func write(samples: [String: [Double]], fits: [String: Statistics.LineFit],
                      dimensions: [Int], censored: Double, into directory: URL) throws -> [PlotReference] {
        var strip = DistributionChart(title: "Escape from the saddle", xLabel: "method, dimension d", yLabel: "first step with f(x) ≤ −1/8")
        strip.palette = ReportStyle.palette
        for d in dimensions {
            for m in Cnc.methods {
                let g = Cnc.group(m, d: d)
                strip.add(DistributionChart.Group(name: g, samples: samples[g] ?? [], key: m.key))
            }
        }
        if samples.values.contains(where: { $0.contains(censored) }) { strip.add(.horizontal(at: censored, label: "not escaped")) }
        var refs = [try ReportStyle.write(strip, file: "escape-steps.svg",
                                          caption: "The escape step of every run (dots; bars: medians): CNC's single stochastic gradient step against PGD's ball point of the same root-mean-square length, at each d.",
                                          into: directory)]
        var trend = LineChart(title: "Escape step against d", xLabel: "dimension d", yLabel: "escape step (mean, 10%–90%)", xScale: .log)
        trend.palette = ReportStyle.palette
        for m in Cnc.methods {
            let ds = dimensions.filter { !(samples[Cnc.group(m, d: $0)] ?? []).isEmpty }
            let groups = ds.map { samples[Cnc.group(m, d: $0)]! }
            if !ds.isEmpty {
                trend.add(Series(name: m.key, x: ds.map(Double.init), y: groups.map(Statistics.mean),
                                 band: Band(lower: groups.map { Statistics.quantile($0, 0.1) }, upper: groups.map { Statistics.quantile($0, 0.9) }),
                                 style: SeriesStyle(marker: .circle)))
            }
            if let f = fits[m.key], let lo = dimensions.min(), let hi = dimensions.max(), lo < hi {
                trend.add(LinearFit(slope: f.slope, intercept: f.intercept, slopeError: f.slopeStandardError, xScale: .log, yScale: .linear,
                                    xRange: Double(lo)...Double(hi)),
                          label: String(format: "%@ fit: %+.1f steps per decade (95%% %+.1f…%+.1f)", m.key, f.slope, f.slopeLow95, f.slopeHigh95),
                          style: SeriesStyle(color: colors[m.key], dash: .dashed))
            }
        }
        refs.append(try ReportStyle.write(trend, file: "escape-vs-d.svg",
                                          caption: "Escape step against d (log axis): mean over seeds with its 10%–90% band, and the least-squares line of the escape step in log10 d over every run (it passes through the means).",
                                          into: directory))
        return refs
    }
}
