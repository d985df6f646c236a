import CSGDCore
import Datasets

/// A model's loss (and, for classifiers, accuracy) on a set of samples.
public struct Evaluation: Sendable, Codable, Equatable {
    /// Mean loss per sample (for MSE/BCE, per element, as the training loss).
    public var loss: Double
    /// Fraction of samples whose arg-max logit is the label (classifiers only).
    public var accuracy: Double?
    public var samples: Int
}

extension Model {
    /// Evaluates at parameters `x` on `indices` of `data` (all samples when
    /// nil), in chunks of `batchSize`. With `mode` .evaluation (the default),
    /// BatchNorm uses `state` (nil: the initial running statistics); see
    /// `calibrateStatistics` for a state that fits `x`.
    public func evaluate(parameters x: UnsafeBufferPointer<Float>, state: [Float]? = nil, data: Dataset,
                         indices: [Int32]? = nil, batchSize: Int = 256, mode: ForwardMode = .evaluation) -> Evaluation {
        precondition(x.count == parameterCount, "parameter vector has \(x.count) floats, the model \(parameterCount)")
        let all = indices ?? (0..<data.count).map { Int32($0) }
        guard !all.isEmpty else { return Evaluation(loss: 0, accuracy: task.isClassifier ? 0 : nil, samples: 0) }
        let chunk = max(1, min(batchSize, all.count))
        let ws = makeWorkspace(batch: chunk)
        if let s = state {
            precondition(s.count == stateCount, "state has \(s.count) floats, the model \(stateCount)")
            ws.state.pointer.update(from: s, count: stateCount)
        }
        var total = 0.0
        var correct = 0
        all.withUnsafeBufferPointer { idx in
            var start = 0
            while start < idx.count {
                let n = min(chunk, idx.count - start)
                ws.load(data, indices: UnsafeBufferPointer(rebasing: idx[start..<(start + n)]))
                let l = lossAndGradient(parameters: x.baseAddress!, workspace: ws, batch: n,
                                        normalizer: loss.normalizer(batch: n, shape: outputShape), mode: mode, into: nil)
                total += l * Double(n)
                if case let .classifier(classes) = task {
                    for s in 0..<n {
                        var best = 0
                        for c in 1..<classes where ws.output[c * n + s] > ws.output[best * n + s] { best = c }
                        if best == Int(ws.labels[s]) { correct += 1 }
                    }
                }
                start += n
            }
        }
        return Evaluation(loss: total / Double(all.count), accuracy: task.isClassifier ? Double(correct) / Double(all.count) : nil,
                          samples: all.count)
    }

    /// Running statistics that fit parameters `x`: BatchNorm's cumulative
    /// average (PyTorch's `momentum=None`) of the batch statistics of
    /// consecutive batches of `batchSize` samples `indices` of `data`, from the
    /// initial state. Models without BatchNorm return their (empty) state.
    public func calibrateStatistics(parameters x: UnsafeBufferPointer<Float>, data: Dataset, indices: [Int32],
                                    batchSize: Int) -> [Float] {
        var state = initialState()
        guard hasBatchNorm, !indices.isEmpty else { return state }
        let chunk = max(2, min(batchSize, indices.count))
        let ws = makeWorkspace(batch: chunk)
        state.withUnsafeMutableBufferPointer { st in
            indices.withUnsafeBufferPointer { idx in
                var start = 0, k = 0
                while start < idx.count {
                    let n = min(chunk, idx.count - start)
                    ws.load(data, indices: UnsafeBufferPointer(rebasing: idx[start..<(start + n)]))
                    forward(parameters: x.baseAddress!, state: st.baseAddress!, workspace: ws, batch: n,
                            mode: ForwardMode(batchStatistics: true, runningUpdate: 1 / Float(k + 1)))
                    start += n
                    k += 1
                }
            }
        }
        return state
    }
}
