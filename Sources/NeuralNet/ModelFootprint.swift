import CSGDCore

/// What a model's training needs in memory, known from its layers' shapes
/// before anything is allocated, so that a network too large for the
/// machine is refused up front (`MemoryBudget`).
extension Model {
    /// Floats of layer outputs one sample produces in a forward pass (every
    /// layer's, inside residual blocks too): what the backward pass keeps.
    public var activationFloatsPerSample: Int {
        func count(_ l: any Layer) -> Double {
            if let s = l as? Sequential { return s.layers.reduce(0) { $0 + count($1) } }
            if let r = l as? ResidualBlock { return count(r.main) + (r.shortcut.map(count) ?? 0) + Double(r.outputShape.count) }
            return Double(l.outputShape.count)
        }
        let n = count(body)
        return n < 0x1p62 ? Int(n) : Int.max
    }

    /// A lower estimate of the bytes W workers in one process training this
    /// model take, beside the data, when at most `lanes` of them compute at
    /// once (the OS threads they run on; nil: W): the iterate, which the
    /// workers of a process share, and for each lane a gradient and, for
    /// each of a worker's `threads` batch parts, the forward outputs and
    /// their gradients for its share of the batch and a partial gradient;
    /// then 64 KiB a worker (its stack and bookkeeping). A worker's own
    /// state comes on top (an error memory is one more parameter vector).
    public func trainingBytes(batch: Int, workers: Int, threads: Int, lanes: Int? = nil) -> Double {
        let p = Double(parameterCount), a = Double(activationFloatsPerSample)
        let l = Double(max(1, min(workers, lanes ?? workers)))
        let perLane = p + 2 * a * Double(max(batch, threads)) + 2 * p * Double(max(0, threads - 1))
        return 4 * (p + l * perLane) + 65536 * Double(workers)
    }
}
