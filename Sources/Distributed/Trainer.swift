import Checkpointing
import Communication
import Compression
import Crypto
import CSGDCore
import Foundation
import Optimization

/// Settings of one run that are not the method's: length, seed, step size,
/// logging, certification, evaluation and checkpoints.
public struct TrainerConfiguration: Sendable {
    public var steps: Int
    public var seed: UInt64
    /// --lr; a method's own `eta=` wins, then this, then the problem's suggestion.
    public var learningRate: Double?
    public var logEvery: Int
    /// ε for the second-order certificate (nil: no certificate).
    public var epsilon: Double?
    /// ρ for the certificate when the objective does not know it.
    public var rho: Double?
    /// Certify every this many steps (0: only at the end).
    public var certifyEvery: Int
    /// Call the evaluator every this many steps (0: only at the end).
    public var evalEvery: Int
    /// Threads a rank may use for its step's passes over d floats (results
    /// are the same bits for any value); 0 = automatic: `InProcessRun` gives
    /// each of its W ranks ⌊cores/W⌋, a lone `Trainer` uses 1.
    public var threadsPerRank: Int
    /// Where and how often to checkpoint, and whether to resume (nil: never).
    public var checkpoint: CheckpointPolicy?
    /// The seed of the initial point x₀ when it is not `seed` (nil: `seed`):
    /// the trials of an ensemble start from one x₀ with their own randomness.
    public var startSeed: UInt64?
    /// End the run at the first record that certifies an ε-SOSP (needs
    /// `epsilon`): what measuring the steps and bits to an ε-SOSP needs.
    public var stopAtSOSP = false
    /// Momentum, weight decay and a step-size schedule added to the
    /// method's chain (`OptimizerOptions`; the default adds nothing).
    public var optimizer = OptimizerOptions()
    /// How error feedback's non-linear messages travel (`--collective`;
    /// the library's default is the all-gather of Algorithm 1 as written).
    public var collective = Collective.allgather
    /// Poll `StopSignal` between steps (about every 10 ms) and, when a
    /// signal came, write a checkpoint and throw `RunStopped` (needs
    /// `checkpoint`; each poll is one 8-byte all-gather).
    public var stopsOnSignal = false
    /// Called on rank 0 at each checkpoint, with its step t, x_t and the
    /// step's directory, after every rank file is written and before the
    /// MANIFEST that completes the checkpoint: for a file of the caller's
    /// own beside it (e.g. the model as safetensors). Must not keep the
    /// pointer; an error fails the checkpoint like a rank file's.
    public var onCheckpoint: (@Sendable (_ step: Int, _ x: UnsafeBufferPointer<Float>, _ directory: String) throws -> Void)?

    /// The threads each of W ranks uses when the run does not say: the
    /// machine's cores shared out, ⌊cores/W⌋, at least 1. The one default
    /// for every runner and command.
    public static func defaultThreadsPerRank(workers: Int) -> Int {
        max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, workers))
    }

    /// What the method reads from the run (--lr, ε, ρ).
    public var methodContext: MethodContext { MethodContext(learningRate: learningRate, epsilon: epsilon, rho: rho, collective: collective) }

    public init(steps: Int, seed: UInt64 = 0, learningRate: Double? = nil, logEvery: Int = 100,
                epsilon: Double? = nil, rho: Double? = nil, certifyEvery: Int = 0, evalEvery: Int = 0, threadsPerRank: Int = 0,
                checkpoint: CheckpointPolicy? = nil) {
        self.steps = steps; self.seed = seed; self.learningRate = learningRate; self.logEvery = logEvery
        self.epsilon = epsilon; self.rho = rho; self.certifyEvery = certifyEvery; self.evalEvery = evalEvery
        self.threadsPerRank = threadsPerRank; self.checkpoint = checkpoint
    }
}

/// An evaluation of the iterate on rank 0 (e.g. test loss and accuracy of a
/// network): named numbers that go into the log line of that step and into
/// the summary. Called with the step and x_t; must not keep the pointer.
public typealias Evaluator = @Sendable (_ step: Int, _ x: UnsafeBufferPointer<Float>) -> [String: Double]

/// One rank of a data-parallel run: the method's `TransformChain` plus the
/// bookkeeping around it (iterate, bits, resets, running norms, log
/// records, the certificate, the evaluation hook, checkpoints).
///
/// Each step builds a fresh `StepState` over this rank's gradient storage
/// and runs the chain (the transforms `Method.chain` builds; see
/// Optimization's `Methods/`). All state is explicit; randomness comes from
/// keys (seed, step, worker, purpose), so every rank computes the same iterate and a run
/// replays bit for bit. That is also why a checkpoint (`config.checkpoint`)
/// needs only x_t, the transforms' states and this bookkeeping to resume a
/// run with the same bits as one never stopped: the random streams and the
/// data cursor are functions of the step (see Trainer+Checkpoint.swift).
public final class Trainer {
    public let objective: any Objective
    public let method: any Method
    public let communicator: Communicator
    public let config: TrainerConfiguration
    public let eta: Double
    public let d: Int
    /// The method's transforms with this rank's states.
    public let chain: TransformChain
    /// The compressor's spec, for checkpoint headers.
    public let compressorName: String
    /// Rank 0's evaluation hook (ignored on other ranks).
    public var evaluator: Evaluator?

    let x: FloatBuffer
    /// The step's gradient: this rank's own, or its thread's (`threadGradient`).
    let gradient: FloatBuffer
    let scratch: ZeroPages
    /// This rank's helper threads, when it has cores to spare.
    public let splitter: PassSplitter?
    var context: StepContext
    /// Rank 0's lock on the checkpoint directory, held during `run`.
    var checkpointLock: CheckpointLock?
    /// Whether this run made its checkpoint directory (it did not exist).
    var createdCheckpointDirectory = false
    /// When the ranks next poll for a stop signal (`agreedStop`, StopSignal.swift).
    var stopPoll = StopPoll()

    public internal(set) var resets = 0
    public internal(set) var uploadBits = 0
    public internal(set) var downloadBits = 0
    /// The first step whose record certified an ε-SOSP.
    public internal(set) var firstSOSPStep: Int?
    /// Wall seconds of the run before its latest resume (0 for a fresh run).
    var elapsedBefore = 0.0
    /// ‖u_t‖ of the applied updates and ‖∇F_i(x_t)‖ of this rank's
    /// stochastic gradients over the last 100 steps (oldest first).
    var updateNorms = RecentMean(capacity: 100)
    var gradientNorms = RecentMean(capacity: 100)
    /// Seconds the evaluator took in the latest record that called it.
    var evaluationSeconds = 0.0
    /// Rank 0's part of the fixed batch when the record splits it (`fixedBatchInParts`), made on first use.
    var recordPart: ZeroPages?
    /// Records whose fixed batch this rank helped evaluate in parts.
    var recordsInParts = 0

    /// `compressor` is the one the method sends with (`method.compressor(given:)`
    /// made for the objective's dimension); `theory` serves alg1's `theory`.
    /// `sharedIterate`, when given, is x_0 already initialised and held by
    /// every rank of `communicator` in this process (`InProcessRun`): the
    /// ranks then move it once a write (`StepContext.writeIterate`), not
    /// each its own copy; nil: this rank's own x, initialised here.
    /// `threadGradient`, when given, is d floats the ranks on this rank's OS
    /// thread share for their gradients; used when the method's chain
    /// consumes the gradient before any collective (the only point where a
    /// rank on a shared thread is suspended; `localDiesBeforeCommunicating`),
    /// else the rank keeps its own. `sharedUpdate`, with `sharedIterate`,
    /// is the averaged update the ranks of the process hold once, used when
    /// it goes straight into the SGD step (`SharedUpdate`).
    /// - Throws: `CSGDError` when the compressor does not fit the objective,
    ///   no step size can be found or the method cannot run on this objective.
    public init(objective: any Objective, method: any Method, compressor: any Compressor,
                communicator: Communicator, config: TrainerConfiguration, theory: TheoryParameters? = nil,
                sharedIterate: FloatBuffer? = nil, threadGradient: FloatBuffer? = nil, sharedUpdate: SharedUpdate? = nil) throws {
        guard compressor.dimension == objective.dimension else {
            throw CSGDError("compressor dimension \(compressor.dimension) != problem dimension \(objective.dimension)")
        }
        if method.batch > 0, let n = objective.finiteSampleCount, method.batch > n {
            throw CSGDError("a mini-batch of \(method.batch) is more than the \(n) samples of '\(objective.name)' "
                + "(batches are drawn with replacement, so it would only repeat them): use batch=\(n) or less, or no batch= for the full gradient")
        }
        var methodContext = config.methodContext
        methodContext.theory = theory
        let built = try method.chain(compressor: compressor, objective: objective, context: methodContext)
        self.objective = objective
        self.method = method
        self.communicator = communicator
        self.config = config
        d = objective.dimension
        eta = built.eta
        chain = TransformChain(try config.optimizer.apply(to: built.transforms, method: method.text), dimension: d, workers: communicator.size)
        // A resume must exchange as the run did (the two-stage exchange keeps an owner memory).
        compressorName = compressor.description + (built.exchange(workers: communicator.size) == .scatter ? " collective=scatter" : "")
        if let shared = sharedIterate {
            guard shared.count == d else { throw CSGDError("a shared iterate of \(shared.count) floats for a problem of dimension \(d)") }
        }
        x = sharedIterate ?? FloatBuffer(count: d)
        if let shared = threadGradient, shared.count == d, chain.localDiesBeforeCommunicating {
            gradient = shared
        } else {
            gradient = FloatBuffer(count: d)
        }
        scratch = try ZeroPages(count: d)
        // Extra threads pay off only for long passes.
        let threads = config.threadsPerRank
        splitter = threads >= 2 && d >= 1 << 16 ? PassSplitter(ways: threads) : nil
        context = StepContext(objective: objective, communicator: communicator, seed: config.seed,
                              parameters: x.buffer, scratch: scratch.buffer, splitter: splitter)
        context.sharesIterate = sharedIterate != nil && communicator.size > 1
        if context.sharesIterate, let sharedUpdate {
            guard sharedUpdate.values.count == d else { throw CSGDError("a shared update of \(sharedUpdate.values.count) floats for a problem of dimension \(d)") }
            context.sharedUpdate = sharedUpdate
        }
        if sharedIterate == nil { objective.initialPoint(seed: config.startSeed ?? config.seed, into: x.buffer) }
    }

    /// The current iterate (identical on every rank).
    public var parameters: FloatBuffer { x }

    /// Whether x is one buffer every rank of the communicator holds.
    public var sharesIterate: Bool { context.sharesIterate }

    /// One step t of the method. Returns a reason when the method stops itself.
    public func step(_ t: Int) throws -> String? {
        context.step = t
        context.uploadBits = 0
        context.downloadBits = 0
        context.resets = 0
        context.updateNorm = nil
        context.gradientSumSquares = nil
        var g = StepState(local: gradient.buffer, stepSize: eta)
        let local = gradient.buffer, eta = self.eta
        let outcome = try chain.step(&g, context: &context) { g in g = StepState(local: local, stepSize: eta) }
        uploadBits += context.uploadBits
        downloadBits += context.downloadBits
        resets += context.resets
        if let n = context.updateNorm { updateNorms.append(n) }
        if let s = context.gradientSumSquares { gradientNorms.append(s.squareRoot()) }
        if case let .stop(why) = outcome { return why }
        return nil
    }

    /// Loss, gradient norms, ‖e‖ and (when asked) the certificate and the
    /// evaluation at x.
    public func record(step t: Int, wall: Double, certify: Bool, evaluate: Bool = false) throws -> StepRecord {
        // x is the same on every rank, so rank 0 alone evaluates f and ∇f
        // there (and, when asked, certifies it by Lanczos) and the others add
        // 0 to its values in the all-reduce the record makes anyway (exact:
        // every rank gets rank 0's bits).
        let root = communicator.rank == 0
        var loss = 0.0, gnorm = 0.0, lambda = 0.0, sosp = 0.0
        let certifying = certify && config.epsilon != nil
        if certifying { _ = try certificateRho() }   // the same error on every rank
        if let parts = objective as? any FixedBatchParts, context.sharesIterate,
           case let count = parts.fixedBatchPartCount, count >= 2, count <= communicator.size {
            // In-process ranks on their own threads: rank c computes part c
            // of the fixed batch, rank 0 sums the parts as fullGradient does
            // (the same bits), each rank's w_c·f_c goes into the loss's sum.
            loss = try fixedBatchInParts(parts, count: count)
            recordsInParts += 1
        } else if root {
            loss = objective.fullGradient(at: x.readOnly, into: scratch.buffer)
        }
        if root {
            gnorm = Kernels.norm2(scratch.readOnly)
            if certifying, let eps = config.epsilon {
                let c = try certificate(epsilon: eps)
                lambda = c.lambdaMin
                sosp = c.isSOSP ? 1 : 0
            }
        }
        let own = [chain.errorMemory.map { Kernels.norm2($0) } ?? 0, gradientNorms.mean, loss, gnorm] + (certifying ? [lambda, sosp] : [])
        let sums = try communicator.allReduceSum(own)
        loss = sums[2]
        gnorm = sums[3]
        let w = Double(communicator.size)
        var metrics: [String: Double] = [:]
        if evaluate, communicator.rank == 0, let evaluator {
            let e0 = Clock.now()
            metrics = evaluator(t, x.readOnly)
            evaluationSeconds = Clock.now() - e0
        }
        return StepRecord(step: t, loss: loss, gradNorm: gnorm, stochasticGradNorm: sums[1] / w, updateNorm: updateNorms.mean,
                          errorNorm: sums[0] / w, lambdaMin: certifying ? sums[4] : nil, isSOSP: certifying ? sums[5] == 1 : nil, relativeError: objective.relativeError(at: x.readOnly),
                          resets: resets, uploadBits: uploadBits, downloadBits: downloadBits, wallSeconds: wall, metrics: metrics)
    }

    /// The fixed batch's parts over the first `count` ranks: returns this
    /// rank's w_c·f_c (0 past the parts), whose sum over the ranks in rank
    /// order is `fullGradient`'s value, and leaves ∇f in rank 0's `scratch`,
    /// summed there in part order as `fullGradient` sums it. Every rank
    /// calls it. The two gathers lend memory between in-process ranks; they
    /// are bookkeeping, not the method's traffic, so they are not counted.
    private func fixedBatchInParts(_ parts: any FixedBatchParts, count: Int) throws -> Double {
        let r = communicator.rank
        var term = (loss: 0.0, weight: 0.0)
        var own = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
        if r < count {
            if r == 0 {   // rank 0 keeps its part apart from scratch, where the sum goes
                let p = try recordPart ?? ZeroPages(count: d)
                recordPart = p
                own = p.buffer
            } else {
                own = scratch.buffer
            }
            term = parts.fixedBatchPart(r, at: x.readOnly, into: own.baseAddress!)
        }
        var terms: [(loss: Double, weight: Double)] = []
        var lent: [(loss: Double, weight: Double, gradient: UnsafePointer<Float>)] = []
        try uncounted {
            try withUnsafeBytes(of: term) { header in
                try communicator.allGather(header) { sender, bytes in
                    guard r == 0, sender < count else { return }
                    terms.append((bytes.loadUnaligned(as: Double.self), bytes.loadUnaligned(fromByteOffset: 8, as: Double.self)))
                }
            }
            // Every part's memory stays lent until the gather's last barrier.
            try communicator.allGather(UnsafeRawBufferPointer(own)) { sender, bytes in
                guard r == 0, sender < count else { return }
                lent.append((terms[sender].loss, terms[sender].weight, bytes.baseAddress!.assumingMemoryBound(to: Float.self)))
                if sender == count - 1 { _ = parts.accumulate(lent, into: scratch.buffer.baseAddress!) }
            }
        }
        return term.weight * term.loss
    }

    /// ρ of the certificate: the run's, else the objective's.
    func certificateRho() throws -> Double {
        guard let rho = config.rho ?? objective.constants.rho else {
            throw CSGDError("the ε-SOSP certificate needs ρ: the problem does not know it, pass --rho")
        }
        return rho
    }

    func certificate(epsilon: Double) throws -> SOSPCertificate {
        try SOSPCertificate.check(objective: objective, at: x.readOnly, epsilon: epsilon, rho: try certificateRho(), seed: config.seed)
    }

    /// Runs every step; `onRecord` sees each logging (or evaluation) interval's record.
    /// With `config.checkpoint` it first resumes from the newest complete
    /// checkpoint (`resume`) or checks that the directory holds none, and
    /// saves a checkpoint before every step t > first that its interval
    /// divides (collectives: every rank takes part), or that a stop signal
    /// reached (`config.stopsOnSignal`; then it throws `RunStopped`), and,
    /// with `policy.final`, one at the step it ends on.
    public func run(onRecord: ((StepRecord) -> Void)? = nil) throws -> RunSummary {
        defer { closeCheckpoints() }
        let first = try config.checkpoint.map { try openCheckpoints($0) } ?? 0
        let start = Clock.now() - elapsedBefore
        var stopped: String?
        var steps = first
        // With stopAtSOSP: the record that certified the first ε-SOSP, and whether it was logged.
        var certified: (record: StepRecord, logged: Bool)?
        // Records are collective (every rank takes part), so when to take
        // one depends on the configuration only; the evaluator runs on rank 0.
        let certifyEvery = config.certifyEvery, evalEvery = config.evalEvery
        var lastSaved = first
        for t in first..<max(first, config.steps) {
            let signal = try agreedStop(before: t, first: first)
            if let policy = config.checkpoint, t > first, t % policy.every == 0 || signal != nil {
                try saveCheckpoint(step: t, elapsed: Clock.now() - start, policy: policy)
                lastSaved = t
                if let signal {
                    // No rank stops (and tears the collectives down) before rank 0's MANIFEST is written.
                    try communicator.barrier()
                    throw RunStopped(signal: signal, step: t, directory: policy.directory)
                }
            }
            let logNow = config.logEvery > 0 && t % config.logEvery == 0
            let certNow = config.epsilon != nil && certifyEvery > 0 && t % certifyEvery == 0
            let evalNow = evalEvery > 0 && t % evalEvery == 0
            if logNow || certNow || evalNow {
                let r = try record(step: t, wall: Clock.now() - start, certify: certNow, evaluate: evalNow)
                if firstSOSPStep == nil, r.isSOSP == true { firstSOSPStep = t }
                if logNow || (evalNow && evaluator != nil) { onRecord?(r) }
                if config.stopAtSOSP, firstSOSPStep != nil {
                    stopped = "first ε-SOSP certified"
                    certified = (r, logNow || (evalNow && evaluator != nil))
                    break
                }
            }
            stopped = try step(t)
            steps = t + 1
            if stopped != nil { break }
        }
        guard Kernels.sumSquares(x.readOnly).isFinite else { throw NonFiniteIterate(step: steps) }
        // A checkpoint at the last step too (`policy.final`): a finished run can be continued with a larger --steps.
        if let policy = config.checkpoint, policy.final, steps > lastSaved {
            try saveCheckpoint(step: steps, elapsed: Clock.now() - start, policy: policy)
        }
        evaluationSeconds = 0
        let final = try certified?.record ?? record(step: steps, wall: Clock.now() - start, certify: config.epsilon != nil, evaluate: evaluator != nil)
        if firstSOSPStep == nil, final.isSOSP == true { firstSOSPStep = steps }
        if certified?.logged != true { onRecord?(final) }
        var summary = RunSummary(
            steps: steps, finalLoss: final.loss, gradNorm: final.gradNorm, lambdaMin: final.lambdaMin, isSOSP: final.isSOSP,
            firstSOSPStep: firstSOSPStep, resets: resets, uploadBitsPerWorker: uploadBits, downloadBitsPerWorker: downloadBits,
            wallSeconds: Clock.now() - start, paramsSHA256: Self.sha256(x), relativeError: objective.relativeError(at: x.readOnly),
            stoppedEarly: stopped, metrics: final.metrics)
        if evaluator != nil, communicator.rank == 0 { summary.evaluationSeconds = evaluationSeconds }
        return summary
    }

    /// Hex SHA-256 of the buffer's bytes.
    public static func sha256(_ b: FloatBuffer) -> String { sha256(b.readOnly) }

    /// Hex SHA-256 of the floats' bytes.
    public static func sha256(_ x: UnsafeBufferPointer<Float>) -> String {
        SHA256.hash(data: UnsafeRawBufferPointer(x)).map { String(format: "%02x", $0) }.joined()
    }
}

/// The mean of the last `capacity` values appended, summed oldest first
/// (fixed storage: appending never allocates).
struct RecentMean {
    private var values: [Double]
    private var next = 0
    private(set) var count = 0

    init(capacity: Int) { values = Array(repeating: 0, count: capacity) }

    mutating func append(_ v: Double) {
        values[next] = v
        next = (next + 1) % values.count
        count = min(count + 1, values.count)
    }

    /// Capacity, next slot, count, then every slot (for a checkpoint).
    func save(to w: inout CheckpointWriter) {
        w.appendUInt32(UInt32(values.count))
        w.appendUInt32(UInt32(next))
        w.appendUInt32(UInt32(count))
        for v in values { w.appendDouble(v) }
    }

    mutating func restore(from r: inout CheckpointReader, _ what: String) throws {
        let capacity = Int(try r.readUInt32(what))
        guard capacity == values.count else { throw r.error("does not fit this run: \(what) holds \(capacity) values, not \(values.count)") }
        let n = Int(try r.readUInt32(what)), c = Int(try r.readUInt32(what))
        guard n < capacity, c <= capacity else { throw r.error("is corrupt: \(what) has slot \(n) and count \(c) of \(capacity)") }
        for i in 0..<capacity { values[i] = try r.readDouble(what) }
        next = n
        count = c
    }

    var mean: Double {
        guard count > 0 else { return 0 }
        var s = 0.0
        var i = (next - count + values.count) % values.count
        for _ in 0..<count {
            s += values[i]
            i = (i + 1) % values.count
        }
        return s / Double(count)
    }
}
