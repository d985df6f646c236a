import CSGDCore
import Foundation

/// Kalan, Soltanolkotabi & Avestimehr, *Fitting ReLUs via SGD and Quantized
/// SGD* (2019), Figure 1: on the planted ReLU model, mini-batch SGD (η = m/d)
/// and QSGD with b = 7 bits a coordinate (η = m·b/(9d)) converge linearly to
/// w*, QSGD at a rate comparable to SGD's.
public struct ReluRate: Experiment {
    public init() {}
    public var name: String { "relu-rate" }
    public var title: String { "Planted ReLU: linear convergence of SGD and QSGD" }
    public var source: String { "Kalan et al. 2019, Fitting ReLUs via SGD and Quantized SGD, Figure 1" }
    public var claim: String {
        "With d = 1000, n = 10000, w* ~ N(200, 3) entry-wise and mini-batch m = 800, SGD and QSGD (b = 7) both drive the relative error ‖w − w*‖/‖w*‖ down linearly (a straight line on a log axis), QSGD about as fast as SGD."
    }

    static let groups: [(name: String, method: String)] = [
        ("SGD", "sgd:batch=800"),
        ("QSGD b=7", "qsgd-sgd:batch=800,bits=7"),
    ]

    public func runs(_ options: ExperimentOptions) throws -> [RunSpec] {
        let seeds = options.seeds(full: 5, quick: 2)
        let steps = options.quick ? 300 : 2000
        return Self.groups.flatMap { g in
            (1...seeds).map { s in
                RunSpec(arguments: ["optimize", "--problem", "relu:d=1000,n=10000,seed=\(s)", "--method", g.method,
                                    "--steps", "\(steps)", "--seed", "\(s)", "--log-every", "10"],
                        group: g.name, seed: s)
            }
        }
    }

    /// The geometric phase used for the fit: relative errors between 1e-5 and 0.5.
    static let fitRange = 1e-5...0.5

    public func analyze(_ data: ExperimentData, options: ExperimentOptions, into directory: URL) throws -> ExperimentAnalysis {
        var fits: [String: Statistics.LineFit] = [:]
        var rows: [[String]] = []
        var final: [String: Double] = [:]
        var curves: [(String, GroupCurve)] = []
        for g in Self.groups {
            let runs = data.group(g.name)
            let curve = GroupCurve(runs) { $0.relativeError }
            curves.append((g.name, curve))
            let inRange = zip(curve.steps, curve.mean).filter { Self.fitRange.contains($0.1) }
            let fit = Statistics.fitLine(x: inRange.map(\.0), y: inRange.map { log10($0.1) })
            fits[g.name] = fit
            final[g.name] = Statistics.median(runs.compactMap(\.summary.relativeError))
            rows.append([g.name, "\(runs.count)", fit.map { String(format: "%.5f ± %.5f", $0.slope, $0.slopeHalfWidth95) } ?? "—",
                         fit.map { String(format: "%.4f", pow(10, $0.slope)) } ?? "—",
                         fit.map { String(format: "%.4f", $0.rSquared) } ?? "—",
                         String(format: "%.2e", final[g.name]!)])
        }
        let rule = "holds when, for SGD and for QSGD, log10 of the mean relative error falls on a line over the geometric phase (errors in [1e-5, 0.5]): slope < 0 with its 95% interval below 0 and R² ≥ 0.95; and QSGD's slope is at least half of SGD's. differs when neither method converges linearly; partly otherwise."
        var checks: [Verdict.Check] = []
        for g in Self.groups {
            if let f = fits[g.name] {
                checks.append(.init("\(g.name) linear", passed: f.slopeHigh95 < 0 && f.rSquared >= 0.95,
                                    detail: String(format: "slope %.5f/step (95%% to %.5f), R² %.4f", f.slope, f.slopeHigh95, f.rSquared)))
            } else {
                checks.append(.init("\(g.name) linear", passed: false, detail: "fewer than 3 logged points in the geometric phase"))
            }
        }
        if let s = fits["SGD"], let q = fits["QSGD b=7"] {
            let ratio = q.slope / s.slope
            checks.append(.init("comparable rate", passed: ratio >= 0.5, detail: String(format: "QSGD/SGD slope ratio %.2f", ratio)))
        } else {
            checks.append(.init("comparable rate", passed: false, detail: "no fit"))
        }
        var verdict = Verdict.combining(checks, rule: rule)
        if !checks[0].passed && !checks[1].passed { verdict.kind = .differs }
        var figures: [String: Double] = [:]
        for (k, f) in fits { figures["\(k) slope"] = f.slope }
        for (k, v) in final { figures["\(k) final relative error"] = v }
        let ours = Self.groups.map { g in
            fits[g.name].map { String(format: "%@: error × %.4f a step (R² %.3f), median final %.1e", g.name, pow(10, $0.slope), $0.rSquared, final[g.name] ?? .nan) }
                ?? "\(g.name): no linear phase"
        }.joined(separator: "; ")
        let plots = try ReluRatePlots.write(curves: curves, fits: fits, into: directory)
        return ExperimentAnalysis(
            paper: "straight lines on a log axis for SGD and QSGD (b = 7), QSGD's close to SGD's",
            ours: ours, verdict: verdict, figures: figures,
            tables: [ReportTable(caption: "Fitted linear rates (least squares of log10 mean relative error over the geometric phase)",
                                 header: ["method", "runs", "slope (log10/step, 95%)", "contraction a step", "R²", "median final error"],
                                 rows: rows)],
            plots: plots,
            notes: options.quick ? ["quick form: 300 steps and \(options.seeds(full: 5, quick: 2)) seeds a method instead of 2000 steps and 5"] : [])
    }
}
