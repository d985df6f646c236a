import CSGDCore
import Datasets

/// The memory one forward/backward pass of a model needs for batches of up
/// to `capacity` samples: the input batch (C×H×W×n), the output and its
/// gradient, every layer's saved and scratch memory, the batch's labels, and
/// a private copy of the running state for passes that do not keep it.
///
/// One workspace serves one call at a time; objectives keep several in a
/// pool so that concurrent callers never share one. Allocated once, reused
/// for every step.
public final class ModelWorkspace: @unchecked Sendable {
    public let capacity: Int
    public let inputShape: TensorShape
    let storage: FloatBuffer
    public let input: UnsafeMutablePointer<Float>
    public let output: UnsafeMutablePointer<Float>
    public let outputGradient: UnsafeMutablePointer<Float>
    public let saved: UnsafeMutablePointer<Float>
    public let scratch: UnsafeMutablePointer<Float>
    /// Running state used when the caller passes none (left at its initial values).
    public let state: FloatBuffer
    /// Labels of the loaded batch.
    public let labels: UnsafeMutablePointer<Int32>

    init(model: Model, capacity: Int) {
        precondition(capacity >= 1, "workspace capacity must be positive")
        self.capacity = capacity
        inputShape = model.inputShape
        let inCount = model.inputShape.count * capacity
        let outCount = model.outputShape.count * capacity
        let savedCount = model.body.savedCount(batch: capacity)
        let scratchCount = model.body.scratchCount(batch: capacity)
        // 16-float alignment for every region.
        func up(_ n: Int) -> Int { (n + 15) / 16 * 16 }
        storage = FloatBuffer(count: up(inCount) + 2 * up(outCount) + up(savedCount) + up(scratchCount))
        input = storage.pointer
        output = input + up(inCount)
        outputGradient = output + up(outCount)
        saved = outputGradient + up(outCount)
        scratch = saved + up(savedCount)
        state = FloatBuffer(model.initialState())
        labels = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        labels.initialize(repeating: 0, count: capacity)
    }

    deinit { labels.deallocate() }

    /// Copies samples `indices` of `data` (each C×H×W) into the input
    /// (C×H×W×n, sample innermost) and their labels into `labels`.
    public func load(_ data: Dataset, indices: UnsafeBufferPointer<Int32>) {
        let n = indices.count
        precondition(n <= capacity, "batch \(n) exceeds workspace capacity \(capacity)")
        precondition(data.channels == inputShape.channels && data.height == inputShape.height && data.width == inputShape.width,
                     "dataset shape does not match the model input")
        let size = inputShape.count
        data.images.withUnsafeBufferPointer { images in
            data.labels.withUnsafeBufferPointer { lab in
                for s in 0..<n {
                    let i = Int(indices[s])
                    let src = images.baseAddress! + i * size
                    for f in 0..<size { input[f * n + s] = src[f] }
                    labels[s] = Int32(lab[i])
                }
            }
        }
    }
}
