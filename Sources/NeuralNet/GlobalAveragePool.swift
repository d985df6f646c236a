/// Global average pooling (PyTorch's `nn.AdaptiveAvgPool2d(1)` followed by
/// `flatten(1)`): C×H×W → C×1×1, each channel's mean over its H·W
/// positions; backward spreads each gradient evenly over them.
public struct GlobalAveragePool: Layer {
    public let inputShape: TensorShape
    public var outputShape: TensorShape { TensorShape(inputShape.channels) }

    public init(input: TensorShape) { inputShape = input }

    public var forwardMultiplyAdds: Int { inputShape.count }

    public func forward(_ a: LayerForward) {
        let area = inputShape.height * inputShape.width, n = a.batch
        let inv = 1 / Float(area)
        for c in 0..<inputShape.channels {
            let y = a.output + c * n
            let x = a.input + c * area * n
            y.update(from: x, count: n)
            for q in 1..<max(area, 1) {
                let row = x + q * n
                for s in 0..<n { y[s] += row[s] }
            }
            for s in 0..<n { y[s] *= inv }
        }
    }

    public func backward(_ a: LayerBackward) {
        guard let dx = a.inputGradient else { return }
        let area = inputShape.height * inputShape.width, n = a.batch
        let inv = 1 / Float(area)
        for c in 0..<inputShape.channels {
            let dy = a.outputGradient + c * n
            for q in 0..<area {
                let row = dx + (c * area + q) * n
                for s in 0..<n { row[s] = dy[s] * inv }
            }
        }
    }

    public var description: String { "GlobalAvgPool" }
}
