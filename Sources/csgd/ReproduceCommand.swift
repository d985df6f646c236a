import ArgumentParser
import CSGDCore
import Foundation
import Reproduce

/// `csgd reproduce`: runs the papers' experiments and writes the report.
struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Run the papers' experiments, judge each claim and write one HTML report.",
        discussion: """
            Experiments: \(Catalog.all.map(\.name).joined(separator: ", ")), or all.
            Each writes OUT/NAME/ (every run's JSONL log and summary, SVG plots,
            summary.json); OUT/report.html is the page over every experiment in OUT.
            A run is keyed by its full command line, so --resume (after a kill, or to
            add experiments) keeps finished runs and gives the same numbers.
            """
    )

    @Argument(help: "Experiments to run, or all.")
    var experiments: [String] = []

    @Flag(help: "The short form: fewer steps and runs (a first look; what CI runs).")
    var quick = false

    @Option(parsing: .unconditional, help: "Runs (seeds) per configuration (default: each experiment's own).")
    var runs: Int?

    @Option(parsing: .unconditional, help: "Runs at once (default: the number of cores).")
    var jobs: Int?

    @Option(help: "Output directory.")
    var out: String = "reproduce"

    @Flag(help: "Continue in an output directory that already holds runs (finished runs are kept).")
    var resume = false

    func run() throws {
        let selected = try CLI.orExit { () throws -> [any Experiment] in
            if let r = runs { guard r >= 1 else { throw CSGDError("--runs \(r) must be at least 1") } }
            if let j = jobs { guard j >= 1 else { throw CSGDError("--jobs \(j) must be at least 1") } }
            guard !experiments.isEmpty else { throw CSGDError("name at least one experiment, or all") }
            return try Catalog.select(experiments)
        }
        let options = ExperimentOptions(quick: quick, runs: runs)
        let reproducer = Reproducer(
            output: URL(fileURLWithPath: out), launcher: try CLI.orExit { try ProcessLauncher.current() },
            jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount, resume: resume,
            instructionPath: GaussianSIMD.Path.best.description)
        let summaries = try CLI.orExit {
            try reproducer.reproduce(selected, options: options, command: { e in command(for: e.name) }) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
        var t = TextTable(header: ["experiment", "verdict", "ours"])
        for s in summaries { t.add([s.name, s.analysis.verdict.kind.rawValue, s.analysis.ours]) }
        print(t.render())
        print("report: \(URL(fileURLWithPath: out).appendingPathComponent("report.html").path)")
    }

    /// The command that re-runs one experiment with these options.
    func command(for name: String) -> String {
        var parts = ["csgd", "reproduce", name]
        if quick { parts.append("--quick") }
        if let r = runs { parts += ["--runs", "\(r)"] }
        return parts.joined(separator: " ")
    }
}

/// `csgd report DIR`: rebuilds the report from the runs without re-running.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Rebuild DIR/report.html (and every DIR/NAME/summary.json) from the runs in DIR."
    )

    @Argument(help: "A directory written by csgd reproduce.")
    var directory: String

    func run() throws {
        let reproducer = Reproducer(output: URL(fileURLWithPath: directory), launcher: try CLI.orExit { try ProcessLauncher.current() },
                                    jobs: 1, resume: true, instructionPath: GaussianSIMD.Path.best.description)
        let summaries = try CLI.orExit { try reproducer.rebuild(Catalog.all) }
        var t = TextTable(header: ["experiment", "verdict", "ours"])
        for s in summaries { t.add([s.name, s.analysis.verdict.kind.rawValue, s.analysis.ours]) }
        print(t.render())
        print("report: \(URL(fileURLWithPath: directory).appendingPathComponent("report.html").path)")
    }
}
