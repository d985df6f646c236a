import ArgumentParser
import Checkpointing
import Compression
import CSGDCore
import Distributed
import Foundation
import NeuralNet
import Optimization

/// What `optimize` and `train` share around a run: the log and progress on
/// the reporting rank (the log is opened only when the run has passed every
/// check and writes its first record; a failed write stops the run with one
/// line and exit status 1), the backend call, and the exit codes (2 for bad
/// input, 3 for a non-finite iterate, naming the kept log and checkpoint; 1
/// for a file that cannot be written, `IOFailure`). SIGTERM and SIGINT stop
/// the run (`StopSignal`): with a checkpoint directory, after writing the
/// checkpoint of the step reached, with one line saying how to resume and
/// exit status 0; without one, at once with exit status 128 + the signal.
/// The log starts with the run's `RunHeader` and, when the run finishes,
/// ends with its summary (`LogSummary`).
/// Returns nil on ranks that do not report (MPI ranks other than 0).
struct RunDriver {
    var backend: Backend
    var logPath: String?
    var resume: Bool
    var checkpoint: CheckpointPolicy?

    func run(objective: any Objective, method: any Method, compressor: CompressorSpec, workers: Int?,
             config: TrainerConfiguration, theory: TheoryParameters? = nil, evaluator: Evaluator? = nil,
             ensemble: Ensemble? = nil, header: RunHeader? = nil) throws -> RunSummary? {
        let reporter = backend.launchRank == 0
        StopSignal.install(resumable: checkpoint != nil && ensemble == nil)
        var config = config
        config.stopsOnSignal = checkpoint != nil
        let logWriter = try CLI.orExit { try reporter ? logPath.map { try JSONLWriter(path: $0, resuming: resume, header: header) } : nil }
        let progress = Progress(total: reporter ? config.steps : 0)
        let summary: RunSummary
        do {
            let onRecord: @Sendable (StepRecord) -> Void = { record in
                // A log that cannot be written stops the run: one line, exit 1.
                do { try logWriter?.write(record) } catch {
                    progress.finish()
                    CLI.fail(String(describing: error), status: 1)
                }
                progress.update(record)
            }
            if let ensemble {
                // Kalan et al.'s ensemble: L whole runs in this process, then the vote.
                summary = try EnsembleRun.run(ensemble, objective: objective, method: method, compressor: compressor,
                                              workers: workers ?? 1, config: config, theory: theory, onRecord: onRecord)
            } else {
                let ran = try backend.run(objective: objective, method: method, compressor: compressor, workers: workers,
                                          config: config, theory: theory, evaluator: evaluator, onRecord: onRecord)
                guard ran.reports else { Backend.finish(); return nil }
                summary = ran.summary
            }
        } catch let e as CSGDError {
            progress.finish()
            CLI.fail(e.message, status: 2)
        } catch let stop as RunStopped {
            progress.finish()
            do { try logWriter?.close() } catch { CLI.fail(String(describing: error), status: 1) }
            Backend.finish()
            _ = try? LineSink.standardError.writeLine("csgd: \(CSGDError.oneLine(stop.description))")
            CLI.flushStandardOutput()
            Foundation.exit(0)
        } catch let e as NonFiniteIterate {
            progress.finish()
            let kept = checkpoint.flatMap { p in
                CheckpointDirectory(p.directory).newestComplete().map { "; last good checkpoint (step \($0)) kept in \(p.directory)" }
            }
            CLI.fail(e.description + (logPath.map { "; log kept in \($0)" } ?? "") + (kept ?? ""), status: 3)
        } catch {
            progress.finish()
            CLI.fail(String(describing: error), status: 1)
        }
        progress.finish()
        do {
            try logWriter?.write(LogSummary(summary))
            try logWriter?.close()
        } catch { CLI.fail(String(describing: error), status: 1) }
        return summary
    }

    /// The header of a run of `command` (see `RunHeader`): this binary's
    /// version and commit, the command line as parsed, `configuration` with
    /// the backend and the step size η the method's chain starts with, and
    /// this machine.
    func header(command: String, configuration: RunConfiguration, objective: any Objective, method: any Method,
                compressor: CompressorSpec, config: TrainerConfiguration, theory: TheoryParameters?) -> RunHeader {
        var configuration = configuration
        configuration.backend = backend.rawValue
        configuration.optimizer = config.optimizer.isPlain ? "none" : config.optimizer.description
        // η as the chain resolves it (eta=, --lr, the method's or the
        // problem's); a run that cannot resolve one is refused by the runner.
        var context = config.methodContext
        context.theory = theory
        let chain = try? method.chain(compressor: compressor.make(dimension: objective.dimension), objective: objective, context: context)
        configuration.eta = chain?.eta
        configuration.collective = chain?.exchange(workers: configuration.workers)?.rawValue
        let given = CLI.attachingNegativeNumbers(Array(CommandLine.arguments.dropFirst()))
        return RunHeader(version: CSGDVersion.number, commit: BuildInfo.commit, commitModified: BuildInfo.commit == nil ? nil : BuildInfo.modified,
                         command: command, arguments: (try? ResumeArguments.expand(given)) ?? given,
                         configuration: configuration, machine: RunMachine.current(blasCore: OpenBLASCore.current ?? "unknown"))
    }
}

/// A `--json` summary with the run's header as its `header` key (every
/// other key as the summary writes it).
struct HeadedSummary<Summary: Encodable>: Encodable {
    var summary: Summary
    var header: RunHeader

    enum CodingKeys: String, CodingKey { case header }

    func encode(to encoder: Encoder) throws {
        try summary.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(header, forKey: .header)
    }
}

/// The options `optimize` and `train` share: where the ranks run, the log,
/// JSON output and checkpoints.
struct RunOptions: ParsableArguments {
    @Option(help: "Write one JSON line per log interval to this file.")
    var log: String?

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    @Option(name: .customLong("backend"),
            help: "Where the ranks run: inproc (W ranks in this process) or mpi (one process a rank under mpirun -np W; needs the MPI trait). Default: mpi when mpirun started csgd, else inproc.")
    var backendChoice: Backend?

    /// The backend: as given, else mpi when mpirun started this process
    /// (Open MPI announces the job's size in the environment), else inproc.
    var backend: Backend { backendChoice ?? (Backend.launchSize != nil ? .mpi : .inproc) }

    /// Refuses `--backend inproc` under mpirun: every process would run the whole job.
    func checkBackend() throws {
        if backendChoice == .inproc, let n = Backend.launchSize {
            throw CSGDError("--backend inproc under mpirun: each of the \(n) processes would run the whole job; drop --backend (under mpirun csgd uses mpi)")
        }
    }

    @Option(help: "How non-linear messages (topk, sign, qsgd, fp64) travel: allgather (every rank receives W − 1 whole messages; Algorithm 1 as written), scatter (DoubleSqueeze's two stages: block-wise messages to the slices' owners, who compress the average again, with their own error memory under error feedback, and all-gather it; about 2(W − 1)/W messages a rank) or auto (scatter from W = 3 when d ≥ 64·W). Without error feedback (sgd, qsgd-sgd) only qsgd and fp64 take the two stages (unbiased, no memory needed). Linear compressors keep their all-reduce. See docs/optimize.md.")
    var collective: String = "auto"

    /// The `--collective` choice; a value it does not know is bad input.
    func collectiveChoice() throws -> Collective { try CLI.orExit { try Collective.parse(collective) } }

    @Option(help: "Write checkpoints into this directory (atomically; SIGTERM or SIGINT then stops the run with a final checkpoint and exit 0; see docs/checkpoints.md).")
    var checkpoint: String?

    @Option(help: "Checkpoint every N steps (needs --checkpoint; default \(CheckpointPolicy.defaultEvery)).")
    var checkpointEvery: Int?

    @Flag(help: "Continue from the newest complete checkpoint in --checkpoint DIR (same objective, method, compressor, W and seed).")
    var resume = false

    /// The checkpoint policy the flags ask for; misuse exits 2 with one line.
    func checkpointPolicy() throws -> CheckpointPolicy? {
        var policy = try CLI.orExit { try CheckpointPolicy.fromFlags(directory: checkpoint, every: checkpointEvery, resume: resume) }
        // A fresh run keeps its command line beside its checkpoints, for `--resume --checkpoint DIR` alone.
        if policy?.resume == false { policy?.command = CLI.attachingNegativeNumbers(Array(CommandLine.arguments.dropFirst())) }
        return policy
    }
}

/// `--max-memory`: the memory a command may plan to use (default: what the
/// system has available when it starts); larger plans are refused in one line.
struct MemoryOptions: ParsableArguments {
    @Option(help: "Refuse runs estimated to need more memory than this (e.g. 512M, 8G; default: the memory available).")
    var maxMemory: String?

    /// The budget the options give; a malformed size is bad input.
    func budget() throws -> MemoryBudget {
        MemoryBudget.limit(try maxMemory.map(MemoryBudget.parse))
    }
}

/// Momentum, weight decay and a step-size schedule on top of the method
/// (`OptimizerOptions`), for `optimize` and `train`.
struct OptimizerFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: "Heavy-ball momentum β (0: none), on the averaged update after communication unless --momentum-at worker.")
    var momentum: Double = 0

    @Option(help: "Where momentum sits: update (after averaging, every rank the same) or worker (each worker's gradient before error feedback and compression).")
    var momentumAt: String = "update"

    @Flag(help: "Nesterov momentum instead of heavy ball (needs --momentum).")
    var nesterov = false

    @Option(parsing: .unconditional, help: "L2 weight decay λ: adds λ·x to the averaged update (0: none).")
    var weightDecay: Double = 0

    @Option(help: "Step-size schedule: constant, step:every=S[,gamma=G] or cosine, each with [,]warmup=W (default: constant η).")
    var schedule: String?

    /// The options for a run of `steps` steps; bad values are bad input.
    func options(steps: Int) throws -> OptimizerOptions {
        guard let placement = OptimizerOptions.MomentumPlacement(rawValue: momentumAt) else {
            throw CSGDError("--momentum-at '\(momentumAt)' is not known (expected update or worker)")
        }
        if placement == .worker && momentum == 0 { throw CSGDError("--momentum-at worker needs --momentum β > 0") }
        let o = OptimizerOptions(momentum: momentum, nesterov: nesterov, weightDecay: weightDecay,
                                 schedule: try schedule.map { try Schedule.parse($0, steps: steps) }, momentumAt: placement)
        try o.validate()
        return o
    }
}
