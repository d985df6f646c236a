import Checkpointing
import Communication
import Compression
import CSGDCore

/// One link of a method's step, in the manner of optax's
/// `GradientTransformation`: an immutable description (`self`) plus an
/// explicit per-rank `State` made once by `initialState` and threaded through
/// every call, so a method is a list of small transforms rather than a loop of
/// its own.
///
/// `prepare` runs before the step's gradient (Algorithm 1's reset moves the
/// iterate there); `update` runs once a pass and passes the step's
/// `StepState` on: the gradient oracle fills it, error feedback (with its
/// perturbation) changes it, compression and averaging turn it into the
/// averaged update, and the step applies it. A transform may ask the chain to run again
/// from its head at a moved iterate (`.recompute`, PGD's perturbation) or end
/// the run (`.stop`). Per-step work allocates nothing: buffers live in states.
///
/// A checkpoint holds what of each state carries from one step to the next:
/// `saveState` writes it and `restoreState` reads it back into a fresh state,
/// field by field in explicit code (scratch that every step overwrites is
/// left out). A transform whose state is `Void` saves nothing by default;
/// every other transform spells out its own.
public protocol GradientTransform {
    associatedtype State
    /// The state of one rank: buffers of `dimension` floats, counters.
    func initialState(dimension: Int, workers: Int) -> State
    /// Before the step's gradient; may move the iterate (default: nothing).
    func prepare(state: inout State, context: inout StepContext) throws
    /// One pass of the step through this transform.
    func update(_ g: inout StepState, state: inout State, context: inout StepContext) throws -> StepOutcome
    /// The error memory e of this rank, when the transform keeps one (for ‖e‖ in the log).
    func errorMemory(in state: State) -> UnsafeBufferPointer<Float>?
    /// What `update` does with `StepState.local` (default `.unknown`).
    var localVectorUse: LocalVectorUse { get }
    /// Appends what of `state` carries into the next step (for a checkpoint).
    func saveState(_ state: State, to w: inout CheckpointWriter)
    /// Reads what `saveState` wrote into `state`, a fresh `initialState`.
    func restoreState(_ state: inout State, from r: inout CheckpointReader) throws
}

extension GradientTransform {
    public func prepare(state: inout State, context: inout StepContext) throws {}
    public func errorMemory(in state: State) -> UnsafeBufferPointer<Float>? { nil }
    public var localVectorUse: LocalVectorUse { .unknown }
}

extension GradientTransform where State == Void {
    /// A stateless transform has nothing to save.
    public func saveState(_ state: State, to w: inout CheckpointWriter) {}
    public func restoreState(_ state: inout State, from r: inout CheckpointReader) throws {}
}

/// What a transform tells the chain after its update.
public enum StepOutcome: Equatable, Sendable {
    /// Go on to the next transform.
    case proceed
    /// The iterate moved: run the chain again from its head (the next draw).
    case recompute
    /// End the run after this step, for the reason given (PGD's stop rule).
    case stop(String)
}

/// The environment of one step on one rank: the objective, the
/// communicator, the run's seed, the iterate x_t (identical on every rank),
/// a scratch vector, the step and draw numbers, and what the step reports
/// back (bits sent and received, resets, the norms of the stochastic
/// gradient and of the applied update).
public struct StepContext {
    public let objective: any Objective
    public let communicator: Communicator
    public let seed: UInt64
    /// x_t; transforms that move the iterate (reset, PGD, the step) write it
    /// through `writeIterate` or `writeIterateOnce` (IterateWrites.swift),
    /// never directly: it may be shared by the ranks of the process.
    public let parameters: UnsafeMutableBufferPointer<Float>
    /// Whether `parameters` is one buffer shared by every rank of the
    /// communicator (in-process ranks), so that each write of it happens
    /// once, between barriers.
    public var sharesIterate = false
    /// The averaged update the ranks hold once when they share x_t (nil:
    /// each rank averages into storage of its own; `SharedUpdate`).
    public var sharedUpdate: SharedUpdate?
    /// d floats any transform may use within one call (never across calls).
    public let scratch: UnsafeMutableBufferPointer<Float>
    /// Threads this rank may use for a pass (nil: this thread only).
    public let splitter: PassSplitter?
    public var step: Int = 0
    /// How many times the chain has run again within this step.
    public var draw: Int = 0
    public var uploadBits = 0
    public var downloadBits = 0
    public var resets = 0
    /// ‖update‖ applied this step (set by the step transform).
    public var updateNorm: Double?
    /// ‖∇F_i(x_t)‖² of this rank's stochastic gradient, from the first
    /// transform that reads it whole (for the log's running mean).
    public var gradientSumSquares: Double?

    public init(objective: any Objective, communicator: Communicator, seed: UInt64,
                parameters: UnsafeMutableBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<Float>,
                splitter: PassSplitter? = nil) {
        self.objective = objective
        self.splitter = splitter
        self.communicator = communicator
        self.seed = seed
        self.parameters = parameters
        self.scratch = scratch
    }

    public var dimension: Int { parameters.count }
    public var readOnlyParameters: UnsafeBufferPointer<Float> { UnsafeBufferPointer(parameters) }

    /// Randomness every rank shares at this step (ξ_t, θ̃_t).
    public func sharedKey(_ purpose: RandomPurpose) -> RandomKey {
        RandomKey(seed: seed, step: UInt64(step), worker: RandomKey.shared, purpose: purpose)
    }

    /// This rank's private randomness at this step.
    public func workerKey(_ purpose: RandomPurpose) -> RandomKey {
        RandomKey(seed: seed, step: UInt64(step), worker: UInt32(communicator.rank), purpose: purpose)
    }

    /// This rank's mini-batch of `size` samples at this step and draw.
    public func batchKey(size: Int, draw: Int? = nil) -> BatchKey {
        BatchKey(seed: seed, step: UInt64(step), worker: communicator.rank, workers: communicator.size,
                 draw: draw ?? self.draw, size: size)
    }
}
