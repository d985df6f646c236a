import CSGDCore
import Compression
import Foundation

/// What `csgd compress` reports for one compressor on Gaussian vectors:
/// exact message size, empirical μ, and throughput beside the memcpy
/// bandwidth of the same vector measured in the same run.
///
/// **Timing method.** Every timed run (compress + encode, decode +
/// decompress, and the memcpy reference alike) starts from a cold cache: the
/// measurement first reads an eviction buffer of twice the last-level cache
/// (`CacheEvictor`), so the input, the message and the output come from
/// memory as a fresh gradient does in a training step. Without it a vector of
/// 2^20 floats (4 MiB) would stay cache-resident from one repetition to the
/// next while one of 2^24 (64 MiB) cannot, and the comparison of the two
/// sizes would measure the cache rather than the compressor. Buffers are
/// allocated and pre-faulted before timing; each figure is the best of
/// `reps` runs after one untimed warm-up run.
public struct CompressorMeasurement: Codable, Sendable {
    public var compressor: String
    public var dim: Int
    public var bits: Int
    public var bitsPerCoordinate: Double
    /// 1 − mean over trials of ‖x − C(x)‖²/‖x‖² (x ~ N(0, I), fresh each trial).
    public var muEmpirical: Double
    public var linear: Bool
    public var unbiased: Bool
    /// GB/s of input (4 bytes a coordinate) for compress + encode, best of reps.
    public var compressGbps: Double
    /// GB/s of input for decode + decompress into a dense vector, best of reps.
    public var decodeGbps: Double
    /// GB/s of a memcpy of the same vector, best of reps, same run.
    public var memcpyGbps: Double

    enum CodingKeys: String, CodingKey {
        case compressor, dim, bits
        case bitsPerCoordinate = "bits_per_coordinate"
        case muEmpirical = "mu_empirical"
        case linear, unbiased
        case compressGbps = "compress_gbps"
        case decodeGbps = "decode_gbps"
        case memcpyGbps = "memcpy_gbps"
    }

    /// Whether each timed run starts from a cold cache (the default, see the
    /// type's documentation) or from whatever the previous run left (warm).
    public enum CacheState: String, Sendable, CaseIterable {
        case cold, warm
    }

    /// Measures `compressor` on `trials` fresh Gaussian vectors (keyed by
    /// `seed`) and times it over `reps` repetitions after a warm-up, each
    /// from the cache state `cache`. Pass one `evictor` to several calls to
    /// allocate its buffer once (a new one is made when it is nil).
    public static func measure<C: Compressor>(
        _ compressor: C, spec: String, trials: Int, reps: Int, seed: UInt64,
        cache: CacheState = .cold, evictor: CacheEvictor? = nil
    ) throws -> CompressorMeasurement {
        let d = compressor.dimension
        let x = FloatBuffer(count: d)
        let y = FloatBuffer(count: d)
        var m = compressor.makeMessage()
        var writer = BitWriter(reservingBits: 32 * d + 64)
        var bitsSeen = 0
        // μ: mean relative residual over fresh vectors and fresh randomness.
        var ratioSum = 0.0
        for t in 0..<max(1, trials) {
            let key = RandomKey(seed: seed, step: UInt64(t), purpose: .benchmark)
            RandomFill.gaussian(key, sigma: 1, into: x.buffer)
            compressor.compress(x.readOnly, key: key, into: &m)
            bitsSeen = compressor.bits(of: m)
            compressor.decompress(m, into: y.buffer)
            Kernels.axpy(-1, x.readOnly, y.buffer)   // y = C(x) − x
            ratioSum += Kernels.sumSquares(y.readOnly) / max(Kernels.sumSquares(x.readOnly), .leastNonzeroMagnitude)
        }
        let mu = 1 - ratioSum / Double(max(1, trials))

        let evict: CacheEvictor? = cache == .cold ? (evictor ?? CacheEvictor()) : nil
        func best(_ body: () -> Void) -> Double {
            evict?.evict()
            body()   // warm-up: first-touch page faults and lazy growth happen here
            var best = Double.infinity
            for _ in 0..<max(1, reps) {
                evict?.evict()
                let t0 = Clock.now()
                body()
                best = min(best, Clock.now() - t0)
            }
            return best
        }

        let key = RandomKey(seed: seed, step: 0, purpose: .benchmark)
        RandomFill.gaussian(key, sigma: 1, into: x.buffer)
        let tCompress = best {
            compressor.compress(x.readOnly, key: key, into: &m)
            writer.reset()
            compressor.encode(m, into: &writer)
        }
        guard writer.bitCount == compressor.bits(of: m) else {
            throw CSGDError("internal: \(spec) wrote \(writer.bitCount) bits but reports \(compressor.bits(of: m))")
        }
        let bytes = writer.finished()
        var decoded = compressor.makeMessage()
        var failure: Error?
        let tDecode = best {
            do {
                try compressor.decode(bytes, key: key, into: &decoded)
                compressor.decompress(decoded, into: y.buffer)
            } catch { failure = error }
        }
        if let failure { throw CSGDError("internal: \(spec) could not decode its own message: \(failure)") }
        let tCopy = best {
            y.pointer.update(from: x.pointer, count: d)
        }
        let gb = 4.0 * Double(d) / 1e9
        return CompressorMeasurement(
            compressor: spec, dim: d, bits: bitsSeen, bitsPerCoordinate: Double(bitsSeen) / Double(d),
            muEmpirical: mu, linear: compressor.isLinear, unbiased: compressor.isUnbiased,
            compressGbps: gb / tCompress, decodeGbps: gb / tDecode, memcpyGbps: gb / tCopy)
    }
}
