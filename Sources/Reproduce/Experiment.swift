import Foundation

/// One claim of a paper turned into runs and a judgement.
///
/// An experiment lists its runs (`runs(_:)`, pure: the same options give the
/// same runs), and once they are finished turns their logs and summaries
/// into figures, plots and a verdict (`analyze(_:into:)`), from the data
/// alone: `csgd report` calls `analyze` again without re-running anything.
public protocol Experiment: Sendable {
    /// The name on the command line (`fig2-plateau`).
    var name: String { get }
    /// A short title for the report.
    var title: String { get }
    /// The paper, figure or table reproduced.
    var source: String { get }
    /// The claim in one sentence, with the paper's own figure or number.
    var claim: String { get }
    /// The runs the experiment needs under these options.
    func runs(_ options: ExperimentOptions) throws -> [RunSpec]
    /// Figures, plots (written into `directory`) and the verdict.
    func analyze(_ data: ExperimentData, options: ExperimentOptions, into directory: URL) throws -> ExperimentAnalysis
}

/// How an experiment is run: the short form or the full one, and how many
/// repetitions (seeds) a configuration gets.
public struct ExperimentOptions: Codable, Equatable, Sendable {
    /// The short form: fewer steps and runs, for a first look and for CI.
    public var quick: Bool
    /// Seeds a configuration (nil: the experiment's default for `quick`).
    public var runs: Int?

    public init(quick: Bool = false, runs: Int? = nil) { self.quick = quick; self.runs = runs }

    /// `runs` or the experiment's default.
    public func seeds(full: Int, quick q: Int) -> Int { runs ?? (quick ? q : full) }
}

/// What the runs produced: finished runs, and runs that failed with their
/// error line (a run that diverges is data, not an error).
public struct ExperimentData: Sendable {
    public var results: [RunResult]
    public var failures: [(spec: RunSpec, message: String)]

    public init(results: [RunResult], failures: [(spec: RunSpec, message: String)]) {
        self.results = results; self.failures = failures
    }

    /// The finished runs of one group, by seed.
    public func group(_ name: String) -> [RunResult] {
        results.filter { $0.spec.group == name }.sorted { $0.spec.seed < $1.spec.seed }
    }
}

/// A plot file and its caption.
public struct PlotReference: Codable, Equatable, Sendable {
    public var file: String
    public var caption: String
    public init(file: String, caption: String) { self.file = file; self.caption = caption }
}

/// A small table for the report (a header row and rows of cells).
public struct ReportTable: Codable, Equatable, Sendable {
    public var caption: String
    public var header: [String]
    public var rows: [[String]]
    public init(caption: String, header: [String], rows: [[String]]) {
        self.caption = caption; self.header = header; self.rows = rows
    }
}

/// What `analyze` returns: the paper's figure and ours in words, the key
/// numbers, tables, plots and the verdict.
public struct ExperimentAnalysis: Codable, Equatable, Sendable {
    /// The paper's number or picture, in a few words.
    public var paper: String
    /// Ours, in the same terms.
    public var ours: String
    public var verdict: Verdict
    /// Named numbers (for docs and tests).
    public var figures: [String: Double]
    public var tables: [ReportTable]
    public var plots: [PlotReference]
    /// What differs from the paper's setting (smaller network, fewer epochs, …).
    public var notes: [String]

    public init(paper: String, ours: String, verdict: Verdict, figures: [String: Double] = [:], tables: [ReportTable] = [],
                plots: [PlotReference] = [], notes: [String] = []) {
        self.paper = paper; self.ours = ours; self.verdict = verdict; self.figures = figures
        self.tables = tables; self.plots = plots; self.notes = notes
    }
}

/// `DIR/NAME/summary.json`: an experiment's analysis with how it was made.
public struct ExperimentSummary: Codable, Equatable, Sendable {
    public var name: String
    public var title: String
    public var source: String
    public var claim: String
    public var options: ExperimentOptions
    /// The command that re-runs this experiment.
    public var command: String
    public var runs: Int
    public var failedRuns: Int
    /// Seconds the runs took, summed over runs (each run's own wall time).
    public var runSeconds: Double
    /// Wall seconds of the `reproduce` invocation(s) that ran them.
    public var wallSeconds: Double
    public var machine: MachineInfo
    public var analysis: ExperimentAnalysis
}
