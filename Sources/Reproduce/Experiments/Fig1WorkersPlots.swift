import Distributed
import Foundation
import Plotting

/// fig1-workers' plots: per setting, training loss and test accuracy
/// against epochs and against the bits a worker uploaded (log axis), one
/// line a compressor (mean over seeds, 10%–90% band); and the learning
/// check, uncompressed SGD's test accuracy in every setting.
enum Fig1WorkersPlots {
    static var palette: Palette {
        // Uncompressed in black, then less and less upload: blue, green, orange.
        var p = ReportStyle.palette
        for (c, colour) in zip(Fig1Workers.compressors, [Color.black, .blue, .bluishGreen, .orange]) {
            p.setStyle(SeriesStyle(color: colour), for: c.label)
        }
        return p
    }

    /// The mean of `value` over a group's runs at each logged step, with the
    /// epoch and the upload bits a worker at that step.
    struct Curve {
        var epochs: [Double] = []
        var bits: [Double] = []
        var curve: GroupCurve
    }

    static func curve(_ runs: [RunResult], stepsPerEpoch: Int, _ value: @escaping (StepRecord) -> Double?) -> Curve {
        let c = GroupCurve(runs, value)
        var bitsAt: [Int: Double] = [:]
        for r in runs.prefix(1) { for rec in r.records { bitsAt[rec.step] = Double(rec.uploadBits) } }
        return Curve(epochs: c.steps.map { $0 / Double(stepsPerEpoch) }, bits: c.steps.map { bitsAt[Int($0)] ?? .nan }, curve: c)
    }

    static func write(data: ExperimentData, settings: [Fig1Workers.Setting], into directory: URL) throws -> [PlotReference] {
        var refs: [PlotReference] = []
        let accuracy: (StepRecord) -> Double? = { $0.metrics["test_accuracy"].map { 100 * $0 } }
        let loss: (StepRecord) -> Double? = { $0.loss }
        for (i, s) in settings.enumerated() {
            var lossEpochs = LineChart(title: s.label, xLabel: "epoch", yLabel: "training loss")
            var lossBits = LineChart(xLabel: "upload bits a worker", yLabel: "training loss", xScale: .log)
            var accEpochs = LineChart(xLabel: "epoch", yLabel: "test accuracy (%)")
            var accBits = LineChart(xLabel: "upload bits a worker", yLabel: "test accuracy (%)", xScale: .log)
            let colours = palette
            lossEpochs.palette = colours; lossBits.palette = colours; accEpochs.palette = colours; accBits.palette = colours
            for c in Fig1Workers.compressors {
                let runs = data.group(Fig1Workers.group(s, c))
                guard !runs.isEmpty else { continue }
                let l = curve(runs, stepsPerEpoch: s.stepsPerEpoch, loss)
                let a = curve(runs, stepsPerEpoch: s.stepsPerEpoch, accuracy)
                let bandL = runs.count > 1 ? Band(lower: l.curve.low, upper: l.curve.high) : nil
                let bandA = runs.count > 1 ? Band(lower: a.curve.low, upper: a.curve.high) : nil
                if !l.epochs.isEmpty {
                    lossEpochs.add(Series(name: c.label, x: l.epochs, y: l.curve.mean, band: bandL))
                    lossBits.add(Series(name: c.label, x: l.bits, y: l.curve.mean, band: bandL))
                }
                if !a.epochs.isEmpty {
                    accEpochs.add(Series(name: c.label, x: a.epochs, y: a.curve.mean, band: bandA, style: SeriesStyle(marker: .circle)))
                    accBits.add(Series(name: c.label, x: a.bits, y: a.curve.mean, band: bandA, style: SeriesStyle(marker: .circle)))
                }
            }
            accEpochs.add(.horizontal(at: 10, label: "chance"))
            accBits.add(.horizontal(at: 10, label: "chance"))
            // Filled row by row: the left column shares epochs, the right one bits.
            var panel = Panel(title: "", columns: 2, sharesX: true)
            panel.add(lossEpochs); panel.add(lossBits); panel.add(accEpochs); panel.add(accBits)
            refs.append(try ReportStyle.write(panel, file: "setting-\(i + 1).svg",
                                              caption: "\(s.label) (\(s.model), \(s.partition) shards): training loss and test accuracy against epochs (left) and against the bits a worker uploaded (right, log axis; the first point is after the first logged interval). One line a compressor, mean over seeds.",
                                              into: directory, width: 960, height: 640))
        }
        var check = LineChart(title: "Learning check: uncompressed SGD", xLabel: "epoch", yLabel: "test accuracy (%)")
        for s in settings {
            let runs = data.group(Fig1Workers.group(s, Fig1Workers.compressors[0]))
            let a = curve(runs, stepsPerEpoch: s.stepsPerEpoch, accuracy)
            guard !runs.isEmpty, !a.epochs.isEmpty else { continue }
            check.add(Series(name: s.label, x: a.epochs, y: a.curve.mean, style: SeriesStyle(marker: .circle)))
        }
        check.add(.horizontal(at: 10, label: "chance"))
        check.add(.horizontal(at: 100 * Fig1Workers.learnsAccuracy, label: "learns"))
        refs.append(try ReportStyle.write(check, file: "learning-check.svg",
                                          caption: "Uncompressed SGD's test accuracy in each setting: the specified one (BatchNorm over one-class batches) against the variants that remove the one-class batches (iid shards) or BatchNorm (MLP).",
                                          into: directory))
        return refs
    }
}
