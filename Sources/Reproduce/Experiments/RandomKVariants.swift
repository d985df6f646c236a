import Distributed
import Foundation
import Plotting

/// fig2-plateau's RandomK study: run as the algorithm specifies it (0.1% of
/// the coordinates, error feedback, η = 0.1, no rescaling), RandomK does not
/// give the paper's picture, so the full form adds controlled variants, each
/// changing one thing and each labelled as a variant (the defaults stay as
/// specified):
///
/// - error feedback with a ten times smaller step, η = 0.01, without noise,
///   with σ = 0.01, and with σ = 0.1 (the noise that moves x as far a step
///   as σ = 0.01 does at η = 0.1);
/// - no error feedback at η = 0.1, which is also RandomK with the unbiased
///   d/K rescaling at η = 10⁻⁴ (the update η·C(g) is the same);
/// - no error feedback with the unbiased d/K rescaling at η = 0.1, run as
///   the unscaled compressor at η = 0.1·d/K = 100 (the same update).
struct RandomKVariant: Sendable {
    /// The group label, which names the variant.
    let group: String
    let method: String
    let lr: String
    /// What the variant isolates.
    let question: String

    static let all: [RandomKVariant] = [
        RandomKVariant(group: "randomk variant: error feedback, η = 0.01", method: "ef-sgd", lr: "0.01",
                       question: "is η = 0.1 too large for memory sent once in d/K = 1,000 steps?"),
        RandomKVariant(group: "randomk variant: error feedback, η = 0.01, σ = 0.01", method: "alg1:sigma=0.01,reset=off", lr: "0.01",
                       question: "does the paper's noise help at the smaller step?"),
        RandomKVariant(group: "randomk variant: error feedback, η = 0.01, σ = 0.1", method: "alg1:sigma=0.1,reset=off", lr: "0.01",
                       question: "does noise that moves x as far a step as σ = 0.01 at η = 0.1 help?"),
        RandomKVariant(group: "randomk variant: no error feedback, η = 0.1 (= d/K scaling at η = 10⁻⁴)", method: "sgd", lr: "0.1",
                       question: "is error feedback the cause?"),
        RandomKVariant(group: "randomk variant: no error feedback, d/K scaling, η = 0.1 (run as η = 100)", method: "sgd", lr: "100",
                       question: "does the unbiased rescaling train at the paper's step?"),
    ]

    /// The groups of RandomK as specified (from the main grid), shown beside the variants.
    static let specified = ["randomk 0.1%", "randomk 0.1%, σ = 0.01"]

    /// A group reaches the plateau when its median final loss is at most this
    /// (the plateau sits at 0.122–0.125; the start is about 0.18).
    static let plateauLoss = 0.13

    struct Outcome {
        var group: String
        var finished: Int
        var diverged: Int
        var medianFinalLoss: Double
        var escaped: Int
        var medianPeakErrorNorm: Double
        var reachesPlateau: Bool { finished > 0 && medianFinalLoss <= plateauLoss }
        /// At least half of the runs (diverged ones included) left the plateau.
        var escapes: Bool { finished + diverged > 0 && 2 * escaped >= finished + diverged }
    }

    static func outcome(_ group: String, data: ExperimentData, threshold: Double) -> Outcome {
        let runs = data.group(group)
        let diverged = data.failures.filter { $0.spec.group == group }.count
        let finals = runs.compactMap { $0.records.last?.loss }.filter(\.isFinite)
        let escaped = runs.filter { r in r.records.contains { $0.step > 0 && $0.loss < threshold } }.count
        let peaks = runs.map { r in r.records.map(\.errorNorm).filter(\.isFinite).max() ?? 0 }
        return Outcome(group: group, finished: finals.count, diverged: diverged + (runs.count - finals.count),
                       medianFinalLoss: Statistics.median(finals), escaped: escaped, medianPeakErrorNorm: Statistics.median(peaks))
    }

    /// The study's table, plot and finding (a sentence computed from the data).
    static func analyze(_ data: ExperimentData, steps: Int, threshold: Double,
                        into directory: URL) throws -> (table: ReportTable, plot: PlotReference, finding: String) {
        let groups = specified.map { ($0, "as specified") } + all.map { ($0.group, $0.question) }
        let outcomes = groups.map { outcome($0.0, data: data, threshold: threshold) }
        let rows = zip(groups, outcomes).map { g, o -> [String] in
            [g.0, g.1, "\(o.finished)" + (o.diverged > 0 ? " (+\(o.diverged) diverged)" : ""),
             o.finished > 0 ? String(format: "%.4f", o.medianFinalLoss) : "—",
             "\(o.escaped)/\(o.finished + o.diverged)", o.finished > 0 ? String(format: "%.3g", o.medianPeakErrorNorm) : "—"]
        }
        let table = ReportTable(
            caption: "RandomK 0.1%: as specified and controlled variants (\(steps) steps; a run escapes when its loss falls below \(threshold); ‖e‖: the error memory's largest norm along the run)",
            header: ["configuration", "question", "runs", "median final loss", "escaped", "median peak ‖e‖"], rows: rows)

        let variants = Array(outcomes.dropFirst(specified.count))
        let training = variants.filter(\.reachesPlateau).map(\.group)
        let paperPicture = variants.filter { $0.reachesPlateau && $0.escapes && $0.group.contains("σ") }.map(\.group)
        var finding = "RandomK study: "
        finding += training.isEmpty ? "no variant reaches the plateau (median final loss ≤ \(plateauLoss)) within \(steps) steps; "
            : "variants that reach the plateau (median final loss ≤ \(plateauLoss)): \(training.joined(separator: "; ")); "
        finding += paperPicture.isEmpty
            ? "none gives the paper's picture (stable training and escape with noise in at least half of the runs)."
            : "the paper's picture (stable training, escape with noise in at least half of the runs) comes from: \(paperPicture.joined(separator: "; "))."
        // The mechanism, in the runs' own numbers: the memory of a coordinate
        // is sent about once in d/K steps, so at η = 0.1 error feedback moves
        // a sent coordinate about as far as the d/K-rescaled compressor does.
        let asSpecified = outcomes[0], scaled = outcomes[specified.count + 4], small = outcomes[specified.count]
        if asSpecified.finished > 0, scaled.finished > 0, small.finished > 0 {
            finding += String(format: " Why, in these runs: with error feedback a coordinate is sent about once in d/K = 1,000 steps and then carries the memory of those steps (its norm grows by about ‖g‖ a step, median peak %.3g as specified), so at η = 0.1 a sent coordinate moves about as far as under the unbiased d/K rescaling at η = 0.1; as specified the median final loss is %.4f, with the d/K rescaling %.4f, and %.4f at η = 0.01, where the delayed steps are ten times shorter.",
                              asSpecified.medianPeakErrorNorm, asSpecified.medianFinalLoss, scaled.medianFinalLoss, small.medianFinalLoss)
        }

        var loss = LineChart(title: "RandomK 0.1%: as specified and variants", xLabel: "step", yLabel: "loss (512 training images)")
        var memory = LineChart(xLabel: "step", yLabel: "‖e‖ (error memory)", yScale: .log)
        loss.palette = ReportStyle.palette; memory.palette = ReportStyle.palette
        for (g, _) in groups {
            let runs = data.group(g)
            let l = GroupCurve(runs) { $0.loss }
            if !l.steps.isEmpty { loss.add(Series(name: g, x: l.steps, y: l.mean, band: Band(lower: l.low, upper: l.high))) }
            let e = GroupCurve(runs) { $0.errorNorm > 0 ? $0.errorNorm : nil }
            if !e.steps.isEmpty { memory.add(Series(name: g, x: e.steps, y: e.mean)) }
        }
        loss.add(.horizontal(at: threshold, label: "plateau threshold"))
        var panel = Panel(title: "", sharesX: true)
        panel.add(loss); panel.add(memory)
        let plot = try ReportStyle.write(panel, file: "randomk-variants.svg",
                                         caption: "RandomK 0.1%: the loss (mean over seeds, band 10%–90%) and the error memory's norm, as specified and under each labelled variant.",
                                         into: directory, width: ReportStyle.width, height: 620)
        return (table, plot, finding)
    }
}
