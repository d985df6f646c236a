import Foundation
import Plotting

/// One chart of each kind on synthetic data shaped like the experiments'
/// results; the tests check them and can write them out for a look.
enum Examples {
    /// A deterministic pseudo-random sequence in 0..<1 (no global state).
    struct Noise {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
    }

    static var palette: Palette {
        var palette = Palette()
        palette.register(["SGD", "QSGD (4 bit)", "Top-k & EF", "Sign<SGD>"])
        return palette
    }

    /// Loss curves on a log y axis with 10–90 % bands, a NaN gap, a threshold and an event.
    static var lossCurves: LineChart {
        var chart = LineChart(title: "Training loss (median of 8 runs, 10–90 % band)", xLabel: "step", yLabel: "loss", yScale: .log)
        chart.palette = palette
        var noise = Noise(state: 7)
        let steps = (0...400).map { Double($0 * 25) }
        for (k, name) in ["SGD", "QSGD (4 bit)", "Top-k & EF", "Sign<SGD>"].enumerated() {
            let rate = [1.0, 0.8, 0.65, 0.5][k]
            let median = steps.map { 2.3 * exp(-rate * $0 / 2500) + 0.02 * Double(k + 1) + 0.01 * noise.next() }
            var y = median
            if k == 2 { for i in 180..<190 { y[i] = .nan } }
            let band = Band(lower: median.map { $0 * 0.8 }, upper: median.map { $0 * 1.25 })
            chart.add(Series(name: name, x: steps, y: y, band: band, style: k == 3 ? .dashed : nil))
        }
        chart.add(.horizontal(at: 0.1, label: "plateau threshold"))
        chart.add(.vertical(at: 6000, label: "escape step"))
        return chart
    }

    /// A log–log rate plot with a least-squares power-law fit.
    static var rateFit: LineChart {
        var chart = LineChart(title: "Error vs. number of steps", xLabel: "T (steps)", yLabel: "‖∇f‖²", xScale: .log, yScale: .log)
        var noise = Noise(state: 3)
        let t = (0..<14).map { pow(10, 1 + Double($0) * 0.3) }
        let error = t.map { 40 * pow($0, -1.0) * exp(0.3 * (noise.next() - 0.5)) }
        chart.add(Series(name: "measured", x: t, y: error, style: .points))
        if let fit = LinearFit.leastSquares(x: t, y: error, xScale: .log, yScale: .log) { chart.add(fit) }
        return chart
    }

    /// Escape steps per method as a strip plot, some runs that never escaped.
    static var escapeSteps: DistributionChart {
        var chart = DistributionChart(title: "Escape step from the saddle", xLabel: "method", yLabel: "escape step", yScale: .log)
        chart.palette = palette
        var noise = Noise(state: 11)
        let methods = ["SGD", "QSGD (4 bit)", "Top-k & EF", "Sign<SGD>"]
        for (k, name) in methods.enumerated() {
            var samples = (0..<(5 + k)).map { _ in 300 * pow(2, Double(k)) * exp(0.6 * noise.next()) }
            if k == 3 { samples += [.infinity, .infinity] }
            chart.add(DistributionChart.Group(name: name, samples: samples))
        }
        chart.add(.horizontal(at: 2000, label: "budget / 5"))
        return chart
    }

    /// Final loss over step size × workers, with a fitted stability boundary.
    static var heatMap: HeatMap {
        let steps = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
        let workers = [1.0, 2, 4, 8, 16]
        let values = workers.map { w in steps.map { s in s * w > 0.5 ? Double.nan : 0.05 + 1 / (1 + 200 * s * sqrt(w)) } }
        var map = HeatMap(
            title: "Final loss", xLabel: "step size η", yLabel: "workers W",
            columns: .values(steps, scale: .log), rows: .values(workers, scale: .log), values: values
        )
        map.colorLabel = "loss"
        map.showsValues = true
        map.add(overlay: Series(name: "fitted boundary η·W = 0.5", x: workers.map { 0.5 / $0 }, y: workers, style: SeriesStyle(color: .vermillion, marker: .circle)))
        return map
    }

    /// Loss, gradient norm and λ_min of one run stacked on a shared x axis.
    static var panel: Panel {
        let steps = (0...200).map { Double($0 * 10) }
        var loss = LineChart(title: "", xLabel: "step", yLabel: "loss", yScale: .log)
        loss.add(Series(name: "loss", x: steps, y: steps.map { 1 + exp(-$0 / 300) }, style: SeriesStyle(color: .blue)))
        loss.legend = .hidden
        var grad = LineChart(xLabel: "step", yLabel: "‖g‖", yScale: .log)
        grad.add(Series(name: "‖g‖", x: steps, y: steps.map { 1e-3 + exp(-$0 / 200) }, style: SeriesStyle(color: .vermillion)))
        grad.legend = .hidden
        var lambda = LineChart(xLabel: "step", yLabel: "λ_min")
        lambda.add(Series(name: "λ_min", x: steps, y: steps.map { -0.5 * exp(-$0 / 500) + 0.1 }, style: SeriesStyle(color: .bluishGreen)))
        lambda.add(.horizontal(at: 0, label: "λ = 0"))
        lambda.legend = .hidden
        var panel = Panel(title: "One run: loss, gradient norm, smallest eigenvalue", sharesX: true)
        panel.add(loss)
        panel.add(grad)
        panel.add(lambda)
        return panel
    }

    /// Ten series with long names: the legend has to go outside.
    static var crowded: LineChart {
        var chart = LineChart(title: "Ten methods", xLabel: "communicated bits", yLabel: "accuracy", xScale: .log)
        let x = (0...60).map { pow(10, 3 + Double($0) / 10) }
        for k in 0..<10 {
            let y = x.map { 1 / (1 + exp(-(log10($0) - 4 - Double(k) * 0.2) * 2)) - 0.02 * Double(k) }
            chart.add(Series(name: "method \(k) with a long descriptive name", x: x, y: y))
        }
        return chart
    }

    /// A heat map over named categories, slanted labels, many cells.
    static var categoryHeatMap: HeatMap {
        let compressors = ["none", "QSGD 2 bit", "QSGD 4 bit", "QSGD 8 bit", "Top-k 1 %", "Top-k 10 %", "Rand-k 1 %", "sign", "PowerSGD r=2", "PowerSGD r=4"]
        let problems = ["quadratic", "saddle", "tensor PCA", "MLP / MNIST", "CNN / CIFAR-10"]
        let values = problems.indices.map { p in compressors.indices.map { c in sin(Double(p * 10 + c)) * 5 } }
        var map = HeatMap(title: "Relative slow-down (%)", xLabel: "compressor", yLabel: "problem",
                          columns: .categories(compressors), rows: .categories(problems), values: values)
        map.colorLabel = "slow-down (%)"
        return map
    }

    /// Four charts of different kinds in a 2 × 2 grid.
    static var grid: Panel {
        var panel = Panel(title: "Summary", columns: 2)
        panel.add(rateFit)
        panel.add(escapeSteps)
        panel.add(heatMap)
        panel.add(lossCurves)
        return panel
    }

    /// Every example with a file name.
    static var all: [(String, any Chart, Double, Double)] {
        [
            ("line", lossCurves, 640, 400),
            ("scatter-fit", rateFit, 560, 400),
            ("strip", escapeSteps, 560, 400),
            ("heatmap", heatMap, 600, 420),
            ("panel", panel, 640, 640),
            ("crowded", crowded, 640, 400),
            ("heatmap-categories", categoryHeatMap, 640, 400),
            ("small", lossCurves, 360, 240),
            ("panel-grid", grid, 1100, 800),
        ]
    }
}
