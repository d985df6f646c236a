import CSGDCore
import Compression

/// What flows through a method's transforms during one pass of a step.
///
/// Before communication it is this rank's dense vector `local` (the
/// gradient, then plus ξ and e) with, possibly, Gaussian noise scheduled but
/// not yet added (`pendingNoise`: the next transform that reads every
/// coordinate adds it in the same pass, so perturbation costs no pass of its
/// own). Compression attaches the `message`; averaging turns it into the
/// `update` every rank applies, dense or as sparse (index, value) pairs.
/// `stepSize` is the step the update is applied with (a method may change it
/// for one step, as CNC's curvature step does).
public struct GradientBuffer {
    public var local: UnsafeMutableBufferPointer<Float>
    public var pendingNoise: PendingNoise?
    public var message: (any CompressionStage)?
    public var update: AveragedUpdate = .none
    public var stepSize: Double

    public init(local: UnsafeMutableBufferPointer<Float>, stepSize: Double) {
        self.local = local
        self.stepSize = stepSize
    }

    /// Adds the pending noise to `local` (one pass), if any.
    public mutating func materializeNoise() {
        guard let n = pendingNoise else { return }
        RandomFill.gaussian(n.key, sigma: n.sigma, into: local, accumulate: true)
        pendingNoise = nil
    }
}

/// σ·ξ with ξ ~ N(0, I) the Gaussian stream of `key`, scheduled for addition.
public struct PendingNoise: Sendable {
    public var sigma: Float
    public var key: RandomKey
    public init(sigma: Float, key: RandomKey) { self.sigma = sigma; self.key = key }
}

/// The update after averaging over the ranks.
public enum AveragedUpdate {
    /// Not averaged yet.
    case none
    /// Every coordinate, in a buffer of d floats.
    case dense(UnsafeMutableBufferPointer<Float>)
    /// Only the listed coordinates are non-zero (an index may repeat; its
    /// value then counts once, the repeats carry 0).
    case sparse(SparseUpdate)

    /// Σ of squared entries, in Double.
    public func sumOfSquares() -> Double {
        switch self {
        case .none: return 0
        case let .dense(v): return Kernels.sumSquares(UnsafeBufferPointer(v))
        case let .sparse(s): return Kernels.sumSquares(UnsafeBufferPointer(start: s.values, count: s.count))
        }
    }
}

/// Sparse (index, value) pairs of an averaged update, in storage owned by
/// the averaging transform's state (capacity fixed at the start of the run).
public final class SparseUpdate {
    public let capacity: Int
    public let indices: UnsafeMutablePointer<UInt32>
    public let values: UnsafeMutablePointer<Float>
    public var count = 0

    public init(capacity: Int) {
        self.capacity = max(capacity, 1)
        indices = .allocate(capacity: self.capacity)
        indices.initialize(repeating: 0, count: self.capacity)
        values = .allocate(capacity: self.capacity)
        values.initialize(repeating: 0, count: self.capacity)
    }

    deinit {
        indices.deallocate()
        values.deallocate()
    }
}
