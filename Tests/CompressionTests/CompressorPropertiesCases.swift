import CSGDCore
import Foundation
import PropertyBased
import Testing
@testable import Compression

/// The shapes of generated input vectors: the awkward ones (zeros, signed
/// zeros, subnormals, magnitudes near Float.greatestFiniteMagnitude, ties)
/// as well as ordinary and heavy-tailed ones. All entries are finite.
enum VectorShape: CaseIterable, Sendable, CustomStringConvertible {
    case gaussian, zeros, signedZeros, subnormal, huge, repeated, heavyTailed, mixedScales, sparse

    var description: String {
        switch self {
        case .gaussian: "gaussian"
        case .zeros: "zeros"
        case .signedZeros: "±0"
        case .subnormal: "subnormal"
        case .huge: "huge"
        case .repeated: "repeated"
        case .heavyTailed: "heavy-tailed"
        case .mixedScales: "mixed-scales"
        case .sparse: "sparse"
        }
    }

    /// A vector of this shape, from two Gaussian streams of `seed` and a scale exponent in -3...3.
    func vector(_ d: Int, seed: UInt64, scale: Int) -> [Float] {
        var g = [Float](repeating: 0, count: d), h = [Float](repeating: 0, count: d)
        g.withUnsafeMutableBufferPointer { RandomFill.gaussian(RandomKey(seed: seed, step: 0, purpose: .test), sigma: 1, into: $0) }
        h.withUnsafeMutableBufferPointer { RandomFill.gaussian(RandomKey(seed: seed, step: 1, purpose: .test), sigma: 1, into: $0) }
        let sigma = Float(pow(10, Double(scale)))
        switch self {
        case .gaussian:
            return g.map { $0 * sigma }
        case .zeros:
            return g.map { _ in 0 }
        case .signedZeros:
            return g.map { $0 < 0 ? -0.0 : 0.0 }
        case .subnormal:
            // Below Float.leastNormalMagnitude, down to the least non-zero Float.
            return (0..<d).map { i in i % 7 == 3 ? Float.leastNonzeroMagnitude * (g[i] < 0 ? -1 : 1) : g[i] * (Float.leastNormalMagnitude / 16) }
        case .huge:
            // Up to ±Float.greatestFiniteMagnitude: ‖x‖² overflows Float.
            return (0..<d).map { i in
                i % 11 == 5 ? (g[i] < 0 ? -Float.greatestFiniteMagnitude : .greatestFiniteMagnitude) : max(-3e38, min(3e38, g[i] * 6e37))
            }
        case .repeated:
            // Three magnitudes with signs: ties for every selector.
            let levels: [Float] = [0.5 * sigma, 2 * sigma, 2 * sigma]
            return (0..<d).map { i in levels[Int(abs(h[i]) * 3) % 3] * (g[i] < 0 ? -1 : 1) }
        case .heavyTailed:
            // Cauchy: the ratio of two Gaussians.
            return (0..<d).map { i in sigma * g[i] / max(abs(h[i]), 1e-3) }
        case .mixedScales:
            // Magnitudes 10^-30 ... 10^30 side by side.
            return (0..<d).map { i in g[i] * Float(pow(10, Double(max(-30, min(30, (h[i] * 12).rounded()))))) }
        case .sparse:
            // Mostly +0, a few large coordinates.
            return (0..<d).map { i in abs(h[i]) > 2 ? sigma * g[i] * 100 : 0 }
        }
    }
}

/// One generated input of a compressor property: the compressor (every kind
/// `CompressorSpec.make` builds, over its parameters), the vector, the key of
/// its randomness and a number of unrelated bits written before the message.
struct CompressorCase: Sendable, CustomTestStringConvertible {
    var spec: CompressorSpec
    var dimension: Int
    var shape: VectorShape
    var vectorSeed: UInt64
    var scale: Int
    var key: RandomKey
    var prefixBits: Int

    var compressor: any Compressor { try! spec.make(dimension: dimension) }
    var vector: [Float] { shape.vector(dimension, seed: vectorSeed, scale: scale) }

    var testDescription: String {
        "\(spec) d=\(dimension) \(shape)(seed \(vectorSeed), 10^\(scale)) key=(seed \(key.seed), step \(key.step), worker \(key.worker)) after \(prefixBits) bits"
    }

    /// The compressor kinds, in `CompressorSpec.names` order with QSGD's two codings.
    enum Kind: CaseIterable, Sendable { case none, fp64, randomK, topK, sketchTopK, sign, qsgdElias, qsgdFixed }

    /// The spec of `kind` for dimension d; `k`, `cols` in [0, 1] pick K and
    /// the sketch's columns (K = 1 and K = d each a tenth of the time).
    static func spec(_ kind: Kind, d: Int, k: Double, rows: Int, cols: Double, levels: Int) -> CompressorSpec {
        let count = k < 0.1 ? 1 : k > 0.9 ? d : max(1, min(d, Int((k * Double(d)).rounded())))
        switch kind {
        case .none: return .none
        case .fp64: return .fp64
        case .randomK: return .randomK(.count(count))
        case .topK: return .topK(.count(count))
        case .sketchTopK:
            // rows = 7 stands for the default R and C (the spec without options).
            if rows == 7 { return .sketchTopK(.count(count), rows: nil, cols: nil) }
            return .sketchTopK(.count(count), rows: rows, cols: 1 + Int(cols * Double(2 * d)))
        case .sign: return .sign
        case .qsgdElias: return .qsgd(levels: levels, coding: .elias)
        case .qsgdFixed: return .qsgd(levels: levels, coding: .fixed)
        }
    }

    /// Dimensions: mostly small (every word and block boundary of the
    /// encoders is below 130), some medium, a few beyond 4096.
    static let dimensions = Gen.frequency(
        (3, Gen.int(in: 1...130)),
        (2, Gen.int(in: 131...1100)),
        (1, Gen.int(in: 1101...4200))
    )

    /// QSGD's S: mostly 1...16, else the field-width and kernel boundaries
    /// (the SIMD kernel takes S ≤ 8191) or up to the largest the spec accepts (2^30).
    static let levels = Gen.frequency(
        (3, Gen.int(in: 1...16)),
        (1, Gen.element(of: [31, 32, 63, 127, 128, 8191, 8192, 1 << 20, 1 << 30]).map { $0! }),
        (1, Gen.int(in: 17...(1 << 30)))
    )

    static let keys = zip(Gen.uint64(), Gen.uint64(in: 0...(1 << 62)), Gen.uint32(in: 0...1000))
        .map { RandomKey(seed: $0, step: $1, worker: $2, purpose: .test) }

    /// Cases of the kinds in `kinds`, with dimensions from `dimensions`.
    static func generator(
        kinds: [Kind] = Kind.allCases,
        dimensions: Generator<Int, some SendableSequenceType> = dimensions,
        shapes: [VectorShape] = VectorShape.allCases
    ) -> Generator<CompressorCase, some SendableSequenceType> {
        let parameters = zip(Gen.double(in: 0...1), Gen.int(in: 1...7), Gen.double(in: 0...1), levels)
        let vectors = zip(Gen.element(of: shapes).map { $0! }, Gen.uint64(), Gen.int(in: -3...3))
        return zip(Gen.element(of: kinds).map { $0! }, dimensions, parameters, vectors, keys, Gen.int(in: 0...7))
            .map { kind, d, p, v, key, prefix in
                CompressorCase(
                    spec: spec(kind, d: d, k: p.0, rows: p.1, cols: p.2, levels: p.3),
                    dimension: d, shape: v.0, vectorSeed: v.1, scale: v.2, key: key, prefixBits: prefix)
            }
    }
}
