import CSGDBench
import ArgumentParser
import CSGDCore
import Compression
import Distributed
import Foundation
import Optimization

/// `csgd bench-step`: the optimiser's own work per worker per step, in
/// memcpy passes over d floats measured in the same run, and how W
/// simulated workers scale against one.
struct BenchStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-step",
        abstract: "Time one step of a method (perturb, memory, compress, encode, decode, average, step) in memcpy passes.",
        discussion: """
        The gradient oracle copies a fixed vector; its time is reported apart and excluded. \
        Per worker per step = the mean over ranks of CPU time in the step (the rank's thread and \
        its helper threads) minus the oracle; with one worker also the wall time (latency). \
        With --workers W > 1 the same run is also timed with one worker, and \
        scaling = wall(W) / (W × wall(1)) is reported (1 = linear).
        """)

    @Option(help: "Compressor spec, e.g. randomk:0.01 or topk:0.01.")
    var compressor: String

    @Option(help: "Dimension d.")
    var dim: Int = 1 << 22

    @Option(help: "Simulated workers W.")
    var workers: Int = 1

    @Option(help: "Timed steps a run.")
    var steps: Int = 20

    @Option(help: "Method spec (e.g. alg1, alg1:sigma=0.01, ef-sgd, sgd).")
    var method: String = "alg1"

    @Option(help: "Threads a worker may use (0: as csgd optimize, ⌊cores/W⌋; the bits are the same for any value).")
    var threads: Int = 0

    @Option(help: "Runs; the best (lowest wall time) is reported.")
    var reps: Int = 3

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Flag(inversion: .prefixedNo, help: "Also time a memcpy from a cold cache (evicting ~2× the last-level cache first).")
    var coldMemcpy = true

    @Flag(help: "Print one JSON object.")
    var json = false

    struct Report: Encodable {
        var run: StepBenchmark.Result
        var single: StepBenchmark.Result?
        var scaling: Double?
        var load: [Double]
    }

    @OptionGroup var memory: MemoryOptions

    func run() throws {
        let (m, c) = try CLI.orExit { () throws -> (any Method, CompressorSpec) in
            guard dim >= 1 else { throw CSGDError("--dim \(dim) must be positive") }
            guard workers >= 1 else { throw CSGDError("--workers \(workers) must be at least 1") }
            guard steps >= 1 else { throw CSGDError("--steps \(steps) must be at least 1") }
            guard reps >= 1 else { throw CSGDError("--reps \(reps) must be at least 1") }
            guard threads >= 0 else { throw CSGDError("--threads \(threads) must not be negative") }
            try memory.budget().require(4 * Double(dim) + Double(workers) * InProcessRun.bytesPerRank(dimension: dim),
                                        for: "--dim \(dim) with \(workers) worker\(workers == 1 ? "" : "s")")
            let m = try Methods.parse(method)
            let c = try CompressorSpec.parse(compressor)
            _ = try m.compressor(given: c).make(dimension: dim)
            return (m, c)
        }
        let evictor = coldMemcpy ? CacheEvictor() : nil
        func best(_ w: Int) throws -> StepBenchmark.Result {
            var out: StepBenchmark.Result?
            for _ in 0..<reps {
                let r = try CLI.orExit {
                    try StepBenchmark.measure(method: m, compressor: c, dimension: dim, workers: w, steps: steps, seed: seed,
                                              threadsPerWorker: threads, evictor: evictor)
                }
                if out == nil || r.wallPerStep < out!.wallPerStep { out = r }
            }
            return out!
        }
        let main = try best(workers)
        let single = workers > 1 ? try best(1) : nil
        let scaling = single.map { main.wallPerStep / (Double(workers) * $0.wallPerStep) }
        let report = Report(run: main, single: single, scaling: scaling, load: Self.loadAverage())
        if json {
            print(try CLI.jsonLine(report))
            return
        }
        var t = TextTable(header: ["quantity", "value"])
        t.add(["method", main.method]); t.add(["compressor", main.compressor]); t.add(["d", String(dim)])
        t.add(["workers", String(workers)]); t.add(["timed steps", String(steps)])
        func cold(_ v: Double?, _ f: String) -> String { v.map { String(format: f, $0) } ?? "-" }
        t.add(["memcpy of d floats (warm / cold)", String(format: "%.3f ms / ", 1e3 * main.memcpyWarm) + cold(main.memcpyCold.map { 1e3 * $0 }, "%.3f ms")])
        t.add(["optimiser per worker per step (CPU)", String(format: "%.3f ms", 1e3 * main.optimizerPerWorkerStep)])
        t.add(["  in memcpy passes (warm / cold)", String(format: "%.2f / ", main.memcpyPasses) + cold(main.memcpyPassesCold, "%.2f")])
        if let l = main.optimizerWallPerStep, let p = main.memcpyPassesWall {
            t.add(["optimiser wall per step (\(main.threadsPerWorker) thread\(main.threadsPerWorker == 1 ? "" : "s"))",
                   String(format: "%.3f ms = %.2f memcpy passes", 1e3 * l, p)])
        }
        t.add(["oracle copy per worker per step", String(format: "%.3f ms (excluded)", 1e3 * main.oraclePerWorkerStep)])
        t.add(["wall per step", String(format: "%.3f ms", 1e3 * main.wallPerStep)])
        for (name, s) in main.links.sorted(by: { $0.key < $1.key }) {
            t.add(["  link \(name)", String(format: "%.3f ms (CPU)", 1e3 * s)])
        }
        if let single, let scaling {
            t.add(["wall per step, 1 worker", String(format: "%.3f ms", 1e3 * single.wallPerStep)])
            t.add(["scaling wall(W)/(W·wall(1))", String(format: "%.3f", scaling)])
        }
        t.add(["load average (1, 5, 15 min)", report.load.map { String(format: "%.2f", $0) }.joined(separator: " ")])
        print(t.render())
    }

    /// The machine's load average, to judge how shared the timing was.
    static func loadAverage() -> [Double] {
        var l = [Double](repeating: 0, count: 3)
        return getloadavg(&l, 3) == 3 ? l : []
    }
}
