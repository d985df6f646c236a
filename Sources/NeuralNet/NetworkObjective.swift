import CSGDCore
import Datasets
import Optimization

/// A model and its training data as an `Objective`: x is the model's flat
/// parameter vector (d = `model.parameterCount`).
///
/// - `gradient(at:batch:into:)`: the mean loss and its gradient over a
///   mini-batch of `batch.size` samples (0: `batchSize`) from worker
///   `batch.worker`'s shard, chosen by `EpochShuffler` (epoch-wise shuffles
///   keyed by (seed, epoch, worker, .shuffle); step t takes positions
///   t·B ..< t·B + B). BatchNorm uses batch statistics; Dropout draws its
///   masks from `batch.randomKey(.minibatch)`.
/// - `loss(at:)`, `fullGradient(at:into:)`: the mean loss and gradient over
///   the fixed evaluation batch (`evaluationIndices` of `evaluation`), in
///   consecutive chunks of at most `evaluationChunk` samples weighted by
///   size; deterministic: BatchNorm uses each chunk's statistics, no dropout.
/// - `hessianVectorProduct`: central differences of fixed-batch gradients,
///   Hv ≈ [∇f(x + hv) − ∇f(x − hv)]/(2h) with h = `hvpStep`·max(1, ‖x‖)/‖v‖
///   (the displacement has norm `hvpStep`·max(1, ‖x‖); 1e-3 by default,
///   balancing the O(h²) truncation against Float32 rounding in the
///   gradients, which is amplified by 1/h).
/// - `initialPoint(seed:into:)`: PyTorch's default initialisation
///   (`Initialization`) keyed by the seed.
///
/// Thread-safe: W simulated workers may call it at once. Workspaces (and the
/// HVP's vectors) come from lock-protected pools, so after the first call on
/// each thread the hot path allocates nothing. `parallelism` > 1 splits every
/// batch into that many parts computed on as many threads (`BatchRunner`).
/// Its GEMMs are small: run them on single-threaded OpenBLAS
/// (`BLAS.threads = 1`) and get the cores busy with workers or parallelism.
public final class NetworkObjective: FixedBatchParts, @unchecked Sendable {
    public let model: Model
    public let data: Dataset
    public let shuffler: EpochShuffler
    public let batchSize: Int
    public let evaluation: Dataset
    public let evaluationIndices: [Int32]
    public let evaluationChunk: Int
    public let parallelism: Int
    public let hvpStep: Double
    public let dimension: Int
    public let name: String
    public let constants = ObjectiveConstants()
    private let runners = ObjectPool<BatchRunner>()
    private let vectors = ObjectPool<FloatBuffer>()

    /// - Parameters:
    ///   - model: the network whose flat parameter vector is the iterate.
    ///   - data: the training samples the shards index.
    ///   - shards: worker w's sample indices into `data` (one array a worker;
    ///     a `BatchKey`'s worker must index it).
    ///   - batchSize: B, used when a `BatchKey` has size 0.
    ///   - evaluation: the set the fixed batch comes from (often `data`).
    ///   - evaluationIndices: the fixed batch (nil: the first min(512, n) samples).
    ///   - evaluationChunk: samples a pass over the fixed batch takes at once.
    ///   - parallelism: batch parts computed at once, each on a thread.
    ///   - hvpStep: the step of the finite difference of gradients that
    ///     stands in for a Hessian–vector product.
    public init(model: Model, data: Dataset, shards: [[Int32]], batchSize: Int, evaluation: Dataset,
                evaluationIndices: [Int32]? = nil, evaluationChunk: Int = 256, parallelism: Int = 1,
                hvpStep: Double = 1e-3) throws {
        try Self.check(model: model, data: data, what: "training data")
        try Self.check(model: model, data: evaluation, what: "evaluation data")
        guard batchSize >= 1 else { throw CSGDError("batch size \(batchSize) must be positive") }
        guard !shards.isEmpty else { throw CSGDError("no worker shards given") }
        for (w, s) in shards.enumerated() {
            guard !s.isEmpty else { throw CSGDError("worker \(w)'s shard is empty") }
            guard s.allSatisfy({ $0 >= 0 && Int($0) < data.count }) else {
                throw CSGDError("worker \(w)'s shard has an index outside 0..<\(data.count)")
            }
        }
        let evalIdx = evaluationIndices ?? (0..<min(512, evaluation.count)).map { Int32($0) }
        guard !evalIdx.isEmpty else { throw CSGDError("the evaluation batch is empty") }
        guard evalIdx.allSatisfy({ $0 >= 0 && Int($0) < evaluation.count }) else {
            throw CSGDError("an evaluation index is outside 0..<\(evaluation.count)")
        }
        guard evaluationChunk >= 1, parallelism >= 1 else { throw CSGDError("evaluation chunk and parallelism must be positive") }
        guard hvpStep > 0, hvpStep.isFinite else { throw CSGDError("HVP step \(hvpStep) must be positive") }
        self.model = model
        self.data = data
        self.shuffler = EpochShuffler(shards: shards)
        self.batchSize = batchSize
        self.evaluation = evaluation
        self.evaluationIndices = evalIdx
        self.evaluationChunk = evaluationChunk
        self.parallelism = parallelism
        self.hvpStep = hvpStep
        dimension = model.parameterCount
        name = "\(model.name)@\(data.name)"
    }

    static func check(model: Model, data: Dataset, what: String) throws {
        let s = model.inputShape
        guard data.channels == s.channels, data.height == s.height, data.width == s.width else {
            throw CSGDError("\(what) '\(data.name)' has samples \(data.channels)x\(data.height)x\(data.width), model '\(model.name)' takes \(s)")
        }
        guard data.count >= 1 else { throw CSGDError("\(what) '\(data.name)' is empty") }
        if case let .classifier(classes) = model.task {
            guard let m = data.labels.max(), Int(m) < classes else {
                throw CSGDError("\(what) '\(data.name)' has labels up to \(data.labels.max() ?? 0), model '\(model.name)' has \(classes) classes")
            }
        }
    }

    public var shards: [[Int32]] { shuffler.shards }

    private func withRunner<R>(capacity: Int, _ body: (BatchRunner) -> R) -> R {
        runners.with(fits: { $0.capacity >= capacity }, make: { BatchRunner(model: model, capacity: capacity, parts: parallelism) }, body)
    }

    /// The sample indices of `batch`'s mini-batch.
    public func batchIndices(_ batch: BatchKey) -> [Int32] {
        var out = [Int32](repeating: 0, count: batch.size > 0 ? batch.size : batchSize)
        out.withUnsafeMutableBufferPointer { shuffler.fill($0, batch: batch) }
        return out
    }

    public func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        precondition(x.count == dimension && g.count == dimension, "vector length must be d = \(dimension)")
        precondition(batch.worker < shards.count, "worker \(batch.worker) has no shard (\(shards.count) given)")
        let b = batch.size > 0 ? batch.size : batchSize
        return withRunner(capacity: b) { r in
            let idx = UnsafeMutableBufferPointer(rebasing: r.indices[0..<b])
            shuffler.fill(idx, batch: batch)
            let mode = ForwardMode.training(dropout: model.hasDropout ? batch.randomKey(.minibatch) : nil)
            return r.lossAndGradient(at: x.baseAddress!, data: data, indices: UnsafeBufferPointer(idx), mode: mode, into: g.baseAddress!)
        }
    }

    /// Loss and (optionally) gradient on the fixed evaluation batch: its
    /// parts (chunks of `evaluationChunk` samples) one after another,
    /// accumulated as `accumulate` does.
    private func fixedBatch(at x: UnsafePointer<Float>, into g: UnsafeMutablePointer<Float>?) -> Double {
        let total = evaluationIndices.count
        let chunk = min(evaluationChunk, total)
        return withRunner(capacity: chunk) { r in
            evaluationIndices.withUnsafeBufferPointer { idx in
                if total <= chunk {
                    return r.lossAndGradient(at: x, data: evaluation, indices: idx, mode: .deterministic, into: g)
                }
                return vectors.with(fits: { $0.count == dimension }, make: { FloatBuffer(count: dimension) }) { part in
                    var value = 0.0
                    g?.update(repeating: 0, count: dimension)
                    for c in 0..<fixedBatchPartCount {
                        let (loss, w) = fixedBatchPart(c, runner: r, indices: idx, at: x, into: g == nil ? nil : part.pointer)
                        Self.add(loss: loss, weight: w, gradient: part.pointer, to: &value, g, dimension: dimension)
                    }
                    return value
                }
            }
        }
    }

    /// One part's term of the fixed batch's sum: value += w·f_c, g += w·∇f_c.
    @inline(__always)
    private static func add(loss: Double, weight w: Double, gradient: UnsafePointer<Float>, to value: inout Double,
                            _ g: UnsafeMutablePointer<Float>?, dimension: Int) {
        value += w * loss
        if let g { BLAS.saxpy(Int32(dimension), Float(w), gradient, g) }
    }

    private func fixedBatchPart(_ c: Int, runner r: BatchRunner, indices idx: UnsafeBufferPointer<Int32>, at x: UnsafePointer<Float>,
                                into g: UnsafeMutablePointer<Float>?) -> (loss: Double, weight: Double) {
        let total = idx.count, chunk = min(evaluationChunk, total)
        let start = c * chunk, n = min(chunk, total - start)
        let loss = r.lossAndGradient(at: x, data: evaluation, indices: UnsafeBufferPointer(rebasing: idx[start..<(start + n)]),
                                     mode: .deterministic, into: g)
        return (loss, Double(n) / Double(total))
    }

    /// Chunks of `evaluationChunk` samples of the fixed batch.
    public var fixedBatchPartCount: Int {
        let total = evaluationIndices.count, chunk = min(evaluationChunk, total)
        return total <= chunk ? 1 : (total + chunk - 1) / chunk
    }

    public func fixedBatchPart(_ c: Int, at x: UnsafeBufferPointer<Float>, into g: UnsafeMutablePointer<Float>) -> (loss: Double, weight: Double) {
        precondition(x.count == dimension && c >= 0 && c < fixedBatchPartCount, "part \(c) of \(fixedBatchPartCount)")
        let chunk = min(evaluationChunk, evaluationIndices.count)
        return withRunner(capacity: chunk) { r in
            evaluationIndices.withUnsafeBufferPointer { idx in fixedBatchPart(c, runner: r, indices: idx, at: x.baseAddress!, into: g) }
        }
    }

    public func accumulate(_ parts: [(loss: Double, weight: Double, gradient: UnsafePointer<Float>)], into g: UnsafeMutablePointer<Float>) -> Double {
        precondition(parts.count == fixedBatchPartCount && parts.count >= 2, "\(parts.count) parts of \(fixedBatchPartCount)")
        var value = 0.0
        g.update(repeating: 0, count: dimension)
        for p in parts { Self.add(loss: p.loss, weight: p.weight, gradient: p.gradient, to: &value, g, dimension: dimension) }
        return value
    }

    public func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        precondition(x.count == dimension)
        return fixedBatch(at: x.baseAddress!, into: nil)
    }

    public func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        precondition(x.count == dimension && g.count == dimension)
        return fixedBatch(at: x.baseAddress!, into: g.baseAddress!)
    }

    public func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == dimension && v.count == dimension && out.count == dimension)
        let vn = Kernels.norm2(v)
        guard vn > 0 else { out.update(repeating: 0); return }
        let h = hvpStep * max(1, Kernels.norm2(x)) / vn
        let make = { FloatBuffer(count: self.dimension) }
        let fits = { (b: FloatBuffer) in b.count == self.dimension }
        vectors.with(fits: fits, make: make) { shifted in
            vectors.with(fits: fits, make: make) { gMinus in
                let d = Int32(dimension)
                shifted.pointer.update(from: x.baseAddress!, count: dimension)
                BLAS.saxpy(d, Float(h), v.baseAddress!, shifted.pointer)
                _ = fixedBatch(at: shifted.pointer, into: out.baseAddress!)
                shifted.pointer.update(from: x.baseAddress!, count: dimension)
                BLAS.saxpy(d, Float(-h), v.baseAddress!, shifted.pointer)
                _ = fixedBatch(at: shifted.pointer, into: gMinus.pointer)
                BLAS.saxpy(d, -1, gMinus.pointer, out.baseAddress!)
                BLAS.sscal(d, Float(1 / (2 * h)), out.baseAddress!)
            }
        }
    }

    public func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {
        model.initialize(parameters: x, seed: seed)
    }

    /// Test loss and (classifiers) accuracy at `x` on `indices` of `data`
    /// (all when nil). Models with BatchNorm first estimate running
    /// statistics at `x` from `calibrationSamples` training samples
    /// (evenly spaced over `self.data`, batches of `batchSize`), PyTorch's
    /// cumulative average, then evaluate in eval mode with them.
    public func evaluate(at x: UnsafeBufferPointer<Float>, on data: Dataset, indices: [Int32]? = nil,
                         calibrationSamples: Int = 2048, chunk: Int = 256) -> Evaluation {
        let state = model.hasBatchNorm ? runningStatistics(at: x, calibrationSamples: calibrationSamples).state : nil
        return model.evaluate(parameters: x, state: state, data: data, indices: indices, batchSize: chunk)
    }
}
