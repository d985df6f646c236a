import CSGDBench
import ArgumentParser
import CSGDCore
import Datasets
import Foundation
import NeuralNet

/// `csgd bench-train`: training throughput of a model (forward, backward,
/// SGD step) on random data, beside a large SGEMM measured in the same run
/// and, with --torch, PyTorch's reference script run right after.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-train",
        abstract: "Time forward + backward + SGD steps of a model on random data.",
        discussion: """
        MODEL: mnist-ae[:loss=bce], mlp:784-256-10[,act=…][,dropout=P], resnet:N[,width=W], vgg:B[,width=W].
        --threads T with --split batch runs T parts of each batch on T threads (single-threaded BLAS);
        --split blas keeps one part and gives OpenBLAS T threads.
        """)

    @Option(help: "Model spec.")
    var model: String = "mnist-ae"

    @Option(help: "Mini-batch size B.")
    var batch: Int = 64

    @Option(help: "Timed steps.")
    var steps: Int = 300

    @Option(help: "Untimed warm-up steps.")
    var warmup: Int = 30

    @Option(help: "Threads T.")
    var threads: Int = 2

    @Option(help: "How threads are used: batch or blas.")
    var split: String = "batch"

    @Option(help: "Sample shape CxHxW.")
    var input: String = "1x28x28"

    @Option(help: "Classes (classifiers).")
    var classes: Int = 10

    @Option(name: [.customLong("dataset"), .customLong("data")],
            help: "Train on this data set's training split (e.g. fashion-mnist) instead of random data; sets the input shape and classes. (--data: the older spelling.)")
    var data: String?

    @Option(help: "Also run this PyTorch reference script (torch_ae_bench.py for mnist-ae; scripts/torch-resnet-bench for resnet:N, every depth csgd builds, given --depth and --width) with the same batch, steps and threads; refused when its parameter count differs from the model's.")
    var torch: String?

    @Option(help: "With --torch: rounds of csgd then PyTorch, back to back; the round with the median ratio is reported, every round listed.")
    var rounds: Int = 1

    @Flag(help: "Also time each layer alone (forward, backward, im2col/col2im).")
    var profile = false

    @Flag(help: "Keep OpenBLAS's own kernel choice even when it is a generic one.")
    var keepBlasCore = false

    @Flag(help: "Print one JSON object.")
    var json = false

    /// One flat JSON object: the benchmark's keys (samples_per_sec,
    /// ms_per_step, params, …) at the top level, then the extras.
    struct Report: Encodable {
        var result: TrainingBenchmark.Result
        var blas_core_detected: String
        var torch: TorchFigures?
        var speedup_vs_torch: Double?
        var layers: [LayerProfiler.Row]?
        var sgemm_gflops_one_thread: Double?
        var rounds: [Round]?

        enum Extra: String, CodingKey { case blas_core_detected, torch, speedup_vs_torch, layers, sgemm_gflops_one_thread, rounds }

        func encode(to encoder: Encoder) throws {
            try result.encode(to: encoder)
            var c = encoder.container(keyedBy: Extra.self)
            try c.encode(blas_core_detected, forKey: .blas_core_detected)
            try c.encodeIfPresent(torch, forKey: .torch)
            try c.encodeIfPresent(speedup_vs_torch, forKey: .speedup_vs_torch)
            try c.encodeIfPresent(layers, forKey: .layers)
            try c.encodeIfPresent(sgemm_gflops_one_thread, forKey: .sgemm_gflops_one_thread)
            try c.encodeIfPresent(rounds, forKey: .rounds)
        }
    }

    /// One csgd-then-PyTorch round: both rates, their ratio, and the 1-minute
    /// load average when the round started (how shared the machine was).
    struct Round: Codable {
        var samples_per_sec: Double
        var torch_samples_per_sec: Double
        var speedup_vs_torch: Double
        var sgemm_gflops: Double
        var load_average: Double
    }

    struct TorchFigures: Codable {
        var samples_per_sec: Double
        var ms_per_step: Double
        var params: Int?
        var threads: Int?
        var torch: String?
    }

    @OptionGroup var memory: MemoryOptions

    func run() throws {
        let (built, splitMode, dataset) = try CLI.orExit { () throws -> (Model, TrainingBenchmark.Split, Dataset?) in
            let budget = try memory.budget()
            func fits(_ m: Model) throws -> Model {
                try budget.require(m.trainingBytes(batch: batch, workers: 1, threads: min(threads, batch)),
                                   for: "model '\(m.name)' (\(m.parameterCount) parameters) at batch \(batch)")
                return m
            }
            guard batch >= 1 else { throw CSGDError("--batch \(batch) must be positive") }
            guard steps >= 1 else { throw CSGDError("--steps \(steps) must be positive") }
            guard warmup >= 0 else { throw CSGDError("--warmup \(warmup) must be non-negative") }
            guard threads >= 1 else { throw CSGDError("--threads \(threads) must be positive") }
            guard rounds >= 1 else { throw CSGDError("--rounds \(rounds) must be positive") }
            guard rounds == 1 || torch != nil else { throw CSGDError("--rounds \(rounds) needs --torch (rounds alternate csgd and PyTorch)") }
            guard let s = TrainingBenchmark.Split(rawValue: split.lowercased()) else {
                throw CSGDError("--split '\(split)' is not one of: batch, blas")
            }
            let spec = try ModelSpec.parse(model)
            if let script = torch { try Self.checkTorch(script) }
            if let text = data {
                let d = try DatasetSpec.parse(text).load(split: .train)
                return (try fits(spec.build(input: TensorShape(d.channels, d.height, d.width), classes: d.classes)), s, d)
            }
            let dims = input.lowercased().split(separator: "x").map { Int($0) }
            guard dims.count == 3, let c = dims[0], let h = dims[1], let w = dims[2], c >= 1, h >= 1, w >= 1 else {
                throw CSGDError("--input '\(input)' is not CxHxW with positive sizes")
            }
            return (try fits(spec.build(input: TensorShape(c, h, w), classes: classes)), s, nil)
        }
        let detected = OpenBLASCore.current ?? "unknown"
        if !keepBlasCore { OpenBLASCore.upgradeIfGeneric() }
        func measure() -> TrainingBenchmark.Result {
            TrainingBenchmark.run(model: built, batch: batch, steps: steps, warmup: warmup, threads: threads,
                                  split: splitMode, data: dataset)
        }
        var result: TrainingBenchmark.Result
        var torchFigures: TorchFigures? = nil
        var roundList: [Round]? = nil
        if let script = torch {
            var measured: [(TrainingBenchmark.Result, TorchFigures, Round)] = []
            for _ in 0..<rounds {
                let load = BenchStepCommand.loadAverage().first ?? 0
                let r = measure()
                let t = try CLI.orExit { try runTorch(script, model: built) }
                measured.append((r, t, Round(samples_per_sec: r.samples_per_sec, torch_samples_per_sec: t.samples_per_sec,
                                             speedup_vs_torch: r.samples_per_sec / t.samples_per_sec, sgemm_gflops: r.sgemm_gflops,
                                             load_average: load)))
            }
            // The round with the median ratio (the lower middle one for an even count).
            let median = measured.sorted { $0.2.speedup_vs_torch < $1.2.speedup_vs_torch }[(measured.count - 1) / 2]
            result = median.0
            torchFigures = median.1
            roundList = rounds > 1 ? measured.map(\.2) : nil
        } else {
            result = measure()
        }
        var report = Report(result: result, blas_core_detected: detected)
        report.rounds = roundList
        if profile {
            let previous = BLAS.threads
            BLAS.threads = 1
            report.layers = LayerProfiler.profile(model: built, batch: batch)
            report.sgemm_gflops_one_thread = TrainingBenchmark.sgemmGflops(size: 2048, threads: 1)
            BLAS.threads = previous
        }
        if let t = torchFigures {
            report.torch = t
            report.speedup_vs_torch = result.samples_per_sec / t.samples_per_sec
        }
        if json {
            print(try CLI.jsonLine(report))
            return
        }
        print(String(format: "samples_per_sec %.1f, ms_per_step %.3f, params ", result.samples_per_sec, result.ms_per_step) + "\(result.params)")
        print("model \(result.model) on \(result.data), batch \(result.batch), threads \(result.threads) (split \(result.split.rawValue)), "
              + "BLAS \(result.blas_core) (detected \(detected)), "
              + String(format: "model %.1f GFLOP/s, sgemm 2048³ %.1f GFLOP/s", result.model_gflops, result.sgemm_gflops))
        if let t = report.torch, let r = report.speedup_vs_torch {
            print(String(format: "torch: samples_per_sec %.1f, ms_per_step %.3f; speedup %.2fx", t.samples_per_sec, t.ms_per_step, r)
                  + (t.params.map { ", params \($0)" } ?? ""))
        }
        if let list = report.rounds {
            print("rounds (csgd then torch; the median-ratio round is reported above): " + list.map {
                String(format: "%.1f/%.1f = %.2fx (load %.2f)", $0.samples_per_sec, $0.torch_samples_per_sec, $0.speedup_vs_torch, $0.load_average)
            }.joined(separator: ", "))
        }
        if let rows = report.layers {
            var table = TextTable(header: ["layer", "forward ms", "backward ms", "im2col/col2im ms", "GEMM+bias GFLOP/s"])
            for r in rows {
                let gemmTime = r.forward_ms + r.backward_ms - r.reshape_ms
                table.add([r.layer, String(format: "%.3f", r.forward_ms), String(format: "%.3f", r.backward_ms),
                           String(format: "%.3f", r.reshape_ms), r.gemm_flops > 0 ? String(format: "%.1f", r.gemm_flops / gemmTime / 1e6) : "-"])
            }
            let total = rows.reduce(0) { $0 + $1.forward_ms + $1.backward_ms }
            let reshape = rows.reduce(0) { $0 + $1.reshape_ms }
            let gemmLayers = rows.filter { $0.gemm_flops > 0 }.reduce(0) { $0 + $1.forward_ms + $1.backward_ms - $1.reshape_ms }
            print("single-thread layer profile at batch \(batch) (sgemm 2048³ on 1 thread: "
                  + String(format: "%.1f GFLOP/s):", report.sgemm_gflops_one_thread ?? 0))
            print(table.render())
            print(String(format: "sum %.3f ms: GEMM layers %.3f ms (%.0f%%), im2col/col2im %.3f ms (%.0f%%), elementwise and the rest %.3f ms (%.0f%%)",
                         total, gemmLayers, 100 * gemmLayers / total, reshape, 100 * reshape / total,
                         total - gemmLayers - reshape, 100 * (total - gemmLayers - reshape) / total))
        }
    }

    /// What `--torch` needs, checked before the benchmark runs (so a typo
    /// costs no benchmark): the script is a readable file, python3 is on
    /// PATH and imports torch. Returns python3's path.
    @discardableResult
    static func checkTorch(_ script: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: script, isDirectory: &isDirectory) else {
            throw CSGDError("--torch '\(script)': no such file")
        }
        guard !isDirectory.boolValue else { throw CSGDError("--torch '\(script)' is a directory, not a script") }
        guard FileManager.default.isReadableFile(atPath: script) else { throw CSGDError("--torch '\(script)' is not readable") }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let python = path.split(separator: ":").map({ "\($0)/python3" }).first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw CSGDError("--torch needs python3 on PATH")
        }
        let (status, _, err) = try run(python, ["-c", "import torch"])
        guard status == 0 else {
            throw CSGDError("--torch: \(python) cannot import torch" + (err.map { " (\($0))" } ?? ""))
        }
        return python
    }

    /// Runs `executable arguments`; returns its status, its standard output
    /// and the last non-empty line of its standard error (read as it runs,
    /// so neither pipe fills).
    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, Data, String?) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw CSGDError("cannot run \(executable): \(error)") }
        final class Reader: @unchecked Sendable {
            let handle: FileHandle
            var data = Data()
            let done = DispatchSemaphore(value: 0)
            init(_ handle: FileHandle) { self.handle = handle }
        }
        let errors = Reader(err.fileHandleForReading)
        Thread { errors.data = errors.handle.readDataToEndOfFile(); errors.done.signal() }.start()
        let bytes = out.fileHandleForReading.readDataToEndOfFile()
        errors.done.wait()
        p.waitUntilExit()
        let last = String(decoding: errors.data, as: UTF8.self).split(whereSeparator: \.isNewline).last.map(String.init)
        return (p.terminationStatus, bytes, last)
    }

    /// The arguments that give the reference script the same network: a
    /// ResNet's depth and width (scripts/torch-resnet-bench builds the
    /// same 6k+2 and 4-stage networks); none for the other models.
    static func torchModelArguments(_ spec: ModelSpec) -> [String] {
        if case let .resnet(depth, width) = spec { return ["--depth", String(depth), "--width", String(width)] }
        return []
    }

    /// Runs `python3 script --batch B --steps N --threads T` (plus the
    /// model's own arguments) and reads its JSON line; refuses figures for a
    /// network whose parameter count is not the model's, or not printed.
    func runTorch(_ script: String, model built: Model) throws -> TorchFigures {
        let python = try Self.checkTorch(script)
        let spec = try ModelSpec.parse(model)
        let arguments = [script, "--batch", String(batch), "--steps", String(steps), "--threads", String(threads)]
            + Self.torchModelArguments(spec)
        let (status, bytes, err) = try Self.run(python, arguments)
        guard status == 0 else { throw CSGDError("\(script) exited with status \(status)" + (err.map { ": \($0)" } ?? "")) }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let t = try? JSONDecoder().decode(TorchFigures.self, from: Data(line.utf8)) else {
            throw CSGDError("\(script) printed no JSON line with samples_per_sec")
        }
        guard let params = t.params else { throw CSGDError("\(script) printed no parameter count (params), so its network cannot be checked") }
        guard params == built.parameterCount else {
            throw CSGDError("\(script) built a network of \(params) parameters, model '\(built.name)' has \(built.parameterCount): not the same network")
        }
        return t
    }
}
