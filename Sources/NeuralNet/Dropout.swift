import CSGDCore

/// Inverted dropout (PyTorch's `nn.Dropout(p)`): in training each value is
/// zeroed with probability p and the rest scaled by 1/(1 − p); in evaluation
/// (no dropout key in the mode) it is the identity.
///
/// Masks come from the mode's key with this layer's `salt` mixed into the
/// seed: value f (PyTorch's flattened c·H·W + h·W + w) of the mini-batch's
/// sample g is dropped when word g·⌈C·H·W⌉₄ + f of that stream, as a
/// 24-bit uniform, is below p. So a mask depends only on (key, layer,
/// sample, value), never on how the batch is split across threads.
public struct Dropout: Layer {
    public let probability: Float
    public let salt: UInt64
    public let inputShape: TensorShape
    public var outputShape: TensorShape { inputShape }

    public init(_ probability: Double, salt: UInt64, input: TensorShape) throws {
        guard probability >= 0, probability < 1 else { throw CSGDError("dropout probability \(probability) must be in [0, 1)") }
        self.probability = Float(probability)
        self.salt = salt
        self.inputShape = input
    }

    /// The mask (0 or 1/(1 − p) per value).
    public func savedCount(batch n: Int) -> Int { n * inputShape.count }

    public func forward(_ a: LayerForward) {
        let count = a.batch * inputShape.count
        guard let key = a.mode.dropoutKey, probability > 0 else {
            a.output.update(from: a.input, count: count)
            return
        }
        let k = RandomKey(seed: key.seed ^ (0xD0_0D_0000 &+ salt &* 0x9E37_79B9_7F4A_7C15), step: key.step,
                          worker: key.worker, purpose: key.purpose)
        let n = a.batch, features = inputShape.count
        let perSample = (features + 3) / 4 * 4
        let keep = 1 / (1 - probability)
        let threshold = UInt32(probability * 0x1p24)
        for s in 0..<n {
            var stream = RandomStream(key: k)
            stream.position = UInt64((a.mode.sampleOffset + s) * perSample)
            for f in 0..<features {
                let m: Float = (stream.nextUInt32() >> 8) < threshold ? 0 : keep
                a.saved[f * n + s] = m
                a.output[f * n + s] = a.input[f * n + s] * m
            }
        }
    }

    public func backward(_ a: LayerBackward) {
        guard let dx = a.inputGradient else { return }
        let count = a.batch * inputShape.count
        if a.mode.dropoutKey == nil || probability == 0 {
            dx.update(from: a.outputGradient, count: count)
        } else {
            for i in 0..<count { dx[i] = a.outputGradient[i] * a.saved[i] }
        }
    }

    public var description: String { "Dropout(\(probability))" }
}
