import Compression
import CSGDCore
import Foundation

/// Error feedback around a compressor for one worker (Stich et al. 2018;
/// Avdiukhin & Yaroslavtsev 2021, Algorithm 1), as `ErrorFeedback` in
/// Optimization runs it: e ← (g + σξ) + e, m ← C(e), e ← e − C(m).
///
/// ξ is the Gaussian stream of the key (seed, step, shared worker,
/// perturbation) and the compressor's key is (seed, step, worker,
/// quantization), the keys a csgd run uses at that step on that rank, and the
/// float operations are those of `ErrorFeedback`'s fused pass, so with the
/// same inputs the memory and the message are the same bits. Sketch-topk's
/// memory is the single-worker one (its two-round exchange across workers is
/// a protocol of csgd's own ranks).
final class ErrorFeedbackCore: @unchecked Sendable {
    let core: any CompressorCore
    let sigma: Float
    private let lock = NSLock()
    // Guarded by `lock`.
    private let memory: FloatBuffer

    init(_ compressor: any Compressor, sigma: Float) {
        core = makeCompressorCore(compressor)
        self.sigma = sigma
        memory = FloatBuffer(count: compressor.dimension)
    }

    var dimension: Int { memory.count }

    /// One step on gradient `g`: returns the message's exact bits and byte count written to `out`.
    func step(_ g: UnsafeBufferPointer<Float>, seed: UInt64, step: UInt64, worker: UInt32,
              into out: UnsafeMutableRawBufferPointer) throws -> (bits: Int, bytes: Int) {
        let key = try randomKey(seed: seed, step: step, worker: worker, purpose: RandomPurpose.quantization.rawValue)
        return try lock.withLock {
            let e = memory.buffer
            guard out.count >= (core.maxBits + 7) / 8 else {
                // Checked before e changes, so a failed call leaves the memory as it was.
                throw CAPIFailure(.bufferTooSmall, "the output buffer holds \(out.count) bytes, a message may take \((core.maxBits + 7) / 8)")
            }
            compensate(g, into: e, key: RandomKey(seed: seed, step: step, worker: RandomKey.shared, purpose: .perturbation))
            return try core.compressKeepingResidual(e, key: key, into: out)
        }
    }

    /// e ← (g + σξ) + e, or e ← g + e without noise.
    private func compensate(_ g: UnsafeBufferPointer<Float>, into e: UnsafeMutableBufferPointer<Float>, key: RandomKey) {
        guard let pg = g.baseAddress, let pe = e.baseAddress else { return }
        let n = e.count
        if sigma > 0 {
            let s = sigma
            GaussianSIMD.forEachRun(key, count: n) { j, z, m in
                for k in 0..<m { pe[j + k] = (pg[j + k] + s * z[k]) + pe[j + k] }
            }
        } else {
            for i in 0..<n { pe[i] = pg[i] + pe[i] }
        }
    }

    func readMemory(into out: UnsafeMutableBufferPointer<Float>) {
        lock.withLock { out.baseAddress!.update(from: memory.pointer, count: memory.count) }
    }

    func writeMemory(_ values: UnsafeBufferPointer<Float>) {
        lock.withLock { memory.pointer.update(from: values.baseAddress!, count: memory.count) }
    }
}
