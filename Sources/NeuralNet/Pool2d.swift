import CSGDCore

/// Max or average pooling over k×k windows with stride s and no padding
/// (PyTorch's `nn.MaxPool2d(k, s)` / `nn.AvgPool2d(k, s)`, floor mode):
/// output side ⌊(H − k)/s⌋ + 1. Max pooling sends each output gradient to
/// the first maximal input of its window (scan order, as torch on CPU),
/// found again in backward rather than stored; average pooling spreads it
/// evenly over the k² inputs.
public struct Pool2d: Layer {
    /// Which reduction a window applies.
    public enum Kind: String, Sendable { case max, average }

    public let kind: Kind
    public let kernel: Int
    public let stride: Int
    public let inputShape: TensorShape
    public let outputShape: TensorShape

    public init(_ kind: Kind, kernel: Int, stride: Int? = nil, input: TensorShape) throws {
        let s = stride ?? kernel
        guard kernel >= 1, s >= 1 else { throw CSGDError("\(kind) pooling: kernel and stride must be positive") }
        guard input.height >= kernel, input.width >= kernel else {
            throw CSGDError("\(kind) pooling kernel \(kernel) is larger than its input \(input)")
        }
        self.kind = kind
        self.kernel = kernel
        self.stride = s
        inputShape = input
        outputShape = TensorShape(input.channels, (input.height - kernel) / s + 1, (input.width - kernel) / s + 1)
    }

    public var forwardMultiplyAdds: Int { outputShape.count * kernel * kernel }

    public func forward(_ a: LayerForward) {
        let H = inputShape.height, W = inputShape.width, OH = outputShape.height, OW = outputShape.width
        let n = a.batch, k = kernel, s = stride
        let inv = 1 / Float(k * k)
        for c in 0..<inputShape.channels {
            for oy in 0..<OH {
                for ox in 0..<OW {
                    let y = a.output + ((c * OH + oy) * OW + ox) * n
                    let corner = a.input + ((c * H + oy * s) * W + ox * s) * n
                    y.update(from: corner, count: n)
                    for i in 0..<k {
                        for j in 0..<k where i > 0 || j > 0 {
                            let x = corner + (i * W + j) * n
                            switch kind {
                            case .max: for t in 0..<n where x[t] > y[t] { y[t] = x[t] }
                            case .average: for t in 0..<n { y[t] += x[t] }
                            }
                        }
                    }
                    if kind == .average { for t in 0..<n { y[t] *= inv } }
                }
            }
        }
    }

    public func backward(_ a: LayerBackward) {
        guard let dx = a.inputGradient else { return }
        let H = inputShape.height, W = inputShape.width, OH = outputShape.height, OW = outputShape.width
        let n = a.batch, k = kernel, s = stride
        let inv = 1 / Float(k * k)
        dx.update(repeating: 0, count: inputShape.channels * H * W * n)
        for c in 0..<inputShape.channels {
            for oy in 0..<OH {
                for ox in 0..<OW {
                    let dy = a.outputGradient + ((c * OH + oy) * OW + ox) * n
                    let at = ((c * H + oy * s) * W + ox * s) * n
                    switch kind {
                    case .max:
                        for t in 0..<n {
                            var best = at + t
                            var m = a.input[best]
                            for i in 0..<k {
                                for j in 0..<k {
                                    let q = at + (i * W + j) * n + t
                                    if a.input[q] > m { m = a.input[q]; best = q }
                                }
                            }
                            dx[best] += dy[t]
                        }
                    case .average:
                        for i in 0..<k {
                            for j in 0..<k {
                                let d = dx + at + (i * W + j) * n
                                for t in 0..<n { d[t] += dy[t] * inv }
                            }
                        }
                    }
                }
            }
        }
    }

    public var description: String { "\(kind == .max ? "MaxPool2d" : "AvgPool2d")(k\(kernel), s\(stride))" }
}
