import CSGDCore

/// Batch normalisation over the batch and spatial positions of each channel
/// (PyTorch's `nn.BatchNorm2d`, affine, ε = 1e-5): parameters weight γ [C]
/// (initially 1) then bias β [C] (initially 0); running state mean [C]
/// (initially 0) then variance [C] (initially 1), outside the parameters.
///
/// With batch statistics (training) each channel is normalised by its mean
/// and biased variance over the M = N·H·W values, and, when the mode asks
/// for it, the running statistics move by the mode's factor f:
/// mean ← (1 − f)·mean + f·μ, var ← (1 − f)·var + f·σ²·M/(M − 1), as torch.
/// With running statistics (evaluation) those are used instead. Backward is
/// exact for either: ∂γ = Σ ∂y·x̂, ∂β = Σ ∂y, and with batch statistics
/// ∂x = γ/σ·(∂y − ∂β/M − x̂·∂γ/M), with running ones ∂x = γ/σ·∂y.
public struct BatchNorm2d: Layer {
    public let channels: Int
    public let inputShape: TensorShape
    public var outputShape: TensorShape { inputShape }
    public let epsilon: Float = 1e-5

    public init(_ channels: Int, input: TensorShape) throws {
        guard input.channels == channels, channels >= 1 else {
            throw CSGDError("BatchNorm2d(\(channels)) cannot take input \(input)")
        }
        self.channels = channels
        self.inputShape = input
    }

    public var parameterCount: Int { 2 * channels }
    public var stateCount: Int { 2 * channels }
    public var parameterTensors: [(name: String, shape: [Int])] { [("weight", [channels]), ("bias", [channels])] }
    /// x̂ for every value, then 1/σ per channel.
    public func savedCount(batch n: Int) -> Int { n * inputShape.count + channels }
    public var forwardMultiplyAdds: Int { 2 * inputShape.count }

    public func initialize(parameters: UnsafeMutableBufferPointer<Float>, state: UnsafeMutableBufferPointer<Float>, seed: UInt64, offset: Int) {
        for c in 0..<channels {
            parameters[c] = 1
            parameters[channels + c] = 0
            state[c] = 0
            state[channels + c] = 1
        }
    }

    public func forward(_ a: LayerForward) {
        let M = a.batch * inputShape.height * inputShape.width
        let gamma = a.parameters, beta = a.parameters + channels
        let runMean = a.state, runVar = a.state + channels
        let xhatAll = a.saved, invStd = a.saved + channels * M
        for c in 0..<channels {
            let x = a.input + c * M, y = a.output + c * M, xhat = xhatAll + c * M
            let mean: Float, variance: Float
            if a.mode.batchStatistics {
                let mu = RowOps.sum(x, count: M) / Double(M)
                var ss = 0.0
                var acc = SIMD8<Float>()
                let m32 = Float(mu)
                var j = 0
                while j + 8 <= M {
                    let d = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self) - m32
                    acc += d * d
                    j += 8
                    if j & 1023 == 0 { ss += Double(acc.sum()); acc = SIMD8<Float>() }
                }
                ss += Double(acc.sum())
                while j < M { let d = Double(x[j]) - mu; ss += d * d; j += 1 }
                let v = ss / Double(M)
                mean = m32
                variance = Float(v)
                if let f = a.mode.runningUpdate {
                    let unbiased = M > 1 ? v * Double(M) / Double(M - 1) : v
                    runMean[c] = (1 - f) * runMean[c] + f * Float(mu)
                    runVar[c] = (1 - f) * runVar[c] + f * Float(unbiased)
                }
            } else {
                mean = runMean[c]
                variance = runVar[c]
            }
            let s = 1 / (variance + epsilon).squareRoot()
            invStd[c] = s
            let g = gamma[c], b = beta[c]
            for j in 0..<M {
                let h = (x[j] - mean) * s
                xhat[j] = h
                y[j] = g * h + b
            }
        }
    }

    public func backward(_ a: LayerBackward) {
        let M = a.batch * inputShape.height * inputShape.width
        let gamma = a.parameters
        let xhatAll = UnsafePointer(a.saved), invStd = a.saved + channels * M
        let gGamma = a.parameterGradient, gBeta = a.parameterGradient + channels
        for c in 0..<channels {
            let dy = a.outputGradient + c * M, xhat = xhatAll + c * M
            let dBeta = RowOps.sum(dy, count: M)
            let dGamma = RowOps.dot(dy, xhat, count: M)
            gGamma[c] = Float(dGamma)
            gBeta[c] = Float(dBeta)
            guard let dxAll = a.inputGradient else { continue }
            let dx = dxAll + c * M
            let k = gamma[c] * invStd[c]
            if a.mode.batchStatistics {
                let mb = Float(dBeta / Double(M)), mg = Float(dGamma / Double(M))
                for j in 0..<M { dx[j] = k * (dy[j] - mb - xhat[j] * mg) }
            } else {
                for j in 0..<M { dx[j] = k * dy[j] }
            }
        }
    }

    public var description: String { "BatchNorm2d(\(channels))" }
}
