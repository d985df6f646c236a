import ArgumentParser
import Communication
import CSGDCore
import Compression
import Datasets
import Distributed
import Foundation
import NeuralNet
import Optimization

/// `csgd train`: trains a network on an image data set with W data-parallel
/// workers (each with its own shard and error memory), a method and a
/// compressor, and reports the run summary. A thin layer over `Datasets`,
/// `NeuralNet` (the model as an `Objective`) and `Distributed`.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a network over data-parallel workers with compressed updates.",
        discussion: """
        --model: mnist-ae, mlp:784-256-10, resnet:N[,…] (see docs/train.md).
        --dataset: fashion-mnist (Debian's dataset-fashion-mnist), mnist, cifar10, synthetic[:n=…].
        --method: \(Methods.names.joined(separator: ", ")) as in `csgd optimize`; --batch sets its mini-batch.
        One epoch is ⌈n / (W·B)⌉ steps: every worker passes once over its shard (n/W samples).
        """)

    @Option(help: "Model spec, e.g. mnist-ae, mlp:784-256-10, resnet:8.")
    var model: String

    @Option(name: [.customLong("dataset"), .customLong("data")],
            help: "Data set: fashion-mnist, mnist, cifar10, synthetic[:n=N,classes=K,shape=CxHxW]. (--data: the older spelling.)")
    var dataset: String = "fashion-mnist"

    @Option(help: "Directory with the data set's files (default: the data set's Debian location).")
    var dataDir: String?

    @Option(help: "Method spec, e.g. sgd, alg1:sigma=0.01, ef-sgd.")
    var method: String = "sgd"

    @Option(help: "Compressor spec, e.g. randomk:0.01, topk:0.001 (default none).")
    var compressor: String?

    @Option(help: "Data-parallel workers W (default 1; under --backend mpi, mpirun's -np). In-process, W ranks share at most one thread a core.")
    var workers: Int?

    @Option(help: "How the training set is split across workers: iid, by-class, dirichlet:α.")
    var partition: String = "iid"

    @Option(help: "Epochs (passes over each worker's shard); default 1 unless --steps is given.")
    var epochs: Double?

    @Option(help: "Iterations T (instead of --epochs).")
    var steps: Int?

    @Option(help: "Mini-batch size per worker (default 64); the same as the method's batch=, which it must agree with.")
    var batch: Int?

    @Option(parsing: .unconditional, help: "Step size η.")
    var lr: Double = 0.1

    @Option(parsing: .unconditional, help: "Artificial noise σ per coordinate (\(Methods.perturbedNames.joined(separator: ", "))): the same as the method's sigma=.")
    var noise: Double?

    @Option(help: "Random seed (initialisation, shuffles, noise, compression).")
    var seed: UInt64 = 0

    @Option(help: "Use only the first N training samples (e.g. 2000 for a quick run).")
    var trainSize: Int?

    @Option(help: "Evaluate on the first N test samples (default: all).")
    var testSize: Int?

    @Option(help: "Evaluate test loss/accuracy every N steps (0: only at the end).")
    var evalEvery: Int = 0

    @Option(help: "Log interval in steps.")
    var logEvery: Int = 100

    @Flag(help: "Estimate λ_min(∇²f) at the end by Lanczos on finite-difference HVPs, and test ε-SOSP.")
    var certify = false

    @Option(parsing: .unconditional, help: "With --certify, also estimate λ_min every N steps, in the log lines of those steps (a multiple of --log-every; default 0: only at the end).")
    var certifyEvery: Int = 0

    @Option(parsing: .unconditional, help: "ε of the ε-SOSP test (with --certify).")
    var eps: Double = 0.01

    @Option(parsing: .unconditional, help: "ρ of the ε-SOSP test (networks do not know it).")
    var rho: Double = 1

    @Option(help: "Threads a worker uses for its mini-batch (default: cores / W, at least 1).")
    var threads: Int?

    @OptionGroup var output: RunOptions
    @OptionGroup var memory: MemoryOptions
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerFlags
    @OptionGroup(title: "Model files") var modelFile: ModelFileOptions

    func run() throws {
        // OpenBLAS may pick generic SSE kernels on CPUs newer than itself;
        // switch to the best the CPU supports before any BLAS work. Workers
        // and batch parts are the threads: each GEMM runs on one.
        OpenBLASCore.upgradeIfGeneric()
        BLAS.threads = 1
        let setup = try CLI.orExit { try TrainSetup(self) }
        // --init-from is read and matched against the model before anything is written.
        let start = try CLI.orExit { () throws -> [Float]? in
            try modelFile.check(resume: output.resume, checkpoint: output.checkpoint)
            return try modelFile.initFrom.map { try ModelFile.readParameters($0, model: setup.model) }
        }
        let checkpointPolicy = try output.checkpointPolicy()
        let objective = setup.objective
        let test = setup.test
        let final = modelFile.saveModel == nil ? nil : FinalIterate()
        let evaluator: Evaluator = { _, x in
            final?.keep(x)
            let e = objective.evaluate(at: x, on: test)
            var m = ["test_loss": e.loss]
            if let a = e.accuracy { m["test_accuracy"] = a }
            return m
        }
        var config = TrainerConfiguration(
            steps: setup.steps, seed: seed, learningRate: lr, logEvery: logEvery,
            epsilon: certify ? eps : nil, rho: certify ? rho : nil, certifyEvery: certifyEvery, evalEvery: evalEvery,
            threadsPerRank: setup.threads, checkpoint: checkpointPolicy)
        config.optimizer = try CLI.orExit { try optimizer.options(steps: setup.steps) }
        config.collective = try output.collectiveChoice()
        let model = setup.model
        let what = ["model": model.name, "dataset": setup.datasetName, "method": setup.method.text,
                    "compressor": setup.compressor.description, "workers": String(setup.workers), "seed": String(seed)]
        /// The state_dict at x, BatchNorm's running statistics as the evaluation estimates them there.
        @Sendable func save(_ x: UnsafeBufferPointer<Float>, step: Int, sha256: String, to path: String) throws {
            let stats = objective.runningStatistics(at: x)
            try ModelFile.write(ModelFile.tensors(of: model, parameters: x, state: stats.state, batches: stats.batches),
                                metadata: ModelFile.metadata(what, steps: step, sha256: sha256), to: path)
        }
        modelFile.hookCheckpoints(&config) { x, step, sha256, path in try save(x, step: step, sha256: sha256, to: path) }
        let runObjective = ModelFileOptions.startingAt(start, objective)
        let driver = RunDriver(backend: output.backend, logPath: output.log, resume: output.resume, checkpoint: checkpointPolicy)
        let header = driver.header(
            command: "train",
            configuration: RunConfiguration(method: setup.method, compressor: setup.compressor.description, eta: nil, seed: seed,
                                            workers: setup.workers, batch: setup.batch, steps: setup.steps, backend: output.backend.rawValue,
                                            threads: setup.threads, model: setup.model.name,
                                            data: "\(setup.datasetName): \(setup.trainCount) train / \(setup.test.count) test",
                                            partition: (try? PartitionSpec.parse(partition))?.description ?? partition),
            objective: objective, method: setup.method, compressor: setup.compressor, config: config, theory: nil)
        guard let summary = try driver.run(objective: runObjective, method: setup.method, compressor: setup.compressor,
                                           workers: setup.workers, config: config, evaluator: evaluator, header: header) else { return }
        if let path = modelFile.saveModel, let final {
            let x = try final.parameters(sha256: summary.paramsSHA256)
            try x.withUnsafeBufferPointer { try save($0, step: summary.steps, sha256: summary.paramsSHA256, to: path) }
        }
        let out = TrainSummary(summary, setup: setup, certify: certify)
        if output.json {
            CLI.output(try CLI.jsonLine(HeadedSummary(summary: out, header: header)))
        } else {
            CLI.output(out.table(setup: setup))
        }
        Backend.finish()
    }
}

/// Everything `csgd train` builds before the first step: data, shards,
/// model, objective, method, and the run's length. Errors are one line.
struct TrainSetup {
    let model: Model
    /// Samples in the whole training set (all shards).
    let trainCount: Int
    let test: Dataset
    let objective: NetworkObjective
    let method: any Method
    let compressor: CompressorSpec
    let workers: Int
    let steps: Int
    let batch: Int
    /// Threads each worker uses (resolved once here, passed to the runner).
    let threads: Int
    let datasetName: String

    init(_ c: TrainCommand) throws {
        try c.output.checkBackend()
        guard c.lr > 0, c.lr.isFinite else { throw CSGDError("--lr \(c.lr) must be a positive step size") }
        if let w = c.workers { guard w >= 1 else { throw CSGDError("--workers \(w) must be at least 1") } }
        if let s = c.steps { guard s >= 1 else { throw CSGDError("--steps \(s) must be at least 1") } }
        if let e = c.epochs { guard e > 0, e.isFinite else { throw CSGDError("--epochs \(e) must be positive") } }
        if c.steps != nil && c.epochs != nil { throw CSGDError("give either --epochs or --steps, not both") }
        if let n = c.trainSize { guard n >= 1 else { throw CSGDError("--train-size \(n) must be at least 1") } }
        if let n = c.testSize { guard n >= 1 else { throw CSGDError("--test-size \(n) must be at least 1") } }
        if let t = c.threads { guard t >= 1 else { throw CSGDError("--threads \(t) must be at least 1") } }
        guard c.evalEvery >= 0 else { throw CSGDError("--eval-every \(c.evalEvery) must be 0 or more") }
        guard c.logEvery >= 1 else { throw CSGDError("--log-every \(c.logEvery) must be at least 1") }
        if c.certify { guard c.eps > 0, c.rho > 0 else { throw CSGDError("--eps and --rho must be positive") } }
        if c.certifyEvery != 0 {
            guard c.certify else { throw CSGDError("--certify-every needs --certify") }
            guard c.certifyEvery > 0, c.certifyEvery % c.logEvery == 0 else {
                throw CSGDError("--certify-every \(c.certifyEvery) must be a positive multiple of --log-every \(c.logEvery)")
            }
        }

        let modelSpec = try ModelSpec.parse(c.model)
        var m = try Methods.parse(c.method)
        let partition = try PartitionSpec.parse(c.partition)
        let dataSpec = try DatasetSpec.parse(c.dataset)
        compressor = try m.compressor(given: c.compressor.map(CompressorSpec.parse))
        if c.output.backend == .mpi, let size = Backend.launchSize {
            if let w = c.workers, w != size { throw CSGDError("--workers \(w) differs from mpirun's -np \(size); drop --workers under --backend mpi") }
            workers = size
        } else {
            workers = c.workers ?? 1
        }

        // The method's mini-batch is --batch unless the spec sets its own; --noise is its sigma=.
        m = try MethodFlags.apply(batch: c.batch, defaultBatch: 64, noise: c.noise, to: m)
        try MethodFlags.check(collective: try Collective.parse(c.output.collective), method: m, compressor: compressor)
        batch = m.batch
        method = m

        let budget = try c.memory.budget()
        var (train, test) = try dataSpec.loadTrainAndTest(directory: c.dataDir)
        if let n = c.trainSize { train = train.prefix(min(n, train.count)) }
        if let n = c.testSize { test = test.prefix(min(n, test.count)) }
        trainCount = train.count
        self.test = test
        datasetName = dataSpec.description
        guard workers <= train.count else { throw CSGDError("--workers \(workers) exceeds the \(train.count) training samples") }
        guard batch <= train.count else {
            throw CSGDError("--batch \(batch) is more than the \(train.count) training samples (batches are drawn with replacement, so it would only repeat them)")
        }
        if let s = c.steps {
            steps = s
        } else {
            // ⌈n / (W·B)⌉ steps an epoch; a run counts its steps in an Int.
            let perEpoch = (train.count + workers * batch - 1) / (workers * batch)
            let epochs = c.epochs ?? 1
            let total = epochs * Double(perEpoch)
            guard total < 0x1p63 else {
                throw CSGDError("--epochs \(epochs) is more steps than a run can count (\(perEpoch) an epoch, at most \(Int.max))")
            }
            steps = max(1, Int(total))
        }
        let shards = try partition.partition(train, workers: workers, seed: c.seed)

        model = try modelSpec.build(input: TensorShape(train.channels, train.height, train.width), classes: train.classes)
        let ranksHere = c.output.backend == .mpi ? 1 : workers
        try budget.require(model.trainingBytes(batch: batch, workers: ranksHere, threads: min(c.threads ?? 1, batch),
                                               lanes: RankThreads.defaultThreads),
                           for: "model '\(model.name)' (\(model.parameterCount) parameters) with \(ranksHere) worker\(ranksHere == 1 ? "" : "s") at batch \(batch)")
        // Threads a worker uses: for its batch parts (each on a thread; the
        // parts' sums are added in a fixed order, but a different split
        // associates the batch sum differently, so the same --threads replays
        // bit for bit) and for its optimizer passes (the same bits for any
        // number). Default: cores / W, W ranks on either backend.
        let parallelism = c.threads ?? TrainerConfiguration.defaultThreadsPerRank(workers: workers)
        threads = parallelism
        // The fixed evaluation batch (loss, full gradient, HVP) is the first
        // 512 training samples on every backend, so f values agree bit for bit.
        let evaluation = train.prefix(min(512, train.count))
        if c.output.backend == .mpi {
            // Under MPI this process keeps only its own shard. The shuffler
            // depends on a shard's size and worker index only, so renumbering
            // the shard 0..<m gives the same batches; other workers' shards
            // are never read here and are one-sample placeholders.
            let rank = c.output.backend.launchRank
            guard rank < shards.count else { throw CSGDError("rank \(rank) has no shard among \(shards.count)") }
            let mine = train.subset(shards[rank])
            let local = shards.indices.map { $0 == rank ? (0..<Int32(mine.count)).map { $0 } : [Int32(0)] }
            objective = try NetworkObjective(model: model, data: mine, shards: local, batchSize: batch, evaluation: evaluation,
                                             parallelism: min(parallelism, batch))
        } else {
            objective = try NetworkObjective(model: model, data: train, shards: shards, batchSize: batch, evaluation: evaluation,
                                             parallelism: min(parallelism, batch))
        }
    }

    /// Steps in one epoch (every worker passes once over its shard).
    var stepsPerEpoch: Double { Double(trainCount) / Double(workers * batch) }
}

/// The JSON summary of `csgd train` (issue keys; sorted when printed).
struct TrainSummary: Encodable {
    var steps: Int
    var epochs: Double
    var trainLoss: Double
    var testLoss: Double?
    var testAccuracy: Double?
    var gradNorm: Double
    var lambdaMin: Double?
    var isSOSP: Bool?
    var uploadBitsPerWorker: Int
    var downloadBitsPerWorker: Int
    var samplesPerSec: Double
    var wallSeconds: Double
    var evalSeconds: Double?
    var params: Int
    var paramsSHA256: String
    var stoppedEarly: String?
    var communicationSeconds: Double?
    var computeSeconds: Double?
    var wireBytesSent: Int?
    var wireBytesReceived: Int?

    enum CodingKeys: String, CodingKey {
        case steps, epochs
        case trainLoss = "train_loss", testLoss = "test_loss", testAccuracy = "test_accuracy"
        case gradNorm = "grad_norm", lambdaMin = "lambda_min", isSOSP = "is_sosp"
        case uploadBitsPerWorker = "upload_bits_per_worker", downloadBitsPerWorker = "download_bits_per_worker"
        case samplesPerSec = "samples_per_sec", wallSeconds = "wall_seconds", evalSeconds = "eval_seconds", params
        case paramsSHA256 = "params_sha256", stoppedEarly = "stopped_early"
        case communicationSeconds = "communication_seconds", computeSeconds = "compute_seconds"
        case wireBytesSent = "wire_bytes_sent", wireBytesReceived = "wire_bytes_received"
    }

    init(_ s: RunSummary, setup: TrainSetup, certify: Bool) {
        steps = s.steps
        epochs = Double(s.steps) / setup.stepsPerEpoch
        trainLoss = s.finalLoss
        testLoss = s.metrics["test_loss"]
        testAccuracy = s.metrics["test_accuracy"]
        gradNorm = s.gradNorm
        lambdaMin = certify ? s.lambdaMin : nil
        isSOSP = certify ? s.isSOSP : nil
        uploadBitsPerWorker = s.uploadBitsPerWorker
        downloadBitsPerWorker = s.downloadBitsPerWorker
        // The training loop's rate: steps and records, not the final
        // evaluation on the test set (reported apart, `eval_seconds`).
        let training = s.wallSeconds - (s.evaluationSeconds ?? 0)
        samplesPerSec = training > 0 ? Double(s.steps) * Double(setup.batch * setup.workers) / training : 0
        wallSeconds = s.wallSeconds
        evalSeconds = s.evaluationSeconds
        params = setup.model.parameterCount
        paramsSHA256 = s.paramsSHA256
        stoppedEarly = s.stoppedEarly
        communicationSeconds = s.communicationSeconds
        computeSeconds = s.computeSeconds
        wireBytesSent = s.wireBytesSent
        wireBytesReceived = s.wireBytesReceived
    }

    func table(setup: TrainSetup) -> String {
        var t = TextTable(header: ["quantity", "value"])
        t.add(["model", "\(setup.model.name) (d = \(params))"])
        t.add(["data", "\(setup.datasetName): \(setup.trainCount) train / \(setup.test.count) test"])
        t.add(["method", setup.method.text]); t.add(["compressor", setup.compressor.description])
        t.add(["workers × batch", "\(setup.workers) × \(setup.batch)"])
        t.add(["steps (epochs)", "\(steps) (" + String(format: "%.2f", epochs) + ")"])
        t.add(["train loss", String(format: "%.6g", trainLoss)])
        if let l = testLoss { t.add(["test loss", String(format: "%.6g", l)]) }
        if let a = testAccuracy { t.add(["test accuracy", String(format: "%.2f%%", 100 * a)]) }
        t.add(["‖∇f‖", String(format: "%.3g", gradNorm)])
        if let l = lambdaMin { t.add(["λ_min", String(format: "%.4g", l)]) }
        if let s = isSOSP { t.add(["ε-SOSP", s ? "yes" : "no"]) }
        // Counts are Int (64-bit), printed by interpolation: `%d` would read 32 bits.
        let dense = 32 * Double(params) * Double(steps)
        let ratio = uploadBitsPerWorker > 0 ? dense / Double(uploadBitsPerWorker) : 0
        t.add(["upload bits/worker", "\(uploadBitsPerWorker) (" + String(format: "%.1f× less than fp32)", ratio)])
        t.add(["download bits/worker", String(downloadBitsPerWorker)])
        t.add(["samples/s", String(format: "%.0f", samplesPerSec)])
        t.add(["wall seconds", String(format: "%.2f", wallSeconds)])
        if let e = evalSeconds { t.add(["final evaluation seconds", String(format: "%.2f", e)]) }
        if let c = communicationSeconds { t.add(["communication seconds", String(format: "%.2f", c)]) }
        t.add(["params sha256", paramsSHA256])
        if let why = stoppedEarly { t.add(["stopped", why]) }
        return t.render()
    }
}
