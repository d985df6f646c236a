import CSGDCore
import Communication
import Compression
import Foundation
import Optimization

/// Runs W simulated data-parallel workers in one process, each with its own
/// error memory and shard, sharing one iterate x_t (identical on every
/// rank, so held once and moved once a step: `StepContext.writeIterate`),
/// joined by an `InProcessFabric`, on a pool of at
/// most one thread a core (`RankThreads`: ranks beyond that share threads
/// as fibers).
/// Every message really is encoded, exchanged and decoded, so the bits
/// counted are the bits that would travel. Rank 0 reports. Every rank's
/// communicator is wrapped in a `TimedCommunicator`, so the summary and the
/// log lines carry rank 0's compute/communication split and payload bytes.
public enum InProcessRun {
    /// A lower estimate of the bytes one rank with an iterate of its own
    /// (one rank a process, or a benchmark's rank) takes for a
    /// d-dimensional objective, beside the objective's own data: its
    /// iterate and gradient (two d-vectors of Float32), and its stack and
    /// bookkeeping (64 KiB). Its method's state comes on top.
    public static func bytesPerRank(dimension d: Int) -> Double { 8 * Double(d) + 65536 }

    /// A lower estimate of the bytes `workers` ranks of this runner take
    /// for a d-dimensional objective, beside its data: the one iterate they
    /// share and one gradient an OS thread (`RankThreads.defaultThreads`),
    /// d floats each, and 64 KiB a rank (its stack and bookkeeping). Each
    /// rank's method state comes on top: d floats for an error memory, up
    /// to three d-vectors for a dense compressor's message, its decoding and
    /// the average, K pairs for a sparse one.
    public static func bytes(dimension d: Int, workers: Int) -> Double {
        let lanes = Double(max(1, min(workers, RankThreads.defaultThreads)))
        return 4 * Double(d) * (1 + lanes) + 65536 * Double(max(1, workers))
    }

    /// Runs the method on `workers` ranks and returns rank 0's summary.
    /// `compressor` is the user's choice (nil: none); methods that prescribe
    /// their own (qsgd-sgd, psgd, pgd, cnc) use theirs.
    /// `onRecord` is called on rank 0's thread for each logging interval.
    /// `evaluator` runs on rank 0 every `config.evalEvery` steps and at the
    /// end; its results go into that step's record and the summary (`metrics`).
    public static func run(
        objective: any Objective, method: any Method, compressor given: CompressorSpec?, workers: Int,
        config: TrainerConfiguration, theory: TheoryParameters? = nil,
        onRecord: (@Sendable (StepRecord) -> Void)? = nil,
        evaluator: Evaluator? = nil
    ) throws -> RunSummary {
        try runKeepingParameters(objective: objective, method: method, compressor: given, workers: workers, config: config,
                                 theory: theory, onRecord: onRecord, evaluator: evaluator).summary
    }

    /// `run`, also returning the final iterate x_T (rank 0's, the same on
    /// every rank): what a runner over whole runs needs, e.g. `EnsembleRun`.
    public static func runKeepingParameters(
        objective: any Objective, method: any Method, compressor given: CompressorSpec?, workers: Int,
        config: TrainerConfiguration, theory: TheoryParameters? = nil,
        onRecord: (@Sendable (StepRecord) -> Void)? = nil,
        evaluator: Evaluator? = nil
    ) throws -> (summary: RunSummary, parameters: [Float]) {
        guard workers >= 1 else { throw CSGDError("--workers \(workers) must be at least 1") }
        let threads = RankThreads.defaultThreads
        try RankThreads.checkCapacity(workers: workers, threads: threads)
        let compressor = try method.compressor(given: given)
        let fabric = InProcessFabric(size: workers)
        var config = config
        if config.threadsPerRank == 0 { config.threadsPerRank = TrainerConfiguration.defaultThreadsPerRank(workers: workers) }
        // Build every rank first so that configuration errors surface before any thread starts.
        var trainers: [Trainer] = []
        var timers: [TimedCommunicator] = []
        // One iterate for every rank: x_t is the same on all of them, so
        // they hold it once and move it once a step (each its part).
        let x = FloatBuffer(count: objective.dimension)
        objective.initialPoint(seed: config.startSeed ?? config.seed, into: x.buffer)
        // One gradient buffer an OS thread (rank r runs on thread r mod T),
        // for the ranks whose method consumes the gradient before any collective.
        let lanes = max(1, min(workers, threads))
        let gradients = (0..<lanes).map { _ in FloatBuffer(count: objective.dimension) }
        // One averaged update, where it goes straight into the step (`SharedUpdate`).
        let updatePages = try ZeroPages(count: objective.dimension)
        let update = SharedUpdate(values: updatePages.buffer, storage: updatePages)
        for r in 0..<workers {
            let c = try compressor.make(dimension: objective.dimension)
            let timed = TimedCommunicator(InProcessCommunicator(fabric: fabric, rank: r))
            timers.append(timed)
            trainers.append(try Trainer(objective: objective, method: method, compressor: c,
                                        communicator: timed, config: config, theory: theory, sharedIterate: x,
                                        threadGradient: gradients[r % lanes], sharedUpdate: update))
        }
        trainers[0].evaluator = evaluator
        // Rank 0's records are annotated on rank 0's thread, the only one touching its timer.
        let timer0 = timers[0]
        let report0: (@Sendable (StepRecord) -> Void)?
        if let onRecord {
            report0 = { @Sendable (record: StepRecord) in onRecord(timer0.annotate(record)) }
        } else {
            report0 = nil
        }
        let box = TrainerBox(trainers)
        let summaries = try RankThreads.run(workers, threads: threads) { r in try runRank(box.trainers[r], onRecord: r == 0 ? report0 : nil) }
        return (timer0.annotate(summaries[0]), Array(box.trainers[0].parameters.readOnly))
    }
}

/// Rank r's run; an error aborts its communicator (so that no other rank
/// waits forever in a collective) and is rethrown.
private func runRank(_ trainer: Trainer, onRecord: (@Sendable (StepRecord) -> Void)?) throws -> RunSummary {
    do {
        return try trainer.run(onRecord: onRecord)
    } catch {
        trainer.communicator.abort(reason: String(describing: error))
        throw error
    }
}

/// Hands trainers to rank threads (each thread touches only its own).
public final class TrainerBox: @unchecked Sendable {
    public let trainers: [Trainer]
    public init(_ t: [Trainer]) { trainers = t }
}
