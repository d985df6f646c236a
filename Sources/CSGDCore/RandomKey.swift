/// What a stream of random numbers is for: the top byte of the counter, so
/// streams with different purposes never overlap and drawing more noise can
/// never shift the RandomK indices.
///
/// The library's purposes are the static members below. Code outside the
/// library (measurements, tests, applications) names its own with
/// `RandomPurpose(rawValue:)` from the values the library leaves free (9,
/// and 13 to 255), in an extension of its own.
public struct RandomPurpose: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// ξ_t, the Gaussian perturbation.
    public static let perturbation = RandomPurpose(rawValue: 1)
    /// RandomK's shared coordinate draw θ̃_t.
    public static let randomKIndices = RandomPurpose(rawValue: 2)
    /// Count Sketch's shared hash and sign functions.
    public static let sketchHashes = RandomPurpose(rawValue: 3)
    /// QSGD's stochastic rounding (a worker's own).
    public static let quantization = RandomPurpose(rawValue: 4)
    /// Mini-batch sampling.
    public static let minibatch = RandomPurpose(rawValue: 5)
    /// Initial parameters.
    public static let initialization = RandomPurpose(rawValue: 6)
    /// Epoch shuffles.
    public static let shuffle = RandomPurpose(rawValue: 7)
    /// Synthetic data sets' samples.
    public static let syntheticData = RandomPurpose(rawValue: 8)
    /// PGD's perturbation, uniform in a ball.
    public static let ballPerturbation = RandomPurpose(rawValue: 10)
    /// The two-stage exchange's worker blocks (a worker's own, one stream a block).
    public static let blockQuantization = RandomPurpose(rawValue: 11)
    /// The two-stage exchange's owner compression of its averaged slice (the owner's own).
    public static let ownerQuantization = RandomPurpose(rawValue: 12)

    /// Every purpose the library draws for.
    public static let library: [RandomPurpose] = [
        .perturbation, .randomKIndices, .sketchHashes, .quantization, .minibatch, .initialization, .shuffle,
        .syntheticData, .ballPerturbation, .blockQuantization, .ownerQuantization,
    ]

    public var description: String {
        let names: [UInt8: String] = [
            1: "perturbation", 2: "randomKIndices", 3: "sketchHashes", 4: "quantization", 5: "minibatch",
            6: "initialization", 7: "shuffle", 8: "syntheticData", 10: "ballPerturbation",
            11: "blockQuantization", 12: "ownerQuantization",
        ]
        return names[rawValue] ?? "purpose \(rawValue)"
    }
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
