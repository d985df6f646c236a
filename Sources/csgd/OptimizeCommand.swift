import ArgumentParser
import Checkpointing
import CSGDCore
import Communication
import Compression
import Distributed
import Foundation
import Optimization
import Problems

/// `csgd optimize`: runs a method on a synthetic problem with W simulated
/// workers and reports the summary (and, with --eps, the ε-SOSP certificate).
struct OptimizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimize",
        abstract: "Run a method on a synthetic problem over simulated workers.",
        discussion: """
        --problem: saddle, matrix-factorization, phase-retrieval, tensor-decomposition, relu (NAME[:k=v,…]).
        --method: \(Methods.names.joined(separator: ", ")) (NAME[:k=v,…]); see docs/optimize.md.
        """)

    @Option(help: "Problem spec, e.g. saddle:d=10 or relu:d=1000,n=10000.")
    var problem: String

    @Option(help: "Method spec, e.g. alg1:sigma=0.01 or sgd:batch=800.")
    var method: String

    @Option(help: "Mini-batch size per worker: the same as the method's batch=, which it must agree with (default: the method's, 1 unless it says).")
    var batch: Int?

    @Option(parsing: .unconditional, help: "Artificial noise σ per coordinate (\(Methods.perturbedNames.joined(separator: ", "))): the same as the method's sigma=.")
    var noise: Double?

    @Option(help: "Compressor spec (methods that prescribe one ignore nothing: giving another is an error).")
    var compressor: String?

    @Option(help: "Data-parallel workers W (default 1; under --backend mpi, mpirun's -np). In-process, W ranks share at most one thread a core.")
    var workers: Int?

    @Option(help: "Iterations T.")
    var steps: Int = 1000

    @Option(parsing: .unconditional, help: "Step size η (a method's eta= option wins; else the problem's suggestion).")
    var lr: Double?

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "ε for the ε-SOSP certificate (λ_min by Lanczos); enables first_sosp_step.")
    var eps: Double?

    @Option(parsing: .unconditional, help: "ρ for the certificate when the problem does not know it.")
    var rho: Double?

    @Option(help: "Certify every N steps (default: every log interval when --eps is given).")
    var certifyEvery: Int?

    @Option(help: "Log interval in steps.")
    var logEvery: Int = 100

    @Flag(help: "Stop at the first certified ε-SOSP (needs --eps): steps and bits to an ε-SOSP.")
    var stopAtSosp = false

    @Option(help: ArgumentHelp("Kalan et al.'s ensemble (Appendix, Algorithm 1): L runs from one start, return the first result with at least L/2 results within 2√ε of it.",
                               valueName: "L,eps=ε[,ball=absolute|relative]"))
    var ensemble: String?

    @OptionGroup var output: RunOptions
    @OptionGroup var memory: MemoryOptions
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerFlags
    @OptionGroup(title: "Model files") var modelFile: ModelFileOptions

    func run() throws {
        let checkpointPolicy = try output.checkpointPolicy()
        let ensembleSpec = try CLI.orExit { () throws -> Ensemble? in
            guard let ensemble else { return nil }
            let e = try Ensemble.parse(ensemble)
            guard output.backend == .inproc else { throw CSGDError("--ensemble runs its trials in-process; drop --backend \(output.backend.rawValue)") }
            guard checkpointPolicy == nil else { throw CSGDError("--ensemble cannot be checkpointed; drop --checkpoint") }
            return e
        }
        let optimizerOptions = try CLI.orExit { try optimizer.options(steps: steps) }
        let (objective, methodSpec, compressorSpec, theory) = try CLI.orExit { () throws -> (any Objective, any Method, CompressorSpec, TheoryParameters?) in
            try output.checkBackend()
            guard steps >= 1 else { throw CSGDError("--steps \(steps) must be at least 1") }
            if let workers { guard workers >= 1 else { throw CSGDError("--workers \(workers) must be at least 1") } }
            if let lr { guard lr > 0, lr.isFinite else { throw CSGDError("--lr \(lr) must be a positive step size") } }
            if let eps { guard eps > 0 else { throw CSGDError("--eps \(eps) must be positive") } }
            if let rho { guard rho > 0 else { throw CSGDError("--rho \(rho) must be positive") } }
            guard logEvery >= 1 else { throw CSGDError("--log-every \(logEvery) must be at least 1") }
            if stopAtSosp { guard eps != nil else { throw CSGDError("--stop-at-sosp needs --eps (the ε of the ε-SOSP certificate)") } }
            let m = try MethodFlags.apply(batch: batch, defaultBatch: nil, noise: noise, to: try Methods.parse(method))
            let problemSpec = try ProblemSpec.parse(problem)
            // The ranks this process holds: all W in-process, one under mpirun.
            let ranks = output.backend == .mpi ? 1 : (workers ?? 1)
            try memory.budget().require(problemSpec.dataBytes + (output.backend == .mpi ? InProcessRun.bytesPerRank(dimension: problemSpec.dimension)
                                            : InProcessRun.bytes(dimension: problemSpec.dimension, workers: ranks)),
                                        for: "problem '\(problemSpec)' with \(ranks) worker\(ranks == 1 ? "" : "s")")
            if output.backend == .inproc { try RankThreads.checkCapacity(workers: ranks, threads: RankThreads.defaultThreads) }
            let objective = try problemSpec.make()
            let c = try m.compressor(given: compressor.map(CompressorSpec.parse))
            try MethodFlags.check(collective: try Collective.parse(output.collective), method: m, compressor: c)
            let made = try c.make(dimension: objective.dimension)
            var theory: TheoryParameters?
            if m.usesTheory {
                theory = try Self.theory(for: objective, compressor: made, eps: eps, rho: rho)
            }
            return (objective, m, c, theory)
        }
        // --init-from is read and matched against the problem before anything is written.
        let start = try CLI.orExit { () throws -> [Float]? in
            try modelFile.check(resume: output.resume, checkpoint: output.checkpoint)
            if modelFile.saveModel != nil {
                guard ensembleSpec == nil else { throw CSGDError("--save-model with --ensemble: the result is one of L trials, not one run's x_T; drop one of them") }
                guard !stopAtSosp else { throw CSGDError("--save-model with --stop-at-sosp: a run stopped by its certificate has no final evaluation to save from; drop one of them") }
            }
            return try modelFile.initFrom.map { try ModelFile.readVector($0, dimension: objective.dimension, problem: objective.name) }
        }
        // The run hands x_T to its evaluator at the end; it computes nothing.
        let final = modelFile.saveModel == nil ? nil : FinalIterate()
        var evaluator: Evaluator?
        if let final { evaluator = { @Sendable _, x in final.keep(x); return [:] } }
        var config = TrainerConfiguration(
            steps: steps, seed: seed, learningRate: lr, logEvery: logEvery, epsilon: eps, rho: rho,
            certifyEvery: certifyEvery ?? (eps != nil ? logEvery : 0), checkpoint: checkpointPolicy)
        config.stopAtSOSP = stopAtSosp
        config.optimizer = optimizerOptions
        config.collective = try output.collectiveChoice()
        let what = ["problem": objective.name, "method": methodSpec.text, "compressor": compressorSpec.description,
                    "workers": String(workers ?? (output.backend == .mpi ? Backend.launchSize ?? 1 : 1)), "seed": String(seed)]
        /// The iterate as one tensor x of shape [d].
        @Sendable func save(_ x: UnsafeBufferPointer<Float>, step: Int, sha256: String, to path: String) throws {
            try ModelFile.write([SafeTensors.Tensor(name: "x", shape: [x.count], floats: x)],
                                metadata: ModelFile.metadata(what, steps: step, sha256: sha256), to: path)
        }
        modelFile.hookCheckpoints(&config) { x, step, sha256, path in try save(x, step: step, sha256: sha256, to: path) }
        let runObjective = ModelFileOptions.startingAt(start, objective)
        let driver = RunDriver(backend: output.backend, logPath: output.log, resume: output.resume, checkpoint: checkpointPolicy)
        let header = driver.header(
            command: "optimize",
            configuration: RunConfiguration(method: methodSpec, compressor: compressorSpec.description, eta: nil, seed: seed,
                                            workers: workers ?? (output.backend == .mpi ? Backend.launchSize ?? 1 : 1),
                                            batch: methodSpec.batch, steps: steps, backend: output.backend.rawValue, threads: config.threadsPerRank,
                                            problem: (try? ProblemSpec.parse(problem))?.description ?? problem),
            objective: objective, method: methodSpec, compressor: compressorSpec, config: config, theory: theory)
        guard let summary = try driver.run(objective: runObjective, method: methodSpec, compressor: compressorSpec, workers: workers,
                                           config: config, theory: theory, evaluator: evaluator, ensemble: ensembleSpec, header: header) else { return }
        if let path = modelFile.saveModel, let final {
            let x = try final.parameters(sha256: summary.paramsSHA256)
            try x.withUnsafeBufferPointer { try save($0, step: summary.steps, sha256: summary.paramsSHA256, to: path) }
        }
        if output.json {
            CLI.output(try CLI.jsonLine(HeadedSummary(summary: summary, header: header)))
        } else {
            CLI.output(Self.describe(summary, problem: objective.name, method: methodSpec.text, compressor: compressorSpec.description,
                                       workers: workers ?? (output.backend == .mpi ? Backend.launchSize ?? 1 : 1)))
        }
        Backend.finish()
    }

    /// Theory parameters for alg1:theory from the problem's constants.
    static func theory(for objective: any Objective, compressor: any Compressor, eps: Double?, rho: Double?) throws -> TheoryParameters {
        let k = objective.constants
        guard let eps else { throw CSGDError("method 'alg1': theory needs --eps") }
        guard let L = k.L else { throw CSGDError("method 'alg1': theory needs L, which problem '\(objective.name)' does not know") }
        guard let rho = rho ?? k.rho else { throw CSGDError("method 'alg1': theory needs ρ, which problem '\(objective.name)' does not know; pass --rho") }
        let mu = CompressorMu.lowerBound(compressor)
        return try TheoryParameters(TheoryInputs(epsilon: eps, L: L, rho: rho, sigma: k.sigma ?? 0, ell: k.ell,
                                                 dimension: objective.dimension, mu: mu, linear: compressor.isLinear))
    }

    static func describe(_ s: RunSummary, problem: String, method: String, compressor: String, workers: Int) -> String {
        var t = TextTable(header: ["quantity", "value"])
        t.add(["problem", problem]); t.add(["method", method]); t.add(["compressor", compressor]); t.add(["workers", String(workers)])
        t.add(["steps", String(s.steps)]); t.add(["final loss", String(format: "%.6g", s.finalLoss)])
        t.add(["‖∇f‖", String(format: "%.3g", s.gradNorm)])
        if let l = s.lambdaMin { t.add(["λ_min", String(format: "%.4g", l)]) }
        if let sosp = s.isSOSP { t.add(["ε-SOSP", sosp ? "yes" : "no"]) }
        if let f = s.firstSOSPStep { t.add(["first ε-SOSP step", String(f)]) }
        if let r = s.relativeError { t.add(["relative error", String(format: "%.3g", r)]) }
        t.add(["resets", String(s.resets)])
        if let trials = s.metrics["ensemble_trials"], let chosen = s.metrics["ensemble_chosen"],
           let agreeing = s.metrics["ensemble_agreeing"], let radius = s.metrics["ensemble_radius"] {
            let verdict = s.metrics["ensemble_consensus"] == 1 ? "consensus" : "no consensus"
            t.add(["ensemble", "trial \(Int(chosen)) of \(Int(trials)), \(Int(agreeing)) within " + String(format: "%.3g", radius) + " (\(verdict))"])
        }
        t.add(["upload bits/worker", String(s.uploadBitsPerWorker)]); t.add(["download bits/worker", String(s.downloadBitsPerWorker)])
        t.add(["wall seconds", String(format: "%.3f", s.wallSeconds)]); t.add(["params sha256", s.paramsSHA256])
        if let why = s.stoppedEarly { t.add(["stopped", why]) }
        return t.render()
    }
}

/// A run's `--log`: one JSON line a log interval, each written whole
/// through a `LineSink`. The file is opened at the first record, when every
/// check of the run (flags, data, checkpoint compatibility) has passed, so a
/// refused run leaves an earlier log as it was. A fresh run empties it; a
/// resumed run (`--resume`) keeps the interrupted run's lines before the
/// first record's step (cutting the rest, and any line a kill cut short, off
/// the end of a regular file) and appends. The run's `RunHeader` is written
/// before its first record, so a resumed log has one header a segment.
final class JSONLWriter: @unchecked Sendable {
    let path: String
    let resuming: Bool
    /// Written before the first record (`RunHeader`).
    let header: RunHeader?
    private let lock = NSLock()
    private var sink: LineSink?

    /// Checks that `path` can be a log without opening it: not a
    /// directory, in a directory that exists.
    init(path: String, resuming: Bool = false, header: RunHeader? = nil) throws {
        self.path = path
        self.resuming = resuming
        self.header = header
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) != S_IFDIR else { throw CSGDError("--log '\(path)' is a directory") }
        } else {
            let parent = (path as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: parent.isEmpty ? "." : parent, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CSGDError("--log '\(path)': no directory '\(parent)' to write it in")
            }
        }
    }

    var name: String { "the log '\(path)'" }

    /// Writes one record as a line, opening the log at the first.
    func write<T: Encodable>(_ value: T) throws {
        let line = try CLI.jsonLine(value)
        lock.lock(); defer { lock.unlock() }
        if sink == nil {
            sink = try open(from: (value as? StepRecord)?.step ?? Int.max)
            if let header { try sink!.writeLine(try CLI.jsonLine(header)) }
        }
        try sink!.writeLine(line)
    }

    /// Opens the log; resuming at step `from`, keeps the lines before it.
    private func open(from: Int) throws -> LineSink {
        let sink = try LineSink.open(path, name: name, truncate: !resuming)
        guard resuming, sink.isRegular, let data = FileManager.default.contents(atPath: path) else { return sink }
        // The interrupted run's whole lines of steps before `from`, in order,
        // with the headers before them (a summary line ends what is kept).
        var kept = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let end = line.endIndex - data.startIndex
            guard end < data.count,
                  let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { break }
            if obj["type"] as? String == RunHeader.type { continue }
            guard let step = obj["step"] as? Int, step < from else { break }
            kept = end + 1
        }
        try sink.cut(to: kept)
        return sink
    }

    func close() throws {
        lock.lock(); defer { lock.unlock() }
        try sink?.close()
    }
}

/// A one-line progress display on stderr, only when stderr is a terminal.
final class Progress: @unchecked Sendable {
    let total: Int
    let enabled: Bool
    let start = Clock.now()
    /// A total of 0 disables the display (e.g. on MPI ranks other than 0).
    init(total: Int) { self.total = total; enabled = total > 0 && isatty(2) == 1 }
    func update(_ r: StepRecord) {
        guard enabled else { return }
        let frac = Double(r.step) / Double(max(1, total))
        let elapsed = Clock.now() - start
        let eta = frac > 0 ? elapsed * (1 - frac) / frac : 0
        let filled = max(0, min(20, Int((20 * frac).rounded(.down))))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled)
        let line = "\r [\(bar)] step \(r.step)/\(total)" + String(format: " (%3.0f%%)  loss %.5g  ‖g‖ %.3g  ETA %.0fs ", 100 * frac,
                          r.loss, r.stochasticGradNorm > 0 ? r.stochasticGradNorm : r.gradNorm, eta)
        FileHandle.standardError.write(Data(line.utf8))
    }
    func finish() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
