import CSGDCore
import Compression
import Foundation
import Optimization

/// Runs W simulated data-parallel workers in one process: one thread a rank,
/// each with its own error memory and shard, joined by an `InProcessFabric`.
/// Every message really is encoded, exchanged and decoded, so the bits
/// counted are the bits that would travel. Rank 0 reports. Every rank's
/// communicator is wrapped in a `TimedCommunicator`, so the summary and the
/// log lines carry rank 0's compute/communication split and payload bytes.
public enum InProcessRun {
    /// Runs the method on `workers` ranks and returns rank 0's summary.
    /// `compressor` is the user's choice (nil: none); methods that prescribe
    /// their own (qsgd-sgd, psgd, pgd, cnc) use theirs.
    /// `onRecord` is called on rank 0's thread for each logging interval.
    /// `evaluator` runs on rank 0 every `config.evalEvery` steps and at the
    /// end; its results go into that step's record and the summary (`metrics`).
    public static func run(
        objective: any Objective, method: MethodSpec, compressor given: CompressorSpec?, workers: Int,
        config: TrainerConfiguration, theory: TheoryParameters? = nil,
        onRecord: (@Sendable (StepRecord) -> Void)? = nil,
        evaluator: Evaluator? = nil
    ) throws -> RunSummary {
        guard workers >= 1 else { throw CSGDError("--workers \(workers) must be at least 1") }
        let compressor = try method.compressor(given: given)
        let fabric = InProcessFabric(size: workers)
        var config = config
        if config.threadsPerRank == 0 { config.threadsPerRank = max(1, ProcessInfo.processInfo.activeProcessorCount / workers) }
        // Build every rank first so that configuration errors surface before any thread starts.
        var trainers: [Trainer] = []
        var timers: [TimedCommunicator] = []
        for r in 0..<workers {
            let c = try compressor.make(dimension: objective.dimension)
            let timed = TimedCommunicator(InProcessCommunicator(fabric: fabric, rank: r))
            timers.append(timed)
            trainers.append(try Trainer(objective: objective, method: method, compressor: c,
                                        communicator: timed, config: config, theory: theory))
        }
        trainers[0].evaluator = evaluator
        // Rank 0's records are annotated on rank 0's thread, the only one touching its timer.
        let timer0 = timers[0]
        var report0: (@Sendable (StepRecord) -> Void)?
        if let onRecord {
            report0 = { @Sendable (record: StepRecord) in onRecord(timer0.annotate(record)) }
        }
        let results = ResultBox(count: workers)
        let box = TrainerBox(trainers)
        if workers == 1 {
            return timer0.annotate(try trainers[0].run(onRecord: report0))
        }
        // One dedicated thread a rank: every rank must be live at once, since
        // each collective waits for all of them.
        for r in 0..<workers {
            let report: (@Sendable (StepRecord) -> Void)? = r == 0 ? report0 : nil
            let thread = Thread { runRank(r, box: box, results: results, onRecord: report) }
            thread.stackSize = 8 << 20
            thread.start()
        }
        for r in 0..<workers { results.wait(r) }
        // The first real error wins over the "another rank aborted" echoes.
        let all = results.values.compactMap { $0 }
        if let e = all.compactMap({ r -> Error? in if case let .failure(e) = r, !(e is CommunicatorError) { return e }; return nil }).first { throw e }
        if let e = all.compactMap({ r -> Error? in if case let .failure(e) = r { return e }; return nil }).first { throw e }
        guard case let .success(s)? = results.values[0] else { throw CSGDError("internal: rank 0 produced no result") }
        return timer0.annotate(s)
    }
}

/// The body of rank r's thread.
private func runRank(_ r: Int, box: TrainerBox, results: ResultBox, onRecord: (@Sendable (StepRecord) -> Void)?) {
    do {
        let s = try box.trainers[r].run(onRecord: onRecord)
        results.set(r, .success(s))
    } catch {
        box.trainers[r].communicator.abort(reason: String(describing: error))
        results.set(r, .failure(error))
    }
    results.done(r)
}

/// Hands trainers to rank threads (each thread touches only its own).
final class TrainerBox: @unchecked Sendable {
    let trainers: [Trainer]
    init(_ t: [Trainer]) { trainers = t }
}

/// Collects per-rank results across threads.
final class ResultBox: @unchecked Sendable {
    var values: [Result<RunSummary, Error>?]
    var finished: [Bool]
    let condition = NSCondition()
    init(count: Int) {
        values = Array(repeating: nil, count: count)
        finished = Array(repeating: false, count: count)
    }
    func set(_ r: Int, _ v: Result<RunSummary, Error>) {
        condition.lock(); values[r] = v; condition.unlock()
    }
    func done(_ r: Int) {
        condition.lock(); finished[r] = true; condition.broadcast(); condition.unlock()
    }
    func wait(_ r: Int) {
        condition.lock()
        while !finished[r] { condition.wait() }
        condition.unlock()
    }
}
