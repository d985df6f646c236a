import Distributed
import Foundation

/// Avdiukhin & Yaroslavtsev, *Escaping Saddle Points with Compressed SGD*
/// (NeurIPS 2021), Figure 2: on the MNIST autoencoder (batch 64, η = 0.1),
/// SGD without noise sits on a plateau (‖g‖ ≈ 0, the loss flat) in epochs
/// 1–3, for no compression, TopK 0.1% and RandomK 0.1% alike; Gaussian noise
/// σ = 0.01 a coordinate shortens the plateau. Ours adds λ_min along the
/// run: negative on the plateau, a certificate that it is a saddle region.
public struct Fig2Plateau: Experiment {
    public init() {}
    public var name: String { "fig2-plateau" }
    public var title: String { "Autoencoder plateau: compressed SGD escapes, noise escapes sooner" }
    public var source: String { "Avdiukhin & Yaroslavtsev 2021, Escaping Saddle Points with Compressed SGD, Figure 2" }
    public var claim: String {
        "On the MNIST autoencoder (batch 64, η = 0.1), SGD without noise sits on a plateau (‖g‖ ≈ 0, loss flat) during epochs 1–3, with no compression, TopK 0.1% and RandomK 0.1% alike; adding Gaussian noise σ = 0.01 a coordinate makes every one of them leave the plateau sooner."
    }

    /// The loss (fixed 512-image training batch) under which a run has left
    /// the plateau: the plateau sits at 0.125–0.122 on Fashion-MNIST.
    public static let threshold = 0.115
    /// One epoch of Fashion-MNIST's 60,000 images at batch 64.
    public static let epoch = 938

    struct Compressor { let label: String; let spec: String? }
    static let compressors = [
        Compressor(label: "no compression", spec: nil),
        Compressor(label: "topk 0.1%", spec: "topk:0.001"),
        Compressor(label: "randomk 0.1%", spec: "randomk:0.001"),
    ]

    /// The group of a compressor with or without noise.
    static func group(_ c: Compressor, noise: Bool) -> String { noise ? "\(c.label), σ = 0.01" : c.label }

    /// The compressors of a form: the quick form runs the uncompressed
    /// plateau only (the compressors need the full three epochs to escape).
    static func compressors(_ options: ExperimentOptions) -> [Compressor] {
        options.quick ? [compressors[0]] : compressors
    }

    /// Steps, log interval and certification interval of a form.
    static func schedule(_ options: ExperimentOptions) -> (steps: Int, log: Int, certify: Int) {
        options.quick ? (2000, 50, 500) : (3 * epoch, 50, 250)
    }

    /// The common arguments of a run on the autoencoder (batch 64, one thread, 1,000 test images).
    static func trainArguments(method: String, lr: String, compressor: String?, steps: Int, seed: Int, log: Int) -> [String] {
        var args = ["train", "--model", "mnist-ae", "--batch", "64", "--lr", lr, "--method", method]
        if let compressor { args += ["--compressor", compressor] }
        return args + ["--steps", "\(steps)", "--seed", "\(seed)", "--threads", "1", "--log-every", "\(log)", "--test-size", "1000"]
    }

    public func runs(_ options: ExperimentOptions) throws -> [RunSpec] {
        let seeds = options.seeds(full: 10, quick: 3)
        let (steps, log, certify) = Self.schedule(options)
        var out: [RunSpec] = []
        for c in Self.compressors(options) {
            for noise in [false, true] {
                // Without noise: SGD (uncompressed) or SGD with error feedback
                // (Algorithm 1 with r = 0); with noise: Algorithm 1, σ = 0.01, no reset.
                let method = noise ? "alg1:sigma=0.01,reset=off" : (c.spec == nil ? "sgd" : "ef-sgd")
                for s in 1...seeds {
                    var args = Self.trainArguments(method: method, lr: "0.1", compressor: c.spec, steps: steps, seed: s, log: log)
                    // λ_min along the run for the first seed of each configuration.
                    if s == 1 { args += ["--certify", "--certify-every", "\(certify)", "--eps", "0.01"] }
                    out.append(RunSpec(arguments: args, group: Self.group(c, noise: noise), seed: s))
                }
            }
        }
        if !options.quick {
            for v in RandomKVariant.all {
                for s in 1...options.seeds(full: 3, quick: 3) {
                    out.append(RunSpec(arguments: Self.trainArguments(method: v.method, lr: v.lr, compressor: "randomk:0.001",
                                                                      steps: steps, seed: s, log: log),
                                       group: v.group, seed: s))
                }
            }
        }
        return out
    }

    /// The first logged step at which the loss is below the threshold, or nil.
    static func escapeStep(_ r: RunResult) -> Int? {
        r.records.first { $0.step > 0 && $0.loss < threshold }?.step
    }

    public func analyze(_ data: ExperimentData, options: ExperimentOptions, into directory: URL) throws -> ExperimentAnalysis {
        let (steps, _, _) = Self.schedule(options)
        let censored = Double(steps + 1)
        var medians: [String: Double] = [:]
        var escaped: [String: (Int, Int)] = [:]
        var rows: [[String]] = []
        for c in Self.compressors(options) {
            for noise in [false, true] {
                let g = Self.group(c, noise: noise)
                let runs = data.group(g)
                let es = runs.map { Self.escapeStep($0).map(Double.init) ?? censored }
                let failed = data.failures.filter { $0.spec.group == g }.count
                medians[g] = Statistics.median(es + Array(repeating: censored, count: failed))
                escaped[g] = (es.filter { $0 < censored }.count, runs.count + failed)
                let finals = runs.compactMap { $0.records.last?.loss }
                rows.append([g, "\(escaped[g]!.0)/\(escaped[g]!.1)",
                             medians[g]! >= censored ? "> \(steps)" : String(format: "%.0f", medians[g]!),
                             finals.isEmpty ? "—" : String(format: "%.4f", Statistics.median(finals)),
                             failed > 0 ? "\(failed) diverged" : ""])
            }
        }
        // λ_min on the plateau: the tracked noise-free uncompressed run, at its
        // certified steps after the first epoch while the loss is still above the threshold.
        let tracked = data.group(Self.group(Self.compressors[0], noise: false)).first { $0.spec.seed == 1 }
        let plateau = tracked?.records.filter { $0.lambdaMin != nil && $0.step >= Self.epoch / 2 && $0.loss >= Self.threshold } ?? []
        let lambda = plateau.compactMap(\.lambdaMin).min()
        let atPlateau = plateau.first { $0.lambdaMin == lambda }

        var checks: [Verdict.Check] = []
        let base = Self.group(Self.compressors[0], noise: false)
        checks.append(.init("SGD plateaus", passed: (medians[base] ?? 0) > Double(Self.epoch),
                            detail: "median escape step without noise \(Self.describe(medians[base], censored)) (more than one epoch, \(Self.epoch), needed)"))
        for c in Self.compressors(options) {
            let a = medians[Self.group(c, noise: false)], b = medians[Self.group(c, noise: true)]
            let passed = a != nil && b != nil && b! < a!
            checks.append(.init("noise shortens it, \(c.label)", passed: passed,
                                detail: "median escape \(Self.describe(b, censored)) with noise against \(Self.describe(a, censored)) without"))
        }
        if let l = lambda, let p = atPlateau {
            checks.append(.init("saddle certificate", passed: l < 0,
                                detail: String(format: "λ_min = %.4f at step %d (loss %.4f, ‖∇f‖ %.4f)", l, p.step, p.loss, p.gradNorm)))
        } else {
            checks.append(.init("saddle certificate", passed: false, detail: "no λ_min on the plateau in the tracked run"))
        }
        let rule = "holds when SGD without noise stays above the plateau threshold (loss \(Self.threshold) on the fixed 512-image batch) for more than one epoch in the median, noise lowers the median escape step for each compressor the form runs (the three in the full form, no compression only in the quick form; runs that never escape count as escaping after the last step), and λ_min < 0 at a plateau step of the tracked noise-free run; differs when noise shortens the plateau for none of the compressors; partly otherwise."
        var verdict = Verdict.combining(checks, rule: rule)
        if !checks.contains(where: { $0.name.hasPrefix("noise shortens") && $0.passed }) { verdict.kind = .differs }

        var figures: [String: Double] = [:]
        for (g, m) in medians { figures["median escape step: \(g)"] = m }
        if let l = lambda { figures["plateau lambda_min"] = l }
        var notes = [
            "Fashion-MNIST (Debian's dataset-fashion-mnist) stands in for MNIST; the network, batch, η and σ are the paper's.",
            "Without noise the compressed runs use error feedback (Algorithm 1 with r = 0); with noise, Algorithm 1 with σ = 0.01 a coordinate and no reset.",
            "RandomK runs as specified (0.1% of coordinates, error feedback, no rescaling).",
        ]
        if let l = lambda, let p = atPlateau {
            notes.append(String(format: "On the plateau (step %d) ‖∇f‖ = %.4f and λ_min = %.4f. With ε = 0.01 the ε-SOSP test λ_min ≥ −√(ρε) fails for every ρ below λ_min²/ε = %.3f and passes above it (so --certify's default ρ = 1 says yes): a network does not know its ρ, so what the data show is negative curvature at a small gradient, a saddle region, not a minimum.", p.step, p.gradNorm, l, l * l / 0.01))
        }
        if options.quick {
            notes.append("quick form: no compression only, \(steps) steps and \(options.seeds(full: 10, quick: 3)) seeds a configuration instead of the three compressors, 3 epochs (2,814 steps) and 10 seeds")
        }
        var plots = try Fig2Plots.write(data: data, compressors: Self.compressors(options).map { ($0.label, Self.group($0, noise: false), Self.group($0, noise: true)) },
                                        threshold: Self.threshold, censored: censored, into: directory)
        var tables = [ReportTable(caption: "Escape from the plateau (first logged step with loss < \(Self.threshold))",
                                  header: ["configuration", "escaped", "median escape step", "median final loss", ""], rows: rows)]
        if !options.quick {
            let study = try RandomKVariant.analyze(data, steps: steps, threshold: Self.threshold, into: directory)
            tables.append(study.table)
            plots.append(study.plot)
            notes.append(study.finding)
        }
        let ours = Self.compressors(options).map { c in
            "\(c.label): escape \(Self.describe(medians[Self.group(c, noise: true)], censored)) with noise, \(Self.describe(medians[Self.group(c, noise: false)], censored)) without"
        }.joined(separator: "; ") + (lambda.map { String(format: "; plateau λ_min %.3f", $0) } ?? "")
        return ExperimentAnalysis(
            paper: "plateau in epochs 1–3 without noise for all three compressors; noise leaves it sooner (10 runs, 10%/90% bands)",
            ours: ours, verdict: verdict, figures: figures, tables: tables, plots: plots, notes: notes)
    }

    static func describe(_ m: Double?, _ censored: Double) -> String {
        guard let m else { return "—" }
        return m >= censored ? "never (> \(Int(censored) - 1))" : "step \(Int(m))"
    }
}
