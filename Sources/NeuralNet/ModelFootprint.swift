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

    /// A lower estimate of the bytes W workers training this model take,
    /// beside the data: per worker the iterate and its companions (the
    /// gradient, scratch, error memory, message and its decoding: six
    /// parameter vectors) and, for each of its `threads` batch parts, the
    /// forward outputs and their gradients for its share of the batch.
    public func trainingBytes(batch: Int, workers: Int, threads: Int) -> Double {
        let p = Double(parameterCount), a = Double(activationFloatsPerSample)
        let perWorker = 6 * p + 2 * a * Double(max(batch, threads)) + 2 * p * Double(max(0, threads - 1))
        return 4 * Double(workers) * perWorker
    }
}
