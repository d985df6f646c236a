import CSGDCore
import NeuralNet
import Datasets

/// Times plain SGD training steps (forward, backward, x ← x − η·g) of a
/// model on random data, the work behind `csgd bench-train`, plus a large
/// SGEMM in the same run as the machine's reference speed.
///
/// Each step draws `batch` sample indices uniformly (with replacement, like
/// torch.randint) from `data` (by default a pool of random images in [0, 1]
/// with random labels), keyed by (seed, step, purpose .benchmark). `threads` > 1 either splits
/// each batch into that many parts on as many threads with single-threaded
/// BLAS (`split: .batch`), or keeps one part and gives OpenBLAS the threads
/// (`split: .blas`).
public enum TrainingBenchmark {
    /// How the threads are used: batch parts, or OpenBLAS's own threads.
    public enum Split: String, Sendable, CaseIterable, Codable { case batch, blas }

    /// One run's figures (snake_case keys, as the JSON output and torch's script).
    public struct Result: Sendable, Codable {
        public var model: String
        public var batch: Int
        public var steps: Int
        public var threads: Int
        public var split: Split
        public var params: Int
        public var samples_per_sec: Double
        public var ms_per_step: Double
        /// Arithmetic rate of the step's layers (2 flops a multiply–add; forward, and backward at twice forward).
        public var model_gflops: Double
        /// A 2048³ SGEMM on the same threads, the machine's practical peak.
        public var sgemm_gflops: Double
        public var blas_core: String
        public var data: String
        public var last_loss: Double
    }

    /// A pool of `count` random samples of `shape` with labels below `classes`.
    public static func randomData(shape: TensorShape, classes: Int, count: Int, seed: UInt64) -> Dataset {
        var s = RandomStream(key: RandomKey(seed: seed, step: 0, purpose: .benchmark))
        let images = (0..<(count * shape.count)).map { _ in s.nextUnitFloat() }
        let labels = (0..<count).map { _ in UInt8(s.nextInt(below: UInt64(max(classes, 1)))) }
        return Dataset(name: "random", channels: shape.channels, height: shape.height, width: shape.width,
                       classes: max(classes, 1), images: images, labels: labels)
    }

    /// Runs `warmup` untimed then `steps` timed SGD steps with step size `lr`.
    public static func run(model: Model, batch: Int, steps: Int, warmup: Int = 30, threads: Int, split: Split,
                           lr: Float = 0.1, seed: UInt64 = 0, data given: Dataset? = nil) -> Result {
        let classes: Int
        if case let .classifier(c) = model.task { classes = c } else { classes = 10 }
        let data = given ?? randomData(shape: model.inputShape, classes: classes, count: 4096, seed: seed)
        let pool = data.count
        let previousThreads = BLAS.threads
        BLAS.threads = split == .blas ? threads : 1
        defer { BLAS.threads = previousThreads }
        let runner = BatchRunner(model: model, capacity: batch, parts: split == .batch ? threads : 1)
        let x = FloatBuffer(model.initialParameters(seed: seed))
        let g = FloatBuffer(count: model.parameterCount)
        let d = Int32(model.parameterCount)
        var last = 0.0
        func step(_ t: Int) {
            var s = RandomStream(key: RandomKey(seed: seed, step: UInt64(t), purpose: .benchmark))
            for j in 0..<batch { runner.indices[j] = Int32(s.nextInt(below: UInt64(pool))) }
            let mode = ForwardMode.training(dropout: model.hasDropout ? RandomKey(seed: seed, step: UInt64(t), purpose: .minibatch) : nil)
            last = runner.lossAndGradient(at: x.pointer, data: data, indices: UnsafeBufferPointer(rebasing: runner.indices[0..<batch]),
                                          mode: mode, into: g.pointer)
            BLAS.saxpy(d, -lr, g.pointer, x.pointer)
        }
        for t in 0..<warmup { step(t) }
        let t0 = Clock.now()
        for t in 0..<steps { step(warmup + t) }
        let dt = Clock.now() - t0
        let flops = 2.0 * 3.0 * Double(model.forwardMultiplyAdds) * Double(batch) * Double(steps)
        let peak = sgemmGflops(size: 2048, threads: threads)
        return Result(model: model.name, batch: batch, steps: steps, threads: threads, split: split,
                      params: model.parameterCount, samples_per_sec: Double(batch * steps) / dt,
                      ms_per_step: 1000 * dt / Double(steps), model_gflops: flops / dt / 1e9, sgemm_gflops: peak,
                      blas_core: OpenBLASCore.current ?? "unknown", data: data.name, last_loss: last)
    }

    /// GFLOP/s of an n×n×n SGEMM on `threads` OpenBLAS threads (best of 3).
    public static func sgemmGflops(size n: Int, threads: Int) -> Double {
        let previous = BLAS.threads
        BLAS.threads = threads
        defer { BLAS.threads = previous }
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) {
            a.pointer[i] = Float(i % 17) / 17 - 0.5
            b.pointer[i] = Float(i % 13) / 13 - 0.5
        }
        let t = Clock.best(reps: 3) {
            BLAS.sgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a.pointer, lda: n,
                       b: b.pointer, ldb: n, beta: 0, c: c.pointer, ldc: n)
        }
        return 2 * Double(n) * Double(n) * Double(n) / t / 1e9
    }
}
