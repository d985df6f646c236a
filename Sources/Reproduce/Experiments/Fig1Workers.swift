import Distributed
import Foundation

/// Avdiukhin & Yaroslavtsev, *Escaping Saddle Points with Compressed SGD*
/// (NeurIPS 2021), Figure 1: distributed SGD over 10 workers that each hold
/// one class, batch 8 a worker, η = 0.1, with RandomK keeping 100%, 10%, 1%
/// and 0.1% of the coordinates (error feedback, no noise): 10% and 1%
/// converge about as fast as uncompressed SGD while uploading 10× and 100×
/// fewer bits.
///
/// The paper trains ResNet-34 on CIFAR-10; on two CPU cores we train a
/// ResNet-8 on Fashion-MNIST (the specified setting). A worker that holds one
/// class computes BatchNorm's batch statistics over that class alone, so the
/// specified setting is run beside two labelled variants that each remove one
/// half of that interaction: the same ResNet on iid shards, and a network
/// without BatchNorm (an MLP) on one-class shards. The verdict is stated for
/// the specified setting first; the variants say why it looks as it does.
public struct Fig1Workers: Experiment {
    public init() {}
    public var name: String { "fig1-workers" }
    public var title: String { "Ten one-class workers: RandomK 10% and 1% against uncompressed SGD" }
    public var source: String { "Avdiukhin & Yaroslavtsev 2021, Escaping Saddle Points with Compressed SGD, Figure 1" }
    public var claim: String {
        "With 10 workers holding one class each (batch 8 a worker, η = 0.1), SGD with RandomK keeping 10% or 1% of the coordinates (error feedback) converges about as fast as uncompressed SGD while uploading 10× and 100× fewer bits."
    }

    /// Workers and the per-worker batch (the paper's).
    public static let workers = 10
    public static let batch = 8

    /// A compressor of the figure: its label, its RandomK fraction (nil:
    /// uncompressed) and the upload reduction it promises.
    struct Compressor { let label: String; let fraction: Double?; let nominalRatio: Double }
    static let compressors = [
        Compressor(label: "uncompressed (100%)", fraction: nil, nominalRatio: 1),
        Compressor(label: "randomk 10%", fraction: 0.1, nominalRatio: 10),
        Compressor(label: "randomk 1%", fraction: 0.01, nominalRatio: 100),
        Compressor(label: "randomk 0.1%", fraction: 0.001, nominalRatio: 1000),
    ]
    /// The compressors the claim is about.
    static let claimed = [compressors[1], compressors[2]]

    /// One configuration of network and shards, with its schedule.
    struct Setting {
        /// Short key for figures ("specified", "iid", "no-bn").
        let key: String
        /// The label in plots and tables (says whether it is the specified setting or a variant).
        let label: String
        let model: String
        let partition: String
        /// The `--dataset` spec.
        let dataset: String
        /// Training images (the first n of the training set), a multiple of W·B.
        let trainSize: Int
        let epochs: Int
        let testSize: Int
        /// Steps between evaluations of test accuracy, and between log lines.
        let evalEvery: Int
        let logEvery: Int

        var stepsPerEpoch: Int { (trainSize + Fig1Workers.workers * Fig1Workers.batch - 1) / (Fig1Workers.workers * Fig1Workers.batch) }
        var steps: Int { epochs * stepsPerEpoch }
    }

    /// The settings of a form, the specified one first.
    static func settings(_ options: ExperimentOptions) -> [Setting] {
        if options.quick {
            // The pipeline and the verdict's computation (not the science): 400
            // synthetic 8×8 images of 10 classes, so that it needs no data set
            // and runs in seconds with a debug build.
            let data = "synthetic:n=400,shape=1x8x8,test=100"
            return [
                Setting(key: "specified", label: "specified: ResNet-8 (BatchNorm), one class a worker", model: "resnet:8,width=4",
                        partition: "by-class", dataset: data, trainSize: 400, epochs: 2, testSize: 100, evalEvery: 5, logEvery: 5),
                Setting(key: "iid", label: "variant: ResNet-8, iid shards", model: "resnet:8,width=4",
                        partition: "iid", dataset: data, trainSize: 400, epochs: 2, testSize: 100, evalEvery: 5, logEvery: 5),
                Setting(key: "no-bn", label: "variant: MLP (no BatchNorm), one class a worker", model: "mlp:64-32-10",
                        partition: "by-class", dataset: data, trainSize: 400, epochs: 2, testSize: 100, evalEvery: 5, logEvery: 5),
            ]
        }
        return [
            Setting(key: "specified", label: "specified: ResNet-8 (BatchNorm), one class a worker", model: "resnet:8",
                    partition: "by-class", dataset: "fashion-mnist", trainSize: 12_000, epochs: 3, testSize: 2000, evalEvery: 75, logEvery: 30),
            Setting(key: "iid", label: "variant: ResNet-8, iid shards", model: "resnet:8",
                    partition: "iid", dataset: "fashion-mnist", trainSize: 12_000, epochs: 3, testSize: 2000, evalEvery: 75, logEvery: 30),
            Setting(key: "no-bn", label: "variant: MLP (no BatchNorm), one class a worker", model: "mlp:784-128-10",
                    partition: "by-class", dataset: "fashion-mnist", trainSize: 60_000, epochs: 3, testSize: 2000, evalEvery: 375, logEvery: 150),
        ]
    }

    static func group(_ s: Setting, _ c: Compressor) -> String { "\(s.label) — \(c.label)" }

    public func runs(_ options: ExperimentOptions) throws -> [RunSpec] {
        let seeds = options.seeds(full: 1, quick: 1)
        var out: [RunSpec] = []
        for s in Self.settings(options) {
            for c in Self.compressors {
                for seed in 1...seeds {
                    // Uncompressed: plain SGD (error feedback with the identity
                    // keeps e = 0, the same steps). Compressed: error feedback
                    // (Algorithm 1 with r = 0, no reset), RandomK as specified.
                    var args = ["train", "--model", s.model, "--dataset", s.dataset, "--partition", s.partition,
                                "--workers", "\(Self.workers)", "--batch", "\(Self.batch)", "--lr", "0.1",
                                "--method", c.fraction == nil ? "sgd" : "ef-sgd"]
                    if let f = c.fraction { args += ["--compressor", "randomk:\(f)"] }
                    args += ["--train-size", "\(s.trainSize)", "--test-size", "\(s.testSize)", "--steps", "\(s.steps)",
                             "--seed", "\(seed)", "--threads", "1", "--log-every", "\(s.logEvery)", "--eval-every", "\(s.evalEvery)"]
                    out.append(RunSpec(arguments: args, group: Self.group(s, c), seed: seed))
                }
            }
        }
        return out
    }

    // MARK: The rule

    /// Uncompressed SGD "learns" when its final test accuracy reaches this
    /// (six times chance on ten classes).
    public static let learnsAccuracy = 0.60
    /// A compressed run matches uncompressed SGD when its final test
    /// accuracy is at most this far below (absolute) …
    public static let accuracyTolerance = 0.03
    /// … and its final training loss at most this factor above.
    public static let lossFactor = 1.15
    /// The upload reduction must reach the nominal 10× or 100× up to the
    /// rounding of K to a whole count of coordinates.
    public static let ratioSlack = 0.99

    public static let rule = "For each setting, uncompressed SGD learns when its final test accuracy is at least 60% (six times chance), and RandomK 10% (1%) matches it when its final test accuracy is at most 3 points below uncompressed's, its final training loss (fixed 512-image batch) at most 15% above, and it uploads at least 9.9× (99×) fewer bits a worker (10× and 100× up to K's rounding to a whole count); means over seeds, a diverged run matches nothing. holds when, in the specified setting (ResNet with BatchNorm, one class a worker), uncompressed SGD learns and both 10% and 1% match it; differs when in no setting where uncompressed SGD learns does 10% or 1% match it; partly otherwise (for example when only a variant shows the claim)."

    /// Finals of one group: means over its finished runs.
    struct Finals {
        var runs: Int
        var failed: Int
        var trainLoss: Double?
        var testAccuracy: Double?
        var uploadBits: Double?
        /// Test accuracy at the first evaluation at or after one epoch.
        var accuracyAfterOneEpoch: Double? = nil
    }

    static func finals(_ data: ExperimentData, _ s: Setting, _ c: Compressor) -> Finals {
        let g = group(s, c)
        let runs = data.group(g)
        let failed = data.failures.filter { $0.spec.group == g }.count
        func mean(_ xs: [Double]) -> Double? { xs.isEmpty ? nil : Statistics.mean(xs) }
        let oneEpoch = runs.compactMap { r in
            r.records.first { $0.step >= s.stepsPerEpoch && $0.metrics["test_accuracy"] != nil }?.metrics["test_accuracy"]
        }
        return Finals(
            runs: runs.count, failed: failed,
            trainLoss: mean(runs.compactMap { $0.summary.loss ?? $0.records.last?.loss }),
            testAccuracy: mean(runs.compactMap { $0.summary.numbers["test_accuracy"] ?? $0.records.last?.metrics["test_accuracy"] }),
            uploadBits: mean(runs.map { Double($0.summary.uploadBitsPerWorker) }),
            accuracyAfterOneEpoch: mean(oneEpoch))
    }

    /// Whether `c` matches the uncompressed finals `base`, and why.
    static func matches(_ f: Finals, base: Finals, _ c: Compressor) -> (Bool, String) {
        guard f.failed == 0, let acc = f.testAccuracy, let loss = f.trainLoss, let bits = f.uploadBits, bits > 0 else {
            return (false, f.failed > 0 ? "\(f.failed) run(s) diverged" : "no finished run")
        }
        guard let bAcc = base.testAccuracy, let bLoss = base.trainLoss, let bBits = base.uploadBits else {
            return (false, "no uncompressed run to compare with")
        }
        let ratio = bBits / bits
        let okAcc = acc >= bAcc - accuracyTolerance
        let okLoss = loss <= lossFactor * bLoss
        let okRatio = ratio >= ratioSlack * c.nominalRatio
        return (okAcc && okLoss && okRatio,
                String(format: "test accuracy %.1f%% against %.1f%%, train loss %.3f against %.3f, %.1f× fewer upload bits",
                       100 * acc, 100 * bAcc, loss, bLoss, ratio))
    }

    public func analyze(_ data: ExperimentData, options: ExperimentOptions, into directory: URL) throws -> ExperimentAnalysis {
        let settings = Self.settings(options)
        var checks: [Verdict.Check] = []
        var figures: [String: Double] = [:]
        var rows: [[String]] = []
        var learningRows: [[String]] = []
        var learnsBy: [String: Bool] = [:]
        var matchBy: [String: [Bool]] = [:]
        var ours: [String] = []
        for s in settings {
            let all = Self.compressors.map { Self.finals(data, s, $0) }
            let base = all[0]
            let learns = base.failed == 0 && (base.testAccuracy ?? 0) >= Self.learnsAccuracy
            learnsBy[s.key] = learns
            checks.append(.init("\(s.key): uncompressed SGD learns", passed: learns,
                                detail: base.testAccuracy.map { String(format: "final test accuracy %.1f%%", 100 * $0) } ?? "no finished run"))
            var matched: [Bool] = []
            for c in Self.claimed {
                let f = all[Self.compressors.firstIndex { $0.label == c.label }!]
                let (ok, detail) = Self.matches(f, base: base, c)
                matched.append(ok)
                checks.append(.init("\(s.key): \(c.label) matches uncompressed", passed: ok, detail: detail))
            }
            matchBy[s.key] = matched
            for (c, f) in zip(Self.compressors, all) {
                let prefix = "\(s.key) \(c.label)"
                if let v = f.testAccuracy { figures["\(prefix) final test accuracy"] = v }
                if let v = f.trainLoss { figures["\(prefix) final train loss"] = v }
                if let v = f.uploadBits { figures["\(prefix) upload bits per worker"] = v }
                if let v = f.uploadBits, let b = base.uploadBits, v > 0 { figures["\(prefix) upload reduction"] = b / v }
                let ratio = (f.uploadBits != nil && base.uploadBits != nil && f.uploadBits! > 0) ? base.uploadBits! / f.uploadBits! : nil
                rows.append([s.label, c.label, "\(f.runs)" + (f.failed > 0 ? " (+\(f.failed) diverged)" : ""),
                             f.trainLoss.map { String(format: "%.3f", $0) } ?? "—",
                             f.testAccuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "—",
                             f.uploadBits.map { String(format: "%.3g", $0) } ?? "—",
                             ratio.map { String(format: "%.1f×", $0) } ?? "—"])
            }
            if let a = base.accuracyAfterOneEpoch { figures["\(s.key) uncompressed test accuracy after one epoch"] = a }
            learningRows.append([s.label, s.model, s.partition,
                                 base.accuracyAfterOneEpoch.map { String(format: "%.1f%%", 100 * $0) } ?? "—",
                                 base.testAccuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "—",
                                 base.trainLoss.map { String(format: "%.3f", $0) } ?? "—"])
            let pct = { (v: Double?) in v.map { String(format: "%.1f%%", 100 * $0) } ?? "—" }
            ours.append("\(s.label): test accuracy \(pct(base.testAccuracy)) uncompressed, \(pct(all[1].testAccuracy)) at 10%, \(pct(all[2].testAccuracy)) at 1%, \(pct(all[3].testAccuracy)) at 0.1%")
        }
        var verdict = Verdict.combining(checks, rule: Self.rule)
        let specified = settings[0].key
        if learnsBy[specified] == true && matchBy[specified]?.allSatisfy({ $0 }) == true {
            verdict.kind = .holds
        } else if !settings.contains(where: { learnsBy[$0.key] == true && matchBy[$0.key]?.contains(true) == true }) {
            verdict.kind = .differs
        } else {
            verdict.kind = .partly
        }

        let plots = try Fig1WorkersPlots.write(data: data, settings: settings, into: directory)
        var notes = [
            "Fashion-MNIST (Debian's dataset-fashion-mnist) stands in for CIFAR-10 and a ResNet-8 (He et al.'s CIFAR ResNet with one basic block a stage, widths 16/32/64, d = 77,754) for ResNet-34 (d ≈ 21 million); workers (10, one class each), batch (8 a worker) and η (0.1) are the paper's.",
            "Uncompressed is plain SGD (error feedback with the identity keeps e = 0, the same steps); RandomK runs with error feedback (Algorithm 1 with r = 0, no reset) and as specified: shared random coordinates, no rescaling, 32 bits a kept coordinate.",
            "The training loss is the mean loss on the first 512 training images (BatchNorm normalising that mixed-class batch); test accuracy is on the first \(settings[0].testSize) test images, BatchNorm's running statistics recomputed at x over 2,048 training images of all classes.",
            "A worker that holds one class computes BatchNorm's batch statistics over that class alone: in training every class is normalised by its own mean and variance, which removes what distinguishes the classes' channel statistics, while evaluation normalises with statistics over all classes. The two variants each remove one half of this: the same ResNet on iid shards (BatchNorm over mixed batches), and an MLP without BatchNorm on one-class shards (the averaged gradient of ten one-class batches of 8 is then exactly that of one mixed batch of 80).",
            "Learning check (uncompressed, before the experiment, seed 1, 12,000 images, 150 steps = one epoch, 1,000 test images): ResNet-8 by class reached 35% test accuracy (27–32% at the evaluations every 25 steps before; train loss 2.39 → 1.96); the same on iid shards 69% (74% at step 125; loss 0.75); the MLP by class 75% (0.67) like the MLP on iid shards (75%, 0.69). On one-class shards neither a smaller step nor a larger batch helped the ResNet: η = 0.01 gave 32%, batch 32 a worker (38 steps) 33%; a VGG without BatchNorm (vgg:2,width=16,dropout=0) gave 28%, its loss still near log 10 after 100 steps (not run on iid shards). So the network learns on iid shards, and one-class shards are harmless without BatchNorm: it points at BatchNorm over one-class batches.",
        ]
        if options.quick {
            notes.append("quick form: the pipeline and the verdict's computation, not the science: 400 synthetic 8×8 images of 10 classes (csgd's generator) instead of Fashion-MNIST, 2 epochs (10 steps), 100 test images, a ResNet-8 of width 4 and an MLP 64-32-10, one seed; the full form trains on 12,000 Fashion-MNIST images for 3 epochs (the MLP on 60,000).")
        } else {
            notes.append("Full form: the ResNet settings train on the first 12,000 training images for 3 epochs (450 steps), the MLP on all 60,000 for 3 epochs (2,250 steps); test accuracy every half epoch on 2,000 test images; \(options.seeds(full: 1, quick: 1)) seed(s) a configuration.")
        }
        return ExperimentAnalysis(
            paper: "ResNet-34 on CIFAR-10 over 10 one-class workers: RandomK 10% and 1% reach the uncompressed run's training loss and test accuracy at the same epochs, with 10× and 100× less upload; 0.1% lags",
            ours: ours.joined(separator: "; "), verdict: verdict, figures: figures,
            tables: [
                ReportTable(caption: "Learning check: uncompressed SGD (10 workers, batch 8, η = 0.1) in each setting",
                            header: ["setting", "model", "shards", "test accuracy after one epoch", "final test accuracy", "final train loss"],
                            rows: learningRows),
                ReportTable(caption: "Final values (means over seeds) and upload a worker; reduction against the setting's uncompressed run",
                            header: ["setting", "compressor", "runs", "train loss", "test accuracy", "upload bits", "reduction"],
                            rows: rows),
            ],
            plots: plots, notes: notes)
    }
}
