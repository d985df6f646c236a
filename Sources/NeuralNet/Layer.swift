import CSGDCore

/// How one forward pass treats the layers that behave differently in
/// training and evaluation (BatchNorm, Dropout).
///
/// `batchStatistics` makes BatchNorm normalise with the batch's own mean and
/// variance (training) instead of its running statistics (evaluation);
/// `runningUpdate`, when set, also folds the batch statistics into the running
/// ones with that factor (PyTorch's `momentum`, 0.1 by default; 1/(k+1) at the
/// k-th batch gives the cumulative average, PyTorch's `momentum=None`).
/// `dropoutKey`, when set, switches Dropout on with masks drawn from that key;
/// `sampleOffset` is the index of this call's first sample in the whole
/// mini-batch, so a batch split into parts draws the same masks as one piece.
public struct ForwardMode: Sendable, Equatable {
    public var batchStatistics: Bool
    public var runningUpdate: Float?
    public var dropoutKey: RandomKey?
    public var sampleOffset: Int

    public init(batchStatistics: Bool, runningUpdate: Float? = nil, dropoutKey: RandomKey? = nil, sampleOffset: Int = 0) {
        self.batchStatistics = batchStatistics
        self.runningUpdate = runningUpdate
        self.dropoutKey = dropoutKey
        self.sampleOffset = sampleOffset
    }

    /// Training: batch statistics, dropout masks from `dropout` (nil: no dropout), no running update.
    public static func training(dropout: RandomKey?) -> ForwardMode {
        ForwardMode(batchStatistics: true, dropoutKey: dropout)
    }

    /// A deterministic function of the parameters and the batch: batch
    /// statistics, no dropout (the objective's fixed-batch loss and gradient).
    public static let deterministic = ForwardMode(batchStatistics: true)

    /// Evaluation (PyTorch's `model.eval()`): running statistics, no dropout.
    public static let evaluation = ForwardMode(batchStatistics: false)

    /// The same mode for a part of the batch starting at sample `offset`.
    public func part(startingAt offset: Int) -> ForwardMode {
        var m = self
        m.sampleOffset += offset
        return m
    }
}

/// The buffers of one layer's forward call. Activations are batched with the
/// sample innermost, C×H×W×N: value (c, h, w) of sample n sits at
/// `((c·H + h)·W + w)·N + n`. So a convolution over the whole batch is one
/// GEMM, im2col moves contiguous runs of N floats, a flat feature vector is
/// simply features × N (PyTorch's flatten order), and each channel is one
/// contiguous block for BatchNorm.
public struct LayerForward {
    /// This layer's slice of the flat parameter vector.
    public var parameters: UnsafePointer<Float>
    /// This layer's slice of the running state (BatchNorm statistics).
    public var state: UnsafeMutablePointer<Float>
    public var input: UnsafePointer<Float>
    public var output: UnsafeMutablePointer<Float>
    /// `savedCount(batch:)` floats kept for `backward`.
    public var saved: UnsafeMutablePointer<Float>
    /// `scratchCount(batch:)` floats of temporary memory.
    public var scratch: UnsafeMutablePointer<Float>
    public var batch: Int
    public var mode: ForwardMode

    public init(parameters: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                output: UnsafeMutablePointer<Float>, saved: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                batch: Int, mode: ForwardMode) {
        self.parameters = parameters; self.state = state; self.input = input; self.output = output
        self.saved = saved; self.scratch = scratch; self.batch = batch; self.mode = mode
    }
}

/// The buffers of one layer's backward call (after its forward call with the
/// same `saved` memory and batch).
public struct LayerBackward {
    public var parameters: UnsafePointer<Float>
    public var state: UnsafePointer<Float>
    public var input: UnsafePointer<Float>
    public var output: UnsafePointer<Float>
    /// ∂L/∂output; the layer leaves it unchanged.
    public var outputGradient: UnsafeMutablePointer<Float>
    /// Where ∂L/∂input goes, or nil when nobody needs it (the first layer).
    public var inputGradient: UnsafeMutablePointer<Float>?
    /// This layer's slice of the gradient; every element is overwritten.
    public var parameterGradient: UnsafeMutablePointer<Float>
    public var saved: UnsafeMutablePointer<Float>
    public var scratch: UnsafeMutablePointer<Float>
    public var batch: Int
    public var mode: ForwardMode

    public init(parameters: UnsafePointer<Float>, state: UnsafePointer<Float>, input: UnsafePointer<Float>,
                output: UnsafePointer<Float>, outputGradient: UnsafeMutablePointer<Float>,
                inputGradient: UnsafeMutablePointer<Float>?, parameterGradient: UnsafeMutablePointer<Float>,
                saved: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, batch: Int, mode: ForwardMode) {
        self.parameters = parameters; self.state = state; self.input = input; self.output = output
        self.outputGradient = outputGradient; self.inputGradient = inputGradient; self.parameterGradient = parameterGradient
        self.saved = saved; self.scratch = scratch; self.batch = batch; self.mode = mode
    }
}

/// One differentiable stage of a network: a fixed input and output shape,
/// parameters in a contiguous slice of the model's flat Float32 vector
/// (weights first, then bias, in PyTorch's weight layouts), an exact
/// backward pass, and PyTorch's default initialisation.
///
/// Layers are immutable values; everything a call writes lives in the
/// buffers it is handed (`LayerForward`, `LayerBackward`), so one layer
/// serves any number of threads at once.
public protocol Layer: Sendable, CustomStringConvertible {
    var inputShape: TensorShape { get }
    var outputShape: TensorShape { get }
    /// Floats of this layer's slice of the parameter vector.
    var parameterCount: Int { get }
    /// Floats of running state outside the parameters (BatchNorm: mean, variance).
    var stateCount: Int { get }
    /// Parameter tensors in slice order, with their PyTorch shapes.
    var parameterTensors: [(name: String, shape: [Int])] { get }
    /// Floats kept from forward to backward for a batch of `n`.
    func savedCount(batch n: Int) -> Int
    /// Floats of temporary memory one forward or backward call needs.
    func scratchCount(batch n: Int) -> Int
    /// Multiply–adds of one sample's forward pass (for throughput reports).
    var forwardMultiplyAdds: Int { get }
    /// Writes PyTorch's default initial parameters and state. `offset` is the
    /// slice's first index in the model's vector: tensor streams are keyed by
    /// (seed, step = offset of the tensor, purpose .initialization).
    func initialize(parameters: UnsafeMutableBufferPointer<Float>, state: UnsafeMutableBufferPointer<Float>, seed: UInt64, offset: Int)
    func forward(_ a: LayerForward)
    func backward(_ a: LayerBackward)
}

extension Layer {
    public var stateCount: Int { 0 }
    public var parameterCount: Int { 0 }
    public var parameterTensors: [(name: String, shape: [Int])] { [] }
    public func savedCount(batch n: Int) -> Int { 0 }
    public func scratchCount(batch n: Int) -> Int { 0 }
    public var forwardMultiplyAdds: Int { 0 }
    public func initialize(parameters: UnsafeMutableBufferPointer<Float>, state: UnsafeMutableBufferPointer<Float>, seed: UInt64, offset: Int) {}
}
