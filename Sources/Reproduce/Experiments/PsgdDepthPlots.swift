import Foundation
import Plotting

/// psgd-depth's plots: test accuracy against epochs for each network, the
/// mean over trials of SGD and of each r with its 10%–90% band.
enum PsgdDepthPlots {
    typealias Network = (label: String, model: String, eta: Double, stepsPerEpoch: Double, series: [(String, GroupCurve)])

    static func write(curves: [Network], into directory: URL) throws -> [PlotReference] {
        try curves.map { net in
            var chart = LineChart(title: "\(net.label) on Fashion-MNIST, batch 128, η = \(net.eta)", xLabel: "epoch",
                                  yLabel: "test accuracy (%)")
            chart.palette = ReportStyle.palette
            for (method, curve) in net.series where !curve.steps.isEmpty {
                chart.add(Series(name: method, x: curve.steps.map { $0 / net.stepsPerEpoch }, y: curve.mean.map { 100 * $0 },
                                 band: Band(lower: curve.low.map { 100 * $0 }, upper: curve.high.map { 100 * $0 })))
            }
            return try ReportStyle.write(chart, file: "test-accuracy-\(net.label.lowercased()).svg",
                                         caption: "\(net.label) (\(net.model)): test accuracy against epochs, SGD and perturbed SGD with radius r (mean over trials, band: 10%–90%).",
                                         into: directory)
        }
    }
}
