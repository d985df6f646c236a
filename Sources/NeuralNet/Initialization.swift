import CSGDCore

/// PyTorch's default parameter initialisation, drawn from csgd's keyed
/// generator instead of torch's global one.
///
/// Conv2d, ConvTranspose2d and Linear weights: Kaiming-uniform with
/// a = √5, i.e. U(−b, b) with b = gain·√(3/fan_in), gain = √(2/(1 + a²)),
/// which is b = 1/√fan_in; biases U(−1/√fan_in, 1/√fan_in). fan_in is
/// weight dim 1 × kernel area, so for ConvTranspose2d (weight
/// [in, out, k, k]) it is out·k·k, as torch computes it. Each tensor draws
/// from its own stream RandomKey(seed, step = the tensor's offset in the flat
/// parameter vector, purpose .initialization), element j from word j.
public enum Initialization {
    /// The Kaiming-uniform (a = √5) bound for `fanIn`: 1/√fan_in.
    public static func kaimingBound(fanIn: Int) -> Float {
        let a = 5.0.squareRoot()
        let gain = (2.0 / (1.0 + a * a)).squareRoot()
        return Float(gain * (3.0 / Double(max(fanIn, 1))).squareRoot())
    }

    /// Fills `out` with U(−bound, bound) from the stream of (seed, offset).
    public static func uniform(_ out: UnsafeMutableBufferPointer<Float>, bound: Float, seed: UInt64, offset: Int) {
        var stream = RandomStream(key: RandomKey(seed: seed, step: UInt64(offset), purpose: .initialization))
        for j in 0..<out.count {
            let u = Double(stream.nextUInt32()) * 0x1p-32   // [0, 1)
            out[j] = Float((2 * u - 1) * Double(bound))
        }
    }

    /// Weight then bias of a layer whose weight occupies the first
    /// `weightCount` floats of `p` and whose bias (if any) the rest.
    static func weightAndBias(_ p: UnsafeMutableBufferPointer<Float>, weightCount: Int, fanIn: Int, seed: UInt64, offset: Int) {
        let bound = kaimingBound(fanIn: fanIn)
        uniform(UnsafeMutableBufferPointer(rebasing: p[0..<weightCount]), bound: bound, seed: seed, offset: offset)
        if p.count > weightCount {
            uniform(UnsafeMutableBufferPointer(rebasing: p[weightCount...]), bound: 1 / Float(Double(max(fanIn, 1)).squareRoot()),
                    seed: seed, offset: offset + weightCount)
        }
    }
}
