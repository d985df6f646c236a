import Foundation
import Plotting

/// relu-netbench's plot: one horizontal bar a run, computation then
/// communication stacked, in seconds; the paper's two EC2 rows below ours.
enum ReluNetbenchPlots {
    /// Height for `rows` bars.
    static func height(rows: Int) -> Double { 116 + 34 * Double(rows) }

    static func chart(results: [ReluNetbench.Result], baseline: String,
                      paper: (sgd: (comm: Double, compute: Double, total: Double), qsgd: (comm: Double, compute: Double, total: Double)))
        -> TimeSplitChart {
        var bars = results.map { r in
            TimeSplitChart.Bar(label: "\(r.rate == "none" ? "unshaped" : r.rate), \(r.method)", compute: r.computeSeconds,
                               communication: r.communicationSeconds)
        }
        bars.append(.init(label: "paper (EC2, 40 workers), SGD float64", compute: paper.sgd.compute, communication: paper.sgd.comm))
        bars.append(.init(label: "paper (EC2, 40 workers), QSGD int8", compute: paper.qsgd.compute, communication: paper.qsgd.comm))
        return TimeSplitChart(title: "Run time: computation and communication (rank 0)", bars: bars)
    }
}

/// Horizontal stacked bars of computation and communication seconds, with
/// the total at each bar's end: a small chart of its own, as SVG text.
struct TimeSplitChart: Chart {
    struct Bar: Sendable {
        var label: String
        var compute: Double
        var communication: Double
        var total: Double { compute + communication }
    }

    var title: String
    var bars: [Bar]
    var computeColor = Color.blue
    var communicationColor = Color.vermillion

    func svg(width: Double, height: Double) -> String {
        let left = min(330.0, width * 0.45), right = 70.0, top = 40.0, rowHeight = 34.0, barHeight = 20.0
        let plotWidth = max(10, width - left - right)
        let maxTotal = max(bars.map(\.total).max() ?? 1, 1e-9)
        let ticks = Self.ticks(upTo: maxTotal)
        let scale = plotWidth / (ticks.last ?? maxTotal)
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"Helvetica, Arial, sans-serif\">\n"
        s += "<title>\(Markup.escape(title))</title>\n"
        s += "<text x=\"\(f(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(Markup.escape(title))</text>\n"
        let axisY = top + rowHeight * Double(bars.count) + 4
        for t in ticks {
            let x = left + t * scale
            s += "<line x1=\"\(f(x))\" y1=\"\(f(top - 4))\" x2=\"\(f(x))\" y2=\"\(f(axisY))\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(f(x))\" y=\"\(f(axisY + 16))\" text-anchor=\"middle\" font-size=\"11\">\(Markup.escape(NumberFormatter.seconds(t)))</text>\n"
        }
        s += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(axisY + 34))\" text-anchor=\"middle\" font-size=\"12\">seconds</text>\n"
        for (i, b) in bars.enumerated() {
            let y = top + rowHeight * Double(i)
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(y + barHeight * 0.72))\" text-anchor=\"end\" font-size=\"12\">\(Markup.escape(b.label))</text>\n"
            s += "<rect x=\"\(f(left))\" y=\"\(f(y))\" width=\"\(f(b.compute * scale))\" height=\"\(f(barHeight))\" fill=\"\(computeColor.hex)\"/>\n"
            s += "<rect x=\"\(f(left + b.compute * scale))\" y=\"\(f(y))\" width=\"\(f(b.communication * scale))\" height=\"\(f(barHeight))\" fill=\"\(communicationColor.hex)\"/>\n"
            s += "<text x=\"\(f(left + b.total * scale + 5))\" y=\"\(f(y + barHeight * 0.72))\" font-size=\"11\">\(Markup.escape(String(format: "%.2f s", b.total)))</text>\n"
        }
        let ly = height - 10
        s += "<rect x=\"\(f(left))\" y=\"\(f(ly - 10))\" width=\"12\" height=\"12\" fill=\"\(computeColor.hex)\"/><text x=\"\(f(left + 16))\" y=\"\(f(ly))\" font-size=\"12\">computation</text>\n"
        s += "<rect x=\"\(f(left + 120))\" y=\"\(f(ly - 10))\" width=\"12\" height=\"12\" fill=\"\(communicationColor.hex)\"/><text x=\"\(f(left + 136))\" y=\"\(f(ly))\" font-size=\"12\">communication</text>\n"
        return s + "</svg>\n"
    }

    /// Round ticks from 0 covering `maxValue` (steps of 1, 2 or 5 × 10ⁿ, about 5 of them).
    static func ticks(upTo maxValue: Double) -> [Double] {
        let raw = maxValue / 5
        let p = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * p }.first { $0 >= raw } ?? 10 * p
        let n = Int(ceil(maxValue / step - 1e-9))
        return (0...max(1, n)).map { Double($0) * step }
    }
}

private enum NumberFormatter {
    static func seconds(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%g", v) }
}
