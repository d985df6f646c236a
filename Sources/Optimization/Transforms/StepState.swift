import CSGDCore
import Compression

/// The state of one pass of a step through a method's transforms: what
/// each transform hands the next (the per-rank state every transform keeps
/// from step to step is its own `State`, not this).
///
/// Before communication it is this rank's dense vector `local` (the
/// gradient, then, in error feedback's one pass, v + ξ + e). Compression
/// attaches the `message`, the rank's `MessageExchange` holding C(v);
/// averaging turns it into the `update` every rank applies, dense or as
/// sparse (index, value) pairs. `stepSize` is the step the update is applied
/// with (a method may change it for one step, as CNC's curvature step does).
public struct StepState {
    public var local: UnsafeMutableBufferPointer<Float>
    public var message: (any MessageExchange)?
    public var update: AveragedUpdate = .none
    public var stepSize: Double

    public init(local: UnsafeMutableBufferPointer<Float>, stepSize: Double) {
        self.local = local
        self.stepSize = stepSize
    }
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
