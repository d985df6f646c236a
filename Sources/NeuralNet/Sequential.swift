import CSGDCore

/// Layers applied one after another (PyTorch's `nn.Sequential`), itself a
/// layer: its parameter slice is the layers' slices in order, likewise its
/// state. Its saved memory holds the intermediate activations (the last
/// layer writes straight into the caller's output) followed by each layer's
/// saved memory; its scratch holds two ping-pong gradient buffers for
/// backward followed by the largest scratch any layer asks for.
public struct Sequential: Layer {
    public let layers: [any Layer]
    public let parameterOffsets: [Int]
    public let stateOffsets: [Int]
    public let parameterCount: Int
    public let stateCount: Int
    public let inputShape: TensorShape
    public let outputShape: TensorShape

    public init(_ layers: [any Layer]) throws {
        guard let first = layers.first, let last = layers.last else { throw CSGDError("a network needs at least one layer") }
        for i in 1..<max(layers.count, 1) where layers[i - 1].outputShape != layers[i].inputShape {
            throw CSGDError("layer \(i) (\(layers[i])) expects \(layers[i].inputShape) but gets \(layers[i - 1].outputShape)")
        }
        self.layers = layers
        var p = 0, s = 0
        var po: [Int] = [], so: [Int] = []
        for l in layers {
            po.append(p); so.append(s)
            p += l.parameterCount; s += l.stateCount
        }
        parameterOffsets = po
        stateOffsets = so
        parameterCount = p
        stateCount = s
        inputShape = first.inputShape
        outputShape = last.outputShape
    }

    /// The parameter tensors of every layer, prefixed by the layer's index.
    public var parameterTensors: [(name: String, shape: [Int])] {
        layers.enumerated().flatMap { i, l in l.parameterTensors.map { (name: "\(i).\($0.name)", shape: $0.shape) } }
    }

    public var forwardMultiplyAdds: Int { layers.reduce(0) { $0 + $1.forwardMultiplyAdds } }

    /// Floats of the intermediate activations a₁ … a_{L−1}.
    func activationCount(batch n: Int) -> Int {
        var t = 0
        for i in 0..<(layers.count - 1) { t += layers[i].outputShape.count * n }
        return t
    }

    func largestIntermediate(batch n: Int) -> Int {
        var m = 0
        for i in 0..<(layers.count - 1) { m = max(m, layers[i].outputShape.count * n) }
        return m
    }

    public func savedCount(batch n: Int) -> Int {
        var t = activationCount(batch: n)
        for l in layers { t += l.savedCount(batch: n) }
        return t
    }

    public func scratchCount(batch n: Int) -> Int {
        var m = 0
        for l in layers { m = max(m, l.scratchCount(batch: n)) }
        return 2 * largestIntermediate(batch: n) + m
    }

    public func initialize(parameters: UnsafeMutableBufferPointer<Float>, state: UnsafeMutableBufferPointer<Float>, seed: UInt64, offset: Int) {
        for (i, l) in layers.enumerated() {
            let p = UnsafeMutableBufferPointer(rebasing: parameters[parameterOffsets[i] ..< parameterOffsets[i] + l.parameterCount])
            let s = UnsafeMutableBufferPointer(rebasing: state[stateOffsets[i] ..< stateOffsets[i] + l.stateCount])
            l.initialize(parameters: p, state: s, seed: seed, offset: offset + parameterOffsets[i])
        }
    }

    public func forward(_ a: LayerForward) {
        let n = a.batch
        var act = a.saved
        var layerSaved = a.saved + activationCount(batch: n)
        var input = a.input
        let last = layers.count - 1
        for i in 0...last {
            let l = layers[i]
            let out = i == last ? a.output : act
            l.forward(LayerForward(parameters: a.parameters + parameterOffsets[i], state: a.state + stateOffsets[i],
                                   input: input, output: out, saved: layerSaved, scratch: a.scratch, batch: n, mode: a.mode))
            layerSaved += l.savedCount(batch: n)
            if i < last { act += l.outputShape.count * n }
            input = UnsafePointer(out)
        }
    }

    public func backward(_ a: LayerBackward) {
        let n = a.batch
        let big = largestIntermediate(batch: n)
        let buffers = (a.scratch, a.scratch + big)
        let layerScratch = a.scratch + 2 * big
        // Walk back from the end of the saved memory. Activation a_i (the
        // input of layer i, i ≥ 1) is stored right before a_{i+1}.
        var layerSavedEnd = a.saved + savedCount(batch: n)
        var end = a.saved + activationCount(batch: n)   // end of a_i's storage
        var gradOut = a.outputGradient
        let last = layers.count - 1
        for i in stride(from: last, through: 0, by: -1) {
            let l = layers[i]
            let layerSaved = layerSavedEnd - l.savedCount(batch: n)
            let inStart = end - l.inputShape.count * n
            let output: UnsafePointer<Float> = i == last ? a.output : UnsafePointer(end)
            let input: UnsafePointer<Float> = i == 0 ? a.input : UnsafePointer(inStart)
            let gradIn: UnsafeMutablePointer<Float>? = i == 0 ? a.inputGradient : (i % 2 == 0 ? buffers.0 : buffers.1)
            l.backward(LayerBackward(parameters: a.parameters + parameterOffsets[i], state: UnsafePointer(a.state + stateOffsets[i]),
                                     input: input, output: output, outputGradient: gradOut, inputGradient: gradIn,
                                     parameterGradient: a.parameterGradient + parameterOffsets[i],
                                     saved: layerSaved, scratch: layerScratch, batch: n, mode: a.mode))
            layerSavedEnd = layerSaved
            end = inStart
            if let g = gradIn { gradOut = g }
        }
    }

    public var description: String { layers.map(\.description).joined(separator: " → ") }
}
