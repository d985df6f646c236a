import Foundation
import Plotting

/// table1-rates' plots: per problem and compressor, steps and upload bits
/// to the first ε-SOSP against ε and against d on log–log axes, every run a
/// point, with the fitted power law and the bound's slope (Theorems 3.3–3.4's
/// T on our grid) and Table 1's drawn through the same centre.
enum Table1RatesPlots {
    static func color(_ c: Table1Rates.Compressor) -> Color {
        switch c {
        case .none: return .vermillion
        case .randomk: return .blue
        case .topk: return .bluishGreen
        }
    }

    static func write(rates: [Table1Rates.Rate], into directory: URL) throws -> [PlotReference] {
        var refs: [PlotReference] = []
        for (i, p) in Table1Rates.problems.enumerated() {
            for (j, c) in Table1Rates.Compressor.allCases.enumerated() {
                var panel = Panel(title: "\(p.label), \(c.label)", columns: 2)
                for sweep in [Table1Rates.Sweep.eps, .dim] {
                    for bits in [false, true] {
                        guard let r = rates.first(where: { $0.problem.key == p.key && $0.compressor == c && $0.sweep == sweep && $0.bits == bits })
                        else { continue }
                        panel.add(chart(r))
                    }
                }
                refs.append(try ReportStyle.write(panel, file: "rates-\(i + 1)-\(j + 1).svg",
                                                  caption: "\(p.label), \(c.label): steps and upload bits a worker to the first ε-SOSP against ε (d fixed) and against d (ε fixed), every run a point; dashed: our least-squares power law; dotted: the slope of the bound T = 1/(ε²η) on our grid and Table 1's, through the same centre.",
                                                  into: directory, width: ReportStyle.width, height: 620))
            }
        }
        return refs
    }

    static func chart(_ r: Table1Rates.Rate) -> LineChart {
        let xLabel = r.sweep == .eps ? "ε" : "d"
        var chart = LineChart(title: "\(r.quantity) vs \(xLabel)", xLabel: xLabel, yLabel: r.bits ? "upload bits a worker" : "steps",
                              xScale: .log, yScale: .log)
        let color = color(r.compressor)
        if !r.points.isEmpty {
            chart.add(Series(name: "runs", points: r.points, style: SeriesStyle(color: color, marker: .circle, connects: false)))
        }
        guard let f = r.fit, let lo = r.points.map(\.x).min(), let hi = r.points.map(\.x).max(), lo < hi else { return chart }
        let line = LinearFit(slope: f.slope, intercept: f.intercept, slopeError: f.slopeStandardError, xScale: .log, yScale: .log, xRange: lo...hi)
        chart.add(line, label: String(format: "ours %.2f ± %.2f", f.slope, f.slopeHalfWidth95), style: SeriesStyle(color: color, dash: .dashed))
        // Reference slopes through the centre of the data (mean log x, mean log y).
        let mx = r.points.map { log10($0.x) }.reduce(0, +) / Double(r.points.count)
        let my = r.points.map { log10($0.y) }.reduce(0, +) / Double(r.points.count)
        for (slope, label, dash) in [(r.bound, String(format: "bound on grid %.2f", r.bound), Dash.dotted),
                                     (r.paper, String(format: "Table 1 %.2f", r.paper), Dash.dashDot)] {
            let ref = LinearFit(slope: slope, intercept: my - slope * mx, xScale: .log, yScale: .log, xRange: lo...hi)
            chart.add(ref, label: label, style: SeriesStyle(color: .grey, dash: dash))
        }
        return chart
    }
}
