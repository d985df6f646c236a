import CSGDCore

/// What a model's output is compared with.
public enum ModelTask: Sendable, Equatable, CustomStringConvertible {
    /// Logits over `classes` labels; softmax cross-entropy; accuracy is reported.
    case classifier(classes: Int)
    /// A reconstruction of the input (loss against the input itself).
    case autoencoder

    public var isClassifier: Bool { if case .classifier = self { return true }; return false }

    public var description: String {
        switch self {
        case let .classifier(c): return "classifier(\(c) classes)"
        case .autoencoder: return "autoencoder"
        }
    }
}

/// A network ready to train: a layer stack, its loss and task, and the
/// layout of its flat parameter vector (the stack's: each layer's slice in
/// order, weights then bias) and running state (BatchNorm statistics).
///
/// Immutable and thread-safe; all per-call memory lives in a
/// `ModelWorkspace`. Build one with `ModelSpec.parse(_:).build(input:classes:)`.
public final class Model: Sendable {
    /// The canonical spec it was built from, e.g. `mnist-ae`.
    public let name: String
    public let body: Sequential
    public let loss: Loss
    public let task: ModelTask
    /// Whether it has BatchNorm (whose training output depends on the whole batch).
    public let hasBatchNorm: Bool
    /// Whether it has Dropout (whose training output depends on a key).
    public let hasDropout: Bool

    public init(name: String, body: Sequential, loss: Loss, task: ModelTask) throws {
        switch task {
        case let .classifier(classes):
            guard loss == .crossEntropy, body.outputShape == TensorShape(classes) else {
                throw CSGDError("model '\(name)': a classifier over \(classes) classes needs \(classes)x1x1 logits and cross-entropy, has \(body.outputShape) and \(loss.rawValue)")
            }
        case .autoencoder:
            guard !loss.usesLabels, body.outputShape == body.inputShape else {
                throw CSGDError("model '\(name)': an autoencoder's output \(body.outputShape) must match its input \(body.inputShape)")
            }
        }
        self.name = name
        self.body = body
        self.loss = loss
        self.task = task
        func scan(_ l: any Layer, _ f: (any Layer) -> Bool) -> Bool {
            if f(l) { return true }
            if let s = l as? Sequential { return s.layers.contains { scan($0, f) } }
            if let r = l as? ResidualBlock { return scan(r.main, f) || (r.shortcut.map { scan($0, f) } ?? false) }
            return false
        }
        hasBatchNorm = scan(body) { $0 is BatchNorm2d }
        hasDropout = scan(body) { $0 is Dropout }
    }

    public var inputShape: TensorShape { body.inputShape }
    public var outputShape: TensorShape { body.outputShape }
    /// d, the length of the flat parameter vector.
    public var parameterCount: Int { body.parameterCount }
    /// Floats of running state (BatchNorm means and variances).
    public var stateCount: Int { body.stateCount }
    /// Multiply–adds of one sample's forward pass.
    public var forwardMultiplyAdds: Int { body.forwardMultiplyAdds }

    /// Writes PyTorch's default initialisation for `seed` (keyed streams,
    /// purpose .initialization) into `parameters`, and the initial running
    /// state (means 0, variances 1) into `state` if given.
    public func initialize(parameters: UnsafeMutableBufferPointer<Float>, state: UnsafeMutableBufferPointer<Float>? = nil, seed: UInt64) {
        precondition(parameters.count == parameterCount, "parameter vector has \(parameters.count) floats, the model \(parameterCount)")
        var tmp = [Float](repeating: 0, count: stateCount)
        tmp.withUnsafeMutableBufferPointer { s in
            body.initialize(parameters: parameters, state: state ?? s, seed: seed, offset: 0)
        }
    }

    /// Freshly initialised parameters for `seed`.
    public func initialParameters(seed: UInt64) -> [Float] {
        var p = [Float](repeating: 0, count: parameterCount)
        p.withUnsafeMutableBufferPointer { initialize(parameters: $0, seed: seed) }
        return p
    }

    /// The initial running state: each BatchNorm's means 0, variances 1.
    public func initialState() -> [Float] {
        var s = [Float](repeating: 0, count: stateCount)
        func fill(_ l: any Layer, at offset: Int) {
            if let b = l as? BatchNorm2d {
                for c in 0..<b.channels { s[offset + b.channels + c] = 1 }
            } else if let q = l as? Sequential {
                for (i, m) in q.layers.enumerated() { fill(m, at: offset + q.stateOffsets[i]) }
            } else if let r = l as? ResidualBlock {
                fill(r.main, at: offset)
                if let sc = r.shortcut { fill(sc, at: offset + r.main.stateCount) }
            }
        }
        fill(body, at: 0)
        return s
    }

    public func makeWorkspace(batch capacity: Int) -> ModelWorkspace { ModelWorkspace(model: self, capacity: capacity) }

    /// Runs the network on the `n` samples loaded in `ws` (output in `ws.output`).
    /// `state` is the running state to use and update (nil: the workspace's copy).
    public func forward(parameters x: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>? = nil,
                        workspace ws: ModelWorkspace, batch n: Int, mode: ForwardMode) {
        precondition(n >= 1 && n <= ws.capacity, "batch \(n) outside 1...\(ws.capacity)")
        body.forward(LayerForward(parameters: x, state: state ?? ws.state.pointer, input: ws.input, output: ws.output,
                                  saved: ws.saved, scratch: ws.scratch, batch: n, mode: mode))
    }

    /// Forward, loss and (when `gradient` is given) backward on the `n`
    /// samples loaded in `ws`; the loss terms are divided by `normalizer`
    /// (the whole batch's, see `Loss.normalizer`). Writes every element of
    /// `gradient`. Returns this part's share of the batch loss.
    public func lossAndGradient(parameters x: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>? = nil,
                                workspace ws: ModelWorkspace, batch n: Int, normalizer: Double, mode: ForwardMode,
                                into gradient: UnsafeMutablePointer<Float>?) -> Double {
        forward(parameters: x, state: state, workspace: ws, batch: n, mode: mode)
        let value = loss.evaluate(output: ws.output, shape: outputShape, batch: n,
                                  target: loss.usesLabels ? nil : UnsafePointer(ws.input),
                                  labels: loss.usesLabels ? UnsafePointer(ws.labels) : nil,
                                  normalizer: normalizer, gradient: gradient == nil ? nil : ws.outputGradient)
        if let g = gradient {
            body.backward(LayerBackward(parameters: x, state: UnsafePointer(state ?? ws.state.pointer), input: ws.input,
                                        output: ws.output, outputGradient: ws.outputGradient, inputGradient: nil,
                                        parameterGradient: g, saved: ws.saved, scratch: ws.scratch, batch: n, mode: mode))
        }
        return value
    }

    /// The layers, their output shapes and parameter counts, one a line.
    public var summary: String {
        var lines = ["\(name): \(task), input \(inputShape), \(parameterCount) parameters, loss \(loss.rawValue)"]
        for (i, l) in body.layers.enumerated() {
            lines.append("  \(i): \(l) → \(l.outputShape) [\(l.parameterCount)]")
        }
        return lines.joined(separator: "\n")
    }
}
