extension NetworkObjective {
    /// The running statistics `evaluate(at:on:)` uses at `x`, and the
    /// number of batches they average (PyTorch's `num_batches_tracked` for
    /// `momentum=None`): BatchNorm's cumulative average over batches of
    /// `batchSize` of `calibrationSamples` training samples evenly spaced
    /// over `data`, from the initial state. Models without BatchNorm get
    /// their (empty) state and 0 batches.
    public func runningStatistics(at x: UnsafeBufferPointer<Float>, calibrationSamples: Int = 2048) -> (state: [Float], batches: Int) {
        guard model.hasBatchNorm else { return (model.initialState(), 0) }
        let n = data.count, k = max(1, min(calibrationSamples, n))
        let idx = (0..<k).map { Int32($0 * n / k) }
        // `calibrateStatistics` takes consecutive batches of max(2, min(B, k)) samples.
        let chunk = max(2, min(batchSize, k))
        return (model.calibrateStatistics(parameters: x, data: data, indices: idx, batchSize: batchSize), (k + chunk - 1) / chunk)
    }
}
