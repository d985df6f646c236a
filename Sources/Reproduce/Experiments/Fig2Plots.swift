import Foundation
import Plotting

/// fig2-plateau's plots: per compressor, loss and ‖g‖ against the step
/// (mean, 10%–90% band) without and with noise, and λ_min of the tracked
/// runs; the escape steps of every run.
enum Fig2Plots {
    static func write(data: ExperimentData, compressors: [(label: String, plain: String, noisy: String)], threshold: Double,
                      censored: Double, into directory: URL) throws -> [PlotReference] {
        var refs: [PlotReference] = []
        for (i, c) in compressors.enumerated() {
            var loss = LineChart(title: c.label, xLabel: "step", yLabel: "loss (512 training images)")
            var grad = LineChart(xLabel: "step", yLabel: "‖g‖ (mean of last 100 steps)", yScale: .log)
            var lambda = LineChart(xLabel: "step", yLabel: "λ_min (Lanczos, seed 1)")
            loss.palette = ReportStyle.palette; grad.palette = ReportStyle.palette; lambda.palette = ReportStyle.palette
            for g in [c.plain, c.noisy] {
                let runs = data.group(g)
                let l = GroupCurve(runs) { $0.loss }
                if !l.steps.isEmpty { loss.add(Series(name: g, x: l.steps, y: l.mean, band: Band(lower: l.low, upper: l.high))) }
                let n = GroupCurve(runs) { $0.step > 0 ? $0.stochasticGradNorm : nil }
                if !n.steps.isEmpty { grad.add(Series(name: g, x: n.steps, y: n.mean, band: Band(lower: n.low, upper: n.high))) }
                if let tracked = runs.first(where: { $0.spec.seed == 1 }) {
                    let pts = tracked.records.compactMap { r in r.lambdaMin.map { (x: Double(r.step), y: $0) } }
                    if !pts.isEmpty { lambda.add(Series(name: g, points: pts, style: SeriesStyle(marker: .circle))) }
                }
            }
            loss.add(.horizontal(at: threshold, label: "plateau threshold"))
            lambda.add(.horizontal(at: 0, label: "0"))
            var panel = Panel(title: "", sharesX: true)
            panel.add(loss); panel.add(grad); panel.add(lambda)
            refs.append(try ReportStyle.write(panel, file: "panel-\(i + 1).svg",
                                              caption: "\(c.label): training loss and ‖g‖ (mean over seeds, band 10%–90%) without and with noise σ = 0.01, and λ_min along the first seed's run (negative: a direction of descent the gradient does not see).",
                                              into: directory, width: ReportStyle.width, height: 760))
        }
        var escapes = DistributionChart(title: "Escape step per run", xLabel: "configuration", yLabel: "first step with loss < \(threshold)")
        escapes.palette = ReportStyle.palette
        for c in compressors {
            for g in [c.plain, c.noisy] {
                let es = data.group(g).map { r in Fig2Plateau.escapeStep(r).map(Double.init) ?? censored }
                escapes.add(DistributionChart.Group(name: g, samples: es, key: g == c.plain ? "no noise" : "σ = 0.01"))
            }
        }
        escapes.add(.horizontal(at: censored, label: "never escaped"))
        refs.append(try ReportStyle.write(escapes, file: "escape-steps.svg",
                                          caption: "The step at which each run left the plateau (runs that never did are drawn at the last step + 1); bars: medians.",
                                          into: directory))
        return refs
    }
}
