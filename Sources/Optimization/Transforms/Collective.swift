import Compression
import CSGDCore

/// How the messages of a non-linear compressor (topk, sign, qsgd, fp64)
/// travel between the ranks (`--collective`):
/// - `allgather`: every rank all-gathers every other rank's whole message
///   (Algorithm 1 of Avdiukhin & Yaroslavtsev as written); a rank receives
///   W − 1 messages a step.
/// - `scatter`: the two-stage exchange of DoubleSqueeze (Tang et al., ICML
///   2019; `ScatterMessageExchange`): block-wise messages to the slices'
///   owners, who average, compress again (with their own error memory
///   under error feedback; without memory for an unbiased compressor in a
///   method without error feedback) and all-gather the results; a rank
///   receives about 2(W − 1)/W messages.
/// - `auto` (the default): `scatter` from W = 3 ranks with slices of at
///   least `autoSliceMinimum` coordinates, where it receives fewer bits
///   (sign's two stages receive about 2(W − 1)(d/W + 32) bits against the
///   all-gather's (W − 1)(d + 32): fewer once d(1 − 2/W) > 32, and the
///   blocks' headers stay small beside their payload), else `allgather`.
///
/// Linear compressors with shared randomness (none, randomk) keep their
/// all-reduce and sketch-topk its two all-reduces whatever the choice. In
/// methods without error feedback only unbiased compressors (qsgd, and fp64,
/// which is exact) take the two stages: a biased one (topk, sign) without
/// memory has no guarantee there and always all-gathers. The two-stage exchange
/// needs at least one coordinate a rank (d ≥ W) and W ≤ 4096 (its block keys
/// name the pair (sender, owner) in 24 bits); otherwise the all-gather is used.
public enum Collective: String, CaseIterable, Sendable {
    case auto, allgather, scatter

    /// Parses a `--collective` value; anything else is a one-line error.
    public static func parse(_ text: String) throws -> Collective {
        guard let c = Collective(rawValue: text) else {
            throw CSGDError("--collective '\(text)' is not one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return c
    }

    /// The most ranks the two-stage exchange takes (W² block keys in 24 bits).
    public static let maxScatterWorkers = 4096
    /// The fewest coordinates a slice has for `auto` to take the two stages.
    public static let autoSliceMinimum = 64

    /// Whether the messages of `compressor` travel by the two-stage exchange
    /// on `workers` ranks: with `memory` (error feedback) any block
    /// compressor, without it (`CompressMessage`) only an unbiased one.
    public func scatters(_ compressor: any Compressor, workers: Int, memory: Bool = true) -> Bool {
        guard compressor is any BlockCompressor, memory || compressor.isUnbiased, workers >= 1, workers <= Self.maxScatterWorkers,
              compressor.dimension >= workers else { return false }
        switch self {
        case .allgather: return false
        case .scatter: return true
        case .auto: return workers >= 3 && compressor.dimension >= Self.autoSliceMinimum * workers
        }
    }

    /// Throws unless this choice means something for `compressor`: an
    /// explicit `scatter` of a compressor that is all-reduced (none, randomk,
    /// sketch-topk) is refused, and without error feedback (`memory` false)
    /// so is one of a biased compressor (topk, sign).
    public func check(_ compressor: any Compressor, memory: Bool = true) throws {
        guard self == .scatter else { return }
        if !(compressor is any BlockCompressor) {
            throw CSGDError("--collective scatter applies to topk, sign, qsgd and fp64 messages; '\(compressor)' is all-reduced (use auto or allgather)")
        }
        if !memory && !compressor.isUnbiased {
            throw CSGDError(Self.biasedWithoutMemory(String(describing: compressor)))
        }
    }

    /// The refusal of an explicit `scatter` for a biased compressor in a
    /// method without error feedback (`method`, when known).
    public static func biasedWithoutMemory(_ compressor: String, method: String? = nil) -> String {
        "--collective scatter without error feedback\(method.map { " ('\($0)')" } ?? "") needs an unbiased compressor (qsgd, fp64): '\(compressor)' is biased, and the owners' second compression would have no memory to correct it (use alg1 or ef-sgd, or --collective auto or allgather)"
    }
}

/// How one chain's messages travel, as a run's header and checkpoints name it.
public enum ExchangeKind: String, Sendable {
    /// One all-reduce of the payloads (linear compressors with shared randomness).
    case allReduce = "allreduce"
    /// Sketch-topk's two all-reduces (table, then the K values).
    case sketch
    /// An all-gather of every rank's encoded message.
    case allGather = "allgather"
    /// The two-stage exchange (`ScatterMessageExchange`).
    case scatter
}

extension MethodChain {
    /// How this chain's messages travel on `workers` ranks (nil: it sends none).
    public func exchange(workers: Int) -> ExchangeKind? {
        for t in transforms {
            let compressor: any Compressor
            var collective = Collective.allgather
            var memory = true
            if let f = t as? ErrorFeedback {
                compressor = f.compressor; collective = f.collective
            } else if let r = t as? ErrorReset {
                compressor = r.feedback.compressor; collective = r.feedback.collective
            } else if let c = t as? CompressMessage {
                compressor = c.compressor; collective = c.collective; memory = false
            } else {
                continue
            }
            if compressor is SketchTopK { return .sketch }
            if collective.scatters(compressor, workers: workers, memory: memory) { return .scatter }
            return compressor.isLinear ? .allReduce : .allGather
        }
        return nil
    }
}
