import Communication
import Compression
import CSGDCore
import Distributed
import Foundation
import Optimization

/// Times the optimiser's own work per worker per step (perturb, memory,
/// compress, encode, decode, average, step) for `csgd bench-step`.
///
/// The gradient oracle is trivial: every rank copies one fixed Gaussian
/// vector into its gradient buffer. That copy is timed apart (the chain's
/// head link) and left out of the optimiser's figure. W ranks run as threads
/// joined by the in-process fabric, exactly as `InProcessRun` runs them.
/// After `warmup` untimed steps (first touches, lazy growth) every rank
/// times `steps` steps: wall time, its thread's CPU time, and each link's
/// CPU time. A memcpy of d floats is timed in the same run (thread CPU time,
/// best of 5; warm: source and destination stay cached as the step's
/// buffers do; and cold, after evicting the caches) so results read as
/// memcpy passes. CPU times keep a loaded machine's descheduling out.
public enum StepBenchmark {
    public struct Result: Codable, Sendable {
        public var method: String
        public var compressor: String
        public var dim: Int
        public var workers: Int
        public var steps: Int
        /// Wall seconds a step (all ranks together).
        public var wallPerStep: Double
        /// Threads each rank used (W = 1 on a multi-core machine: all cores).
        public var threadsPerWorker: Int
        /// Mean over ranks of CPU seconds a step (its thread and its
        /// helpers), oracle included: the work.
        public var cpuPerWorkerStep: Double
        /// Mean over ranks of the oracle's seconds a step (the copy).
        public var oraclePerWorkerStep: Double
        /// cpuPerWorkerStep − oraclePerWorkerStep: the optimiser's work.
        public var optimizerPerWorkerStep: Double
        /// With one worker: wall seconds a step minus the oracle (the
        /// latency, which helper threads shorten); nil with several.
        public var optimizerWallPerStep: Double?
        /// Mean over ranks of CPU seconds a step in each link (the rank's
        /// thread only; helpers' time is in cpuPerWorkerStep).
        public var links: [String: Double]
        public var memcpyWarm: Double
        /// nil when no evictor was given.
        public var memcpyCold: Double?
        /// optimizerPerWorkerStep / memcpyWarm.
        public var memcpyPasses: Double
        public var memcpyPassesCold: Double?
        /// optimizerWallPerStep / memcpyWarm.
        public var memcpyPassesWall: Double?

        enum CodingKeys: String, CodingKey {
            case method, compressor, dim, workers, steps, links
            case wallPerStep = "wall_per_step_s"
            case threadsPerWorker = "threads_per_worker"
            case optimizerWallPerStep = "optimizer_wall_per_step_s"
            case memcpyPassesWall = "memcpy_passes_wall"
            case cpuPerWorkerStep = "cpu_per_worker_step_s"
            case oraclePerWorkerStep = "oracle_per_worker_step_s"
            case optimizerPerWorkerStep = "optimizer_per_worker_step_s"
            case memcpyWarm = "memcpy_warm_s"
            case memcpyCold = "memcpy_cold_s"
            case memcpyPasses = "memcpy_passes"
            case memcpyPassesCold = "memcpy_passes_cold"
        }
    }

    /// Runs the benchmark once. With an `evictor` the cold memcpy is timed
    /// too. `threadsPerWorker` 0 is `InProcessRun`'s choice, ⌊cores/W⌋.
    public static func measure(method: any Method, compressor: CompressorSpec?, dimension d: Int, workers: Int,
                               steps: Int, warmup: Int = 3, seed: UInt64 = 0, threadsPerWorker: Int = 0,
                               evictor: CacheEvictor? = nil) throws -> Result {
        guard d >= 1 else { throw CSGDError("--dim \(d) must be positive") }
        guard workers >= 1 else { throw CSGDError("--workers \(workers) must be at least 1") }
        guard steps >= 1 else { throw CSGDError("--steps \(steps) must be at least 1") }
        let spec = try method.compressor(given: compressor)
        let objective = FixedGradient(dimension: d, seed: seed)
        let threads = threadsPerWorker > 0 ? threadsPerWorker : TrainerConfiguration.defaultThreadsPerRank(workers: workers)
        let config = TrainerConfiguration(steps: warmup + steps, seed: seed, learningRate: 1e-3, logEvery: 0, threadsPerRank: threads)
        let fabric = InProcessFabric(size: workers)
        var trainers: [Trainer] = []
        for r in 0..<workers {
            trainers.append(try Trainer(objective: objective, method: method, compressor: try spec.make(dimension: d),
                                        communicator: InProcessCommunicator(fabric: fabric, rank: r), config: config))
        }
        let box = TrainerBox(trainers)
        // One thread a rank: each rank's CPU time is its thread's.
        let perRank = try RankThreads.run(workers, threads: workers) { r in
            let trainer = box.trainers[r]
            do {
                for t in 0..<warmup { _ = try trainer.step(t) }
                try trainer.communicator.barrier()
                let timer = LinkTimer(links: trainer.chain.links.count)
                trainer.chain.observer = timer
                defer { trainer.chain.observer = nil }
                let h0 = trainer.splitter?.helperCPUSeconds ?? 0
                let w0 = Clock.now(), c0 = Clock.threadCPU()
                for t in warmup..<(warmup + steps) { _ = try trainer.step(t) }
                let c1 = Clock.threadCPU(), w1 = Clock.now()
                let helpers = (trainer.splitter?.helperCPUSeconds ?? 0) - h0
                try trainer.communicator.barrier()
                return RankTimes(wall: w1 - w0, cpu: c1 - c0 + helpers, links: timer.seconds)
            } catch {
                trainer.communicator.abort(reason: String(describing: error))
                throw error
            }
        }
        let names = trainers[0].chain.names
        let s = Double(steps), w = Double(workers)
        var links: [String: Double] = [:]
        for (i, name) in names.enumerated() {
            links[name] = perRank.map(\.links).map { $0[i] }.reduce(0, +) / w / s
        }
        let oracle = perRank.map(\.links).map { $0[0] }.reduce(0, +) / w / s
        let cpu = perRank.map(\.cpu).reduce(0, +) / w / s
        let (warm, cold) = memcpyTimes(d, evictor: evictor)
        let optimizer = max(0, cpu - oracle)
        let wall = perRank.map(\.wall).max()! / s
        let latency = workers == 1 ? max(0, wall - oracle) : nil
        return Result(method: method.text, compressor: spec.description, dim: d, workers: workers, steps: steps,
                      wallPerStep: wall, threadsPerWorker: threads, cpuPerWorkerStep: cpu, oraclePerWorkerStep: oracle,
                      optimizerPerWorkerStep: optimizer, optimizerWallPerStep: latency, links: links, memcpyWarm: warm, memcpyCold: cold,
                      memcpyPasses: optimizer / warm, memcpyPassesCold: cold.map { optimizer / $0 }, memcpyPassesWall: latency.map { $0 / warm })
    }

    /// Best of 5 memcpy of d floats: warm (repeated) and cold (after eviction).
    static func memcpyTimes(_ d: Int, evictor: CacheEvictor?) -> (Double, Double?) {
        let a = FloatBuffer(count: d), b = FloatBuffer(count: d)
        RandomFill.uniform(RandomKey(seed: 1, purpose: .benchmark), into: a.buffer)
        var warm = Double.infinity, cold = Double.infinity
        b.pointer.update(from: a.pointer, count: d)
        for _ in 0..<5 {
            let t0 = Clock.threadCPU()
            b.pointer.update(from: a.pointer, count: d)
            warm = min(warm, Clock.threadCPU() - t0)
        }
        guard let ev = evictor else { return (warm, nil) }
        for _ in 0..<5 {
            ev.evict()
            let t0 = Clock.threadCPU()
            b.pointer.update(from: a.pointer, count: d)
            cold = min(cold, Clock.threadCPU() - t0)
        }
        return (warm, cold)
    }

}

/// The benchmark's oracle: ∇F = one fixed N(0, 1) vector on every rank and
/// step (a copy); f = 0. Only `gradient` and `fullGradient` are meaningful.
final class FixedGradient: Objective, @unchecked Sendable {
    let dimension: Int
    let g: FloatBuffer
    var name: String { "fixed-gradient:d=\(dimension)" }
    var constants: ObjectiveConstants { ObjectiveConstants() }

    init(dimension: Int, seed: UInt64) {
        self.dimension = dimension
        g = FloatBuffer(count: dimension)
        RandomFill.gaussian(RandomKey(seed: seed, purpose: .benchmark), sigma: 1, into: g.buffer)
    }

    func loss(at x: UnsafeBufferPointer<Float>) -> Double { 0 }

    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into out: UnsafeMutableBufferPointer<Float>) -> Double {
        out.baseAddress!.update(from: g.pointer, count: dimension)
        return 0
    }

    func fullGradient(at x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) -> Double {
        gradient(at: x, batch: BatchKey(seed: 0, step: 0), into: out)
    }

    func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        Kernels.zero(out)
    }

    func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) { Kernels.zero(x) }
}

/// One rank's timings over the measured steps.
struct RankTimes {
    var wall: Double, cpu: Double, links: [Double]
}

/// A chain observer that adds each link's thread CPU time (prepare and
/// update) to `seconds[link]`: waiting in a collective or being descheduled
/// on a loaded machine does not count.
final class LinkTimer: ChainObserver {
    private(set) var seconds: [Double]
    private var started = 0.0
    init(links: Int) { seconds = Array(repeating: 0, count: links) }
    func willRun(link: Int) { started = Clock.threadCPU() }
    func didRun(link: Int) { seconds[link] += Clock.threadCPU() - started }
}
