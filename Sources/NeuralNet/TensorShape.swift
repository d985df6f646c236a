/// The shape of one sample's activation, C×H×W (a flat vector is C×1×1).
/// Batched tensors are NCHW: N samples of this shape, contiguous.
public struct TensorShape: Hashable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(_ channels: Int, _ height: Int = 1, _ width: Int = 1) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Floats per sample.
    public var count: Int { channels * height * width }

    public var description: String { "\(channels)x\(height)x\(width)" }
}
