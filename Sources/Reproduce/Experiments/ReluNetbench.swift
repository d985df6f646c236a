import CSGDCore
import Foundation

/// Kalan, Soltanolkotabi & Avestimehr, *Fitting ReLUs via SGD and Quantized
/// SGD* (2019), Table 2: master–worker SGD on the planted ReLU model over
/// Amazon EC2 (40 workers, d = 4000, n = 20000, 300 iterations): SGD sending
/// float64 gradients took 33.4 s, 28.5 s of it communication; QSGD sending
/// int8 took 8.3 s, 3.2 s of it communication; computation about 5 s each.
///
/// The measurement is `scripts/netbench` scenario (a): csgd under Open MPI,
/// every message over a loopback shaped to a fixed bandwidth inside a network
/// namespace. That needs root, so this experiment runs nothing: it reads the
/// per-method result files netbench writes with `--out DIR/relu-netbench/netbench`
/// and, without them, says `not run` with the command that makes them.
public struct ReluNetbench: Experiment {
    public init() {}
    public var name: String { "relu-netbench" }
    public var title: String { "Planted ReLU over a thin link: computation and communication" }
    public var source: String { "Kalan et al. 2019, Fitting ReLUs via SGD and Quantized SGD, Table 2" }
    public var claim: String {
        "On a master–worker cluster (EC2, 40 workers, d = 4000, 300 iterations), QSGD sending int8 runs about 4× faster than SGD sending float64 (8.3 s against 33.4 s): communication falls from 28.5 s to 3.2 s while computation stays near 5 s."
    }

    /// Where netbench's result files are read from, inside the experiment's directory.
    public static let dataDirectory = "netbench"

    /// The command that makes the data for an experiment directory.
    public static func command(for directory: URL) -> String {
        "sudo scripts/netbench --scenario a --rate 100mbit,20mbit --repeat 3 --out \(Shell.quote(directory.appendingPathComponent(dataDirectory).path))"
    }

    public func runs(_ options: ExperimentOptions) throws -> [RunSpec] { [] }

    /// Table 2, scenario 1 (40 workers).
    static let paper = (sgd: (comm: 28.51, compute: 4.921, total: 33.431), qsgd: (comm: 3.247, compute: 5.056, total: 8.303))

    /// One method's run as netbench summarises it (`--out DIR`: `a-RATE-METHOD.REP.json`).
    public struct Result: Decodable, Equatable, Sendable {
        public var scenario: String
        public var rate: String
        public var workers: Int
        public var method: String
        public var steps: Int
        public var wallSeconds: Double
        public var communicationSeconds: Double
        public var computeSeconds: Double
        public var wireBytesSent: Double?
        public var linkBytes: Double?
        public var uploadBitsPerWorker: Double?
        /// `hub` (one shared link) or `hosts` (a link a rank); nil in results written before the choice existed (a hub).
        public var topology: String?

        enum CodingKeys: String, CodingKey {
            case scenario, rate, workers, method, steps, topology
            case wallSeconds = "wall_seconds"
            case communicationSeconds = "communication_seconds"
            case computeSeconds = "compute_seconds"
            case wireBytesSent = "wire_bytes_sent"
            case linkBytes = "link_bytes"
            case uploadBitsPerWorker = "upload_bits_per_worker"
        }
    }

    static let sgd64 = "sgd (float64)", sgd32 = "sgd (float32)", qsgd = "qsgd-sgd:bits=8"

    /// Scenario (a)'s results in `directory` (every `*.json` netbench wrote;
    /// other files, and objects of other scenarios, are skipped), the
    /// fastest run of each rate and method kept as netbench does with
    /// `--repeat`. Runs on several topologies or numbers of ranks keep those
    /// of one: the shared link (hub) if any, then the most ranks (the paper
    /// had 40). A file that is not a netbench result is an error naming it.
    public static func load(_ directory: URL) throws -> [Result] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        var best: [String: Result] = [:]
        for n in names.sorted() where n.hasSuffix(".json") {
            let url = directory.appendingPathComponent(n)
            let data = try Files.read(url)
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            guard object?["scenario"] as? String == "a" else { continue }
            let r: Result
            do { r = try JSONDecoder().decode(Result.self, from: data) } catch {
                throw CSGDError("\(url.path): not a netbench result (\(Files.describe(error)))")
            }
            let key = r.rate + "\u{0}" + r.method + "\u{0}" + (r.topology ?? "hub") + "\u{0}" + String(r.workers)
            if let old = best[key], old.wallSeconds <= r.wallSeconds { continue }
            best[key] = r
        }
        let topologies = Set(best.values.map { $0.topology ?? "hub" })
        let topology = topologies.contains("hub") ? "hub" : topologies.sorted().first
        let kept = best.values.filter { ($0.topology ?? "hub") == topology }
        let workers = kept.map(\.workers).max()
        best = best.filter { ($0.value.topology ?? "hub") == topology && $0.value.workers == workers }
        let order = [sgd32, sgd64, qsgd]
        return best.values.sorted { a, b in
            let ra = bitsPerSecond(a.rate) ?? .infinity, rb = bitsPerSecond(b.rate) ?? .infinity
            if ra != rb { return ra > rb }
            return (order.firstIndex(of: a.method) ?? order.count, a.method) < (order.firstIndex(of: b.method) ?? order.count, b.method)
        }
    }

    /// A tc rate (`100mbit`, `20mbit`, `1gbit`, `500kbps`) in bits per second; nil for `none` (unshaped).
    static func bitsPerSecond(_ rate: String) -> Double? {
        let units: [(String, Double)] = [("kbit", 1e3), ("mbit", 1e6), ("gbit", 1e9), ("bit", 1), ("kbps", 8e3), ("mbps", 8e6),
                                         ("gbps", 8e9), ("bps", 8)]
        let r = rate.lowercased()
        for (u, f) in units where r.hasSuffix(u) {
            return Double(r.dropLast(u.count)).map { $0 * f }
        }
        return nil
    }

    static let rule = "Judged on the thinnest shaped link netbench measured (the lowest rate other than none), SGD sending float64 (the paper's wire; our float32 all-reduce when no float64 run is there) against qsgd-sgd:bits=8, the fastest of each one's repeats: holds when QSGD's total time is at most half of SGD's (the paper: a quarter, 8.3 s against 33.4 s), communication is at least half of SGD's time (the paper: 85%), QSGD's communication is at most half of SGD's (the paper: 1/8.8) and their computation times are within a factor 2 of each other (the paper: 5.06 s and 4.92 s); differs when QSGD is not at least twice as fast; partly otherwise. Without scenario (a) results on a shaped link: not run."

    public func analyze(_ data: ExperimentData, options: ExperimentOptions, into directory: URL) throws -> ExperimentAnalysis {
        let source = directory.appendingPathComponent(Self.dataDirectory)
        let results = try Self.load(source)
        let paperText = "EC2, 40 workers: SGD (float64) 33.4 s = 28.5 s communication + 4.9 s computation; QSGD (int8) 8.3 s = 3.2 s + 5.1 s: 4.0× faster"
        let shaped = results.filter { Self.bitsPerSecond($0.rate) != nil }
        guard let thinnest = shaped.map(\.rate).min(by: { Self.bitsPerSecond($0)! < Self.bitsPerSecond($1)! }),
              let q = shaped.first(where: { $0.rate == thinnest && $0.method == Self.qsgd }),
              let s = shaped.first(where: { $0.rate == thinnest && $0.method == Self.sgd64 })
                ?? shaped.first(where: { $0.rate == thinnest && $0.method == Self.sgd32 }) else {
            let found = results.isEmpty ? "no netbench scenario (a) results in \(source.path)"
                : "the results in \(source.path) have no shaped link with both SGD and qsgd-sgd:bits=8 (rates: \(Set(results.map(\.rate)).sorted().joined(separator: ", ")))"
            return ExperimentAnalysis(
                paper: paperText, ours: "not measured",
                verdict: Verdict(kind: .notRun, rule: Self.rule,
                                 reason: "\(found). Scenario (a) needs root and network namespaces; make the data with `\(Self.command(for: directory))` (from the csgd checkout; it builds the MPI release binary), then rebuild the report with `csgd report \(Shell.quote(directory.deletingLastPathComponent().path))`."),
                notes: ["This experiment runs nothing itself: scripts/netbench (docs/netbench.md) writes one JSON file a method and repeat into its --out directory, read from \(source.path)."])
        }
        let speedup = s.wallSeconds / q.wallSeconds
        let commShare = s.communicationSeconds / s.wallSeconds
        let commRatio = s.communicationSeconds / max(q.communicationSeconds, 1e-9)
        let computeRatio = q.computeSeconds / max(s.computeSeconds, 1e-9)
        let checks: [Verdict.Check] = [
            .init("QSGD at least twice as fast", passed: speedup >= 2,
                  detail: String(format: "%@ %.2f s against %@ %.2f s at %@: %.2f× (paper %.2f×)", Self.qsgd, q.wallSeconds, s.method, s.wallSeconds,
                                 thinnest, speedup, Self.paper.sgd.total / Self.paper.qsgd.total)),
            .init("communication dominates SGD", passed: commShare >= 0.5,
                  detail: String(format: "%.2f s of %.2f s (%.0f%%; paper 85%%)", s.communicationSeconds, s.wallSeconds, 100 * commShare)),
            .init("QSGD cuts communication", passed: commRatio >= 2,
                  detail: String(format: "%.2f s against %.2f s: %.1f× less (paper 8.8×)", q.communicationSeconds, s.communicationSeconds, commRatio)),
            .init("computation about the same", passed: computeRatio >= 0.5 && computeRatio <= 2,
                  detail: String(format: "%.2f s QSGD, %.2f s SGD (ratio %.2f; paper 1.03)", q.computeSeconds, s.computeSeconds, computeRatio)),
        ]
        var verdict = Verdict.combining(checks, rule: Self.rule)
        if !checks[0].passed { verdict.kind = .differs }

        var rows: [[String]] = []
        for r in results {
            let base = results.first { $0.rate == r.rate && $0.method == s.method }
            rows.append([r.rate, r.method, "\(r.workers)", "\(r.steps)", String(format: "%.2f", r.wallSeconds), String(format: "%.2f", r.computeSeconds),
                         String(format: "%.2f", r.communicationSeconds), String(format: "%.0f%%", 100 * r.communicationSeconds / r.wallSeconds),
                         base.map { String(format: "%.2f×", $0.wallSeconds / r.wallSeconds) } ?? "—",
                         r.wireBytesSent.map { String(format: "%.2f", $0 / 1e6) } ?? "—"])
        }
        rows.append(["EC2 (paper)", "SGD float64", "40", "300", "33.43", "4.92", "28.51", "85%", "1.00×", "—"])
        rows.append(["EC2 (paper)", "QSGD int8", "40", "300", "8.30", "5.06", "3.25", "39%", "4.03×", "—"])
        var figures: [String: Double] = ["speed-up": speedup, "SGD communication share": commShare, "communication ratio": commRatio,
                                         "computation ratio": computeRatio]
        for r in results { figures["\(r.rate) \(r.method) wall seconds"] = r.wallSeconds }
        let plots = [try ReportStyle.write(ReluNetbenchPlots.chart(results: results, baseline: s.method, paper: Self.paper),
                                           file: "time-split.svg",
                                           caption: "Rank 0's run time split into computation and communication (time inside collectives, waiting included), per link rate and method, the fastest of netbench's repeats, beside the paper's EC2 figures (Table 2, 40 workers).",
                                           into: directory, width: ReportStyle.width, height: ReluNetbenchPlots.height(rows: results.count + 2))]
        let w = q.workers
        var notes = [
            "scripts/netbench scenario (a) (docs/netbench.md): `csgd optimize --problem relu:d=4000,n=\(500 * w) … --backend mpi` under mpirun with \(w) ranks, every message over TCP on a loopback shaped by tc (tbf) in a network namespace; the rate is shared by all ranks, like a hub. Ours: d = 4000 and 500 points a worker as the paper, but \(w) workers instead of 40, on one \(ProcessInfo.processInfo.activeProcessorCount)-core machine.",
            "SGD (float64) is the paper's wire: every rank's 64·d-bit gradient gathered by every rank; QSGD is qsgd-sgd:bits=8 (int8 levels, fixed width), gathered and decoded by every rank, so its bytes are 1/8 of the float64 run's, the paper's ratio. sgd (float32) is our own all-reduce, shown for reference. The paper sent to one master; ours gathers on every rank.",
            "The times are rank 0's: communication is the time inside collectives, the wait for the slowest rank included; computation is the rest of the wall time (gradients, quantization, decoding, the step, log records).",
        ]
        if s.method == Self.sgd32 { notes.append("No float64 run in the data: SGD is our float32 all-reduce, whose bytes are 8/W times int8's rather than 8 times.") }
        let ours = String(format: "%@ at %@, %d workers: SGD (%@) %.2f s = %.2f s communication + %.2f s computation; QSGD %.2f s = %.2f s + %.2f s: %.2f× faster",
                          "netbench", thinnest, w, s.method == Self.sgd64 ? "float64" : "float32", s.wallSeconds, s.communicationSeconds, s.computeSeconds,
                          q.wallSeconds, q.communicationSeconds, q.computeSeconds, speedup)
        return ExperimentAnalysis(
            paper: paperText, ours: ours, verdict: verdict, figures: figures,
            tables: [ReportTable(caption: "Run time split (rank 0), fastest repeat of each method; speed-up against \(s.method) at the same rate",
                                 header: ["link", "method", "workers", "steps", "wall s", "computation s", "communication s", "comm. share", "speed-up", "sent MB (rank 0)"],
                                 rows: rows)],
            plots: plots, notes: notes)
    }
}
