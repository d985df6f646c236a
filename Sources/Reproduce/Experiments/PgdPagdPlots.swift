import Foundation
import Plotting

/// pgd-pagd's plots: per problem, the first ε-SOSP step of every run against
/// ε on log–log axes, the medians joined, each method's fitted power law and
/// the papers' exponents as reference slopes through the fit at the largest ε.
enum PgdPagdPlots {
    static let colors = ReportStyle.methodColors

    static func write(series: [String: PgdPagd.Series], epsilons: [Double], into directory: URL) throws -> [PlotReference] {
        var refs: [PlotReference] = []
        let lo = epsilons.min()!, hi = epsilons.max()!
        for p in PgdPagd.problems {
            var chart = LineChart(title: p.label, xLabel: "ε", yLabel: "first ε-SOSP step", xScale: .log, yScale: .log)
            chart.palette = ReportStyle.palette
            for m in PgdPagd.methods {
                guard let s = series["\(m.key) \(p.key)"] else { continue }
                let color = colors[m.key]
                if !s.points.isEmpty {
                    chart.add(Series(name: "\(m.key) runs", x: s.points.map(\.eps), y: s.points.map(\.steps),
                                     style: SeriesStyle(marker: .circle, connects: false), inLegend: false))
                }
                let med = epsilons.compactMap { e in s.medians[e].map { (x: e, y: $0) } }
                if !med.isEmpty {
                    chart.add(Series(name: "\(m.key) median", points: med, style: SeriesStyle(marker: .square, lineWidth: 1)))
                }
                guard let f = s.fit else { continue }
                let fitted = LinearFit(slope: f.slope, intercept: f.intercept, slopeError: f.slopeStandardError,
                                       xScale: .log, yScale: .log, xRange: lo...hi)
                chart.add(fitted, label: String(format: "%@ fit: slope %.2f (95%% %.2f…%.2f)", m.key, f.slope, f.slopeLow95, f.slopeHigh95),
                          style: SeriesStyle(color: color, dash: .dashed))
                // The paper's exponent through the fitted value at the largest ε.
                let anchor = f.intercept + f.slope * log10(hi)
                let reference = LinearFit(slope: m.exponent, intercept: anchor - m.exponent * log10(hi), xScale: .log, yScale: .log, xRange: lo...hi)
                chart.add(reference, label: "ε^\(PgdPagd.exponentText(m.exponent)) (\(m.paper))", style: SeriesStyle(color: color, dash: .dotted))
            }
            refs.append(try ReportStyle.write(chart, file: "steps-\(p.key).svg",
                                              caption: "\(p.label): the first certified ε-SOSP step of each run (dots) and the medians over seeds (squares) against ε, with each method's least-squares power law (dashed) and the papers' exponents (dotted, through the fit at the largest ε).",
                                              into: directory))
        }
        return refs
    }
}
