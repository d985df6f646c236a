import Foundation

/// A pointwise nonlinearity (PyTorch's `nn.ReLU`, `nn.Sigmoid`, `nn.Tanh`)
/// on activations of any shape. It has no parameters; backward reads the
/// forward output: ReLU passes ∂y where y > 0, Sigmoid multiplies by
/// y(1 − y), Tanh by 1 − y².
public struct Activation: Layer {
    /// The nonlinearity, by its spec name.
    public enum Kind: String, Sendable, CaseIterable {
        case relu, sigmoid, tanh
    }

    public let kind: Kind
    public let inputShape: TensorShape
    public var outputShape: TensorShape { inputShape }

    public init(_ kind: Kind, input: TensorShape) {
        self.kind = kind
        self.inputShape = input
    }

    public func forward(_ a: LayerForward) {
        let count = a.batch * inputShape.count
        let x = a.input, y = a.output
        switch kind {
        case .relu:
            let zero = SIMD8<Float>()
            var i = 0
            while i + 8 <= count {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: zero, where: v .< zero), as: SIMD8<Float>.self)
                i += 8
            }
            while i < count { y[i] = max(x[i], 0); i += 1 }
        case .sigmoid:
            VectorMath.sigmoid(x, into: y, count: count)
        case .tanh:
            for i in 0..<count { y[i] = Foundation.tanh(x[i]) }
        }
    }

    public func backward(_ a: LayerBackward) {
        guard let dx = a.inputGradient else { return }
        let count = a.batch * inputShape.count
        let y = a.output, dy = UnsafePointer(a.outputGradient)
        @inline(__always) func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
            UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
        }
        var i = 0
        switch kind {
        case .relu:
            let zero = SIMD8<Float>()
            while i + 8 <= count {
                let g = load(dy, i).replacing(with: zero, where: load(y, i) .<= zero)
                UnsafeMutableRawPointer(dx + i).storeBytes(of: g, as: SIMD8<Float>.self)
                i += 8
            }
            while i < count { dx[i] = y[i] > 0 ? dy[i] : 0; i += 1 }
        case .sigmoid:
            while i + 8 <= count {
                let v = load(y, i)
                UnsafeMutableRawPointer(dx + i).storeBytes(of: load(dy, i) * v * (1 - v), as: SIMD8<Float>.self)
                i += 8
            }
            while i < count { dx[i] = dy[i] * y[i] * (1 - y[i]); i += 1 }
        case .tanh:
            while i + 8 <= count {
                let v = load(y, i)
                UnsafeMutableRawPointer(dx + i).storeBytes(of: load(dy, i) * (1 - v * v), as: SIMD8<Float>.self)
                i += 8
            }
            while i < count { dx[i] = dy[i] * (1 - y[i] * y[i]); i += 1 }
        }
    }

    public var description: String {
        switch kind {
        case .relu: return "ReLU"
        case .sigmoid: return "Sigmoid"
        case .tanh: return "Tanh"
        }
    }
}
