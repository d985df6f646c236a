/// What a stream of random numbers is for. Streams with different purposes
/// never overlap, so drawing more noise can never shift the RandomK indices.
public enum RandomPurpose: UInt8, Sendable, CaseIterable {
    case perturbation = 1
    case randomKIndices = 2
    case sketchHashes = 3
    case quantization = 4
    case minibatch = 5
    case initialization = 6
    case shuffle = 7
    case test = 8
    case benchmark = 9
    case ballPerturbation = 10
}

/// The name of one random stream: (seed, step, worker, purpose).
///
/// Every random number in csgd is a pure function of such a key and a position
/// in its stream, so a run replays bit for bit and the same key gives the same
/// numbers on one worker or many, in one process or under MPI. Randomness that
/// all workers must share (RandomK indices, sketch hashes, the common noise ξ_t)
/// uses `worker == RandomKey.shared`.
public struct RandomKey: Hashable, Sendable, CustomStringConvertible {
    /// The worker id meaning "the same on every worker".
    public static let shared: UInt32 = 0xFF_FFFF

    public var seed: UInt64
    public var step: UInt64
    public var worker: UInt32
    public var purpose: RandomPurpose

    /// - Precondition: `worker` fits in 24 bits (`<= RandomKey.shared`).
    public init(seed: UInt64, step: UInt64 = 0, worker: UInt32 = RandomKey.shared, purpose: RandomPurpose) {
        precondition(worker <= RandomKey.shared, "worker id must fit in 24 bits")
        self.seed = seed
        self.step = step
        self.worker = worker
        self.purpose = purpose
    }

    /// The same key at another step.
    public func at(step: UInt64) -> RandomKey {
        var k = self
        k.step = step
        return k
    }

    /// The same key for another purpose.
    public func with(purpose: RandomPurpose) -> RandomKey {
        var k = self
        k.purpose = purpose
        return k
    }

    /// The same key for one worker's private stream.
    public func forWorker(_ w: Int) -> RandomKey {
        var k = self
        k.worker = UInt32(w)
        return k
    }

    public var description: String {
        "RandomKey(seed: \(seed), step: \(step), worker: \(worker == RandomKey.shared ? "shared" : String(worker)), purpose: \(purpose))"
    }

    /// Philox key words.
    @inlinable public var k0: UInt32 { UInt32(truncatingIfNeeded: seed) }
    @inlinable public var k1: UInt32 { UInt32(truncatingIfNeeded: seed >> 32) }
    /// Counter word 1: purpose in the top 8 bits, worker in the low 24.
    @inlinable public var c1: UInt32 { (UInt32(purpose.rawValue) << 24) | worker }
    @inlinable public var c2: UInt32 { UInt32(truncatingIfNeeded: step) }
    @inlinable public var c3: UInt32 { UInt32(truncatingIfNeeded: step >> 32) }

    /// Block `index` of this key's stream: four independent uniform words.
    @inlinable @inline(__always)
    public func block(_ index: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        Philox4x32.block(index, c1, c2, c3, key: k0, k1)
    }
}
