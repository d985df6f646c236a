import CSGDCore
import Datasets

/// Computes a model's mini-batch loss and gradient, optionally splitting the
/// batch into `parts` contiguous pieces run on as many threads.
///
/// Part p takes samples ⌊p·n/P⌋ ..< ⌊(p+1)·n/P⌋; each writes the gradient
/// of its share of the batch-mean loss (terms divided by the whole batch's
/// normaliser) into its own buffer, and the buffers are added in part order,
/// so the result depends on `parts` (rounding, and BatchNorm's statistics
/// which become per part, as with PyTorch's DataParallel) but never on
/// thread timing. All memory is allocated once, here; a runner serves one
/// call at a time. With a running-statistics update in the mode the parts run
/// one after another, so the updates are ordered.
public final class BatchRunner: @unchecked Sendable {
    public let model: Model
    public let parts: Int
    public let capacity: Int
    let workspaces: [ModelWorkspace]
    let partGradients: [FloatBuffer]
    /// Room for `capacity` sample indices, for callers that draw a batch.
    public let indices: UnsafeMutableBufferPointer<Int32>
    let partLosses: UnsafeMutableBufferPointer<Double>

    public init(model: Model, capacity: Int, parts: Int = 1) {
        precondition(capacity >= 1 && parts >= 1, "capacity and parts must be positive")
        self.model = model
        self.parts = parts
        self.capacity = capacity
        let per = (capacity + parts - 1) / parts
        workspaces = (0..<parts).map { _ in model.makeWorkspace(batch: per) }
        partGradients = (1..<max(parts, 1)).map { _ in FloatBuffer(count: model.parameterCount) }
        indices = UnsafeMutableBufferPointer<Int32>.allocate(capacity: capacity)
        indices.initialize(repeating: 0)
        partLosses = UnsafeMutableBufferPointer<Double>.allocate(capacity: parts)
        partLosses.initialize(repeating: 0)
    }

    deinit {
        indices.deallocate()
        partLosses.deallocate()
    }

    /// Mean loss over the batch `indices` of `data` at `x`, and its gradient
    /// into `gradient` when given (every element written).
    public func lossAndGradient(at x: UnsafePointer<Float>, data: Dataset, indices batch: UnsafeBufferPointer<Int32>,
                                mode: ForwardMode, state: UnsafeMutablePointer<Float>? = nil,
                                into gradient: UnsafeMutablePointer<Float>?) -> Double {
        let n = batch.count
        precondition(n >= 1 && n <= capacity, "batch \(n) outside 1...\(capacity)")
        let normalizer = model.loss.normalizer(batch: n, shape: model.outputShape)
        let d = model.parameterCount
        partLosses.update(repeating: 0)
        if parts == 1 || mode.runningUpdate != nil {
            for p in 0..<parts {
                runPart(p, at: x, data: data, indices: batch, normalizer: normalizer, mode: mode, state: state, gradient: gradient, d: d)
            }
        } else {
            ParallelLoop.run(parts) { p in
                runPart(p, at: x, data: data, indices: batch, normalizer: normalizer, mode: mode, state: state, gradient: gradient, d: d)
            }
        }
        if let g = gradient {
            for p in 1..<max(parts, 1) { RowOps.add(partGradients[p - 1].pointer, into: g, count: d) }
        }
        var total = 0.0
        for p in 0..<parts { total += partLosses[p] }
        return total
    }

    /// Part p of the batch: its samples, loss share and gradient buffer.
    private func runPart(_ p: Int, at x: UnsafePointer<Float>, data: Dataset, indices batch: UnsafeBufferPointer<Int32>,
                         normalizer: Double, mode: ForwardMode, state: UnsafeMutablePointer<Float>?,
                         gradient: UnsafeMutablePointer<Float>?, d: Int) {
        let n = batch.count
        let lo = p * n / parts, hi = (p + 1) * n / parts
        let g: UnsafeMutablePointer<Float>? = gradient == nil ? nil : (p == 0 ? gradient! : partGradients[p - 1].pointer)
        guard hi > lo else {
            g?.update(repeating: 0, count: d)
            return
        }
        let ws = workspaces[p]
        ws.load(data, indices: UnsafeBufferPointer(rebasing: batch[lo..<hi]))
        partLosses[p] = model.lossAndGradient(parameters: x, state: state, workspace: ws, batch: hi - lo,
                                              normalizer: normalizer, mode: mode.part(startingAt: lo), into: g)
    }
}
