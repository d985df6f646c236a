/// Flattens each sample's C×H×W activation into a vector of C·H·W features
/// in PyTorch's order (c, h, w), i.e. `nn.Flatten()`. With the batch
/// innermost, C×H×W×N already is (C·H·W)×N, so both passes are copies.
public struct Flatten: Layer {
    public let inputShape: TensorShape
    public var outputShape: TensorShape { TensorShape(inputShape.count) }

    public init(input: TensorShape) { inputShape = input }

    public func forward(_ a: LayerForward) {
        a.output.update(from: a.input, count: inputShape.count * a.batch)
    }

    public func backward(_ a: LayerBackward) {
        a.inputGradient?.update(from: a.outputGradient, count: inputShape.count * a.batch)
    }

    public var description: String { "Flatten" }
}
