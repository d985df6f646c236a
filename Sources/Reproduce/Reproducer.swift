import CSGDCore
import Foundation

/// Runs experiments into an output directory and writes their summaries
/// and the report: the library behind `csgd reproduce` and `csgd report`.
///
/// `DIR/NAME/` holds the experiment's runs (`runs/`), its plots (SVG) and
/// `summary.json`; `DIR/report.html` is the page over every experiment in
/// DIR. Nothing is half-written: runs, summaries and the page are written
/// under temporary names and renamed.
public struct Reproducer: Sendable {
    public var output: URL
    public var launcher: any RunLauncher
    public var jobs: Int
    /// Continue in a directory that already holds runs (finished runs are kept).
    public var resume: Bool
    /// The kernels' instruction path, for the machine line.
    public var instructionPath: String

    public init(output: URL, launcher: any RunLauncher, jobs: Int, resume: Bool, instructionPath: String) {
        self.output = output; self.launcher = launcher; self.jobs = jobs; self.resume = resume
        self.instructionPath = instructionPath
    }

    /// Checks the output directory before anything runs: a file in the
    /// way, a directory that cannot be written, or (without `resume`) runs
    /// already there are one-line errors.
    public func validate(_ experiments: [any Experiment]) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: output.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CSGDError("--out \(output.path) is a file, not a directory") }
            guard access(output.path, W_OK | X_OK) == 0 else { throw CSGDError("--out \(output.path) is not writable") }
        } else {
            let parent = output.deletingLastPathComponent()
            guard access(parent.path, W_OK | X_OK) == 0 else {
                throw CSGDError("--out \(output.path) cannot be created (\(parent.path) is not writable)")
            }
        }
        guard !resume else { return }
        for e in experiments {
            let runs = RunStore(directory: output.appendingPathComponent(e.name)).runsDirectory
            let names = (try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? []
            if names.contains(where: { $0.hasSuffix(".json") || $0.hasSuffix(".failed") }) {
                throw CSGDError("\(runs.path) already holds runs: pass --resume to continue them, or choose another --out")
            }
        }
    }

    /// Runs each experiment's missing runs, analyses it, writes its summary
    /// and then the report; `say` gets the progress lines.
    public func reproduce(_ experiments: [any Experiment], options: ExperimentOptions, command: (any Experiment) -> String,
                          say: @escaping @Sendable (String) -> Void) throws -> [ExperimentSummary] {
        try validate(experiments)
        try Files.makeDirectory(output)
        var summaries: [ExperimentSummary] = []
        for e in experiments {
            let dir = output.appendingPathComponent(e.name)
            let store = RunStore(directory: dir)
            let scheduler = RunScheduler(store: store, launcher: launcher, jobs: jobs)
            let runs = try e.runs(options)
            let start = Date()
            let name = e.name
            try scheduler.run(runs) { p in say(Self.progressLine(name, p)) }
            let wall = Date().timeIntervalSince(start)
            let previous = try? Self.readSummary(dir)
            let summary = try analyze(e, runs: runs, options: options, command: command(e),
                                      wallSeconds: wall + (resume ? previous?.wallSeconds ?? 0 : 0))
            summaries.append(summary)
        }
        try writeReport()
        return summaries
    }

    /// Re-analyses every experiment found in the output directory from its
    /// runs and rewrites the summaries and the page (`csgd report DIR`).
    public func rebuild(_ catalog: [any Experiment]) throws -> [ExperimentSummary] {
        let names = try existingExperiments()
        guard !names.isEmpty else { throw CSGDError("\(output.path) holds no experiment (no */summary.json)") }
        var out: [ExperimentSummary] = []
        for name in names {
            let dir = output.appendingPathComponent(name)
            let old = try Self.readSummary(dir)
            guard let e = catalog.first(where: { $0.name == name }) else {
                throw CSGDError("\(dir.path)/summary.json: unknown experiment '\(name)'")
            }
            out.append(try analyze(e, runs: try e.runs(old.options), options: old.options, command: old.command,
                                   wallSeconds: old.wallSeconds))
        }
        try writeReport()
        return out
    }

    /// The experiment directories with a summary, in the catalog's (the
    /// report's) order, unknown names last by name.
    func existingExperiments() throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CSGDError("\(output.path) is not a directory")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        let order = Dictionary(uniqueKeysWithValues: Catalog.all.enumerated().map { ($1.name, $0) })
        return entries.filter { FileManager.default.fileExists(atPath: output.appendingPathComponent($0).appendingPathComponent("summary.json").path) }
            .sorted { (order[$0] ?? Int.max, $0) < (order[$1] ?? Int.max, $1) }
    }

    static func readSummary(_ dir: URL) throws -> ExperimentSummary {
        let url = dir.appendingPathComponent("summary.json")
        do { return try JSONDecoder().decode(ExperimentSummary.self, from: try Files.read(url)) } catch let e as CSGDError {
            throw e
        } catch {
            throw CSGDError("\(url.path): corrupt summary (\(Files.describe(error)))")
        }
    }

    func analyze(_ e: any Experiment, runs: [RunSpec], options: ExperimentOptions, command: String,
                 wallSeconds: Double) throws -> ExperimentSummary {
        let dir = output.appendingPathComponent(e.name)
        let store = RunStore(directory: dir)
        let scheduler = RunScheduler(store: store, launcher: launcher, jobs: jobs)
        var results: [RunResult] = []
        var failures: [(spec: RunSpec, message: String)] = []
        for r in runs {
            if store.isFinished(r) {
                results.append(try store.load(r))
            } else if let f = scheduler.failure(r) {
                failures.append((r, f))
            } else {
                throw CSGDError("\(dir.path): run \(r.key) has no data (\(r.commandLine)); run csgd reproduce \(e.name) --resume")
            }
        }
        let analysis = try e.analyze(ExperimentData(results: results, failures: failures), options: options, into: dir)
        let summary = ExperimentSummary(
            name: e.name, title: e.title, source: e.source, claim: e.claim, options: options, command: command,
            runs: runs.count, failedRuns: failures.count, runSeconds: results.map(\.summary.wallSeconds).reduce(0, +),
            wallSeconds: wallSeconds, machine: MachineInfo.current(instructionPath: instructionPath), analysis: analysis)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Files.writeAtomically(try encoder.encode(summary), to: dir.appendingPathComponent("summary.json"))
        return summary
    }

    /// Writes `DIR/report.html` over every experiment summary in DIR.
    public func writeReport() throws {
        let summaries = try existingExperiments().map { try Self.readSummary(output.appendingPathComponent($0)) }
        let page = try ReportPage(summaries: summaries) { name, file in
            let url = output.appendingPathComponent(name).appendingPathComponent(file)
            return String(decoding: try Files.read(url), as: UTF8.self)
        }.html()
        try Files.writeAtomically(Data(page.utf8), to: output.appendingPathComponent("report.html"))
    }

    /// `fig2-plateau: 12/60 runs, 3m05s elapsed, about 12m left`.
    public static func progressLine(_ name: String, _ p: RunScheduler.Progress) -> String {
        var s = "\(name): \(p.done)/\(p.total) runs, \(duration(p.elapsed)) elapsed"
        if let r = p.remaining, p.done < p.total { s += ", about \(duration(r)) left" }
        return s
    }

    /// 42s, 3m05s, 1h02m.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}
