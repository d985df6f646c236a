import Compression
import CSGDCore
import Foundation

/// A compressor of the library behind the C ABI, with the scratch one call
/// uses (its message, a bit writer, a decoded message), guarded by a lock so
/// that one handle may be called from several threads.
protocol CompressorCore: AnyObject, Sendable {
    var compressor: any Compressor { get }
    /// The most bits any message of this compressor takes (`WireBound`).
    var maxBits: Int { get }
    /// m ← C(x) with `key`, encoded into `out`; returns the exact bit count and the byte count.
    func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into out: UnsafeMutableRawBufferPointer) throws -> (bits: Int, bytes: Int)
    /// m ← C(e), e ← e − C(e) (error feedback's residual), m encoded into `out`.
    func compressKeepingResidual(_ e: UnsafeMutableBufferPointer<Float>, key: RandomKey, into out: UnsafeMutableRawBufferPointer) throws -> (bits: Int, bytes: Int)
    /// Decodes one complete message (no trailing bytes); returns its exact bit count.
    func decode(_ bytes: UnsafeRawBufferPointer, key: RandomKey) throws -> Int
    /// Decodes one message and writes y ← s·C (or y ← y + s·C when `accumulate`).
    func decompress(_ bytes: UnsafeRawBufferPointer, key: RandomKey, scale: Float, accumulate: Bool, into y: UnsafeMutableBufferPointer<Float>) throws
}

/// Builds the core of `compressor`, opening its concrete type.
func makeCompressorCore(_ compressor: any Compressor) -> any CompressorCore {
    func open<C: Compressor>(_ c: C) -> any CompressorCore { TypedCompressorCore(c) }
    return open(compressor)
}

final class TypedCompressorCore<C: Compressor>: CompressorCore, @unchecked Sendable {
    let typed: C
    let maxBits: Int
    private let lock = NSLock()
    // Guarded by `lock`.
    private var message: C.Message
    private var received: C.Message
    private var writer: BitWriter

    init(_ c: C) {
        typed = c
        maxBits = WireBound.maxBits(of: c)
        message = c.makeMessage()
        received = c.makeMessage()
        writer = BitWriter(reservingBits: maxBits)
    }

    var compressor: any Compressor { typed }

    func compress(_ x: UnsafeBufferPointer<Float>, key: RandomKey, into out: UnsafeMutableRawBufferPointer) throws -> (bits: Int, bytes: Int) {
        try lock.withLock {
            typed.compress(x, key: key, into: &message)
            return try encodeMessage(into: out)
        }
    }

    func compressKeepingResidual(_ e: UnsafeMutableBufferPointer<Float>, key: RandomKey, into out: UnsafeMutableRawBufferPointer) throws -> (bits: Int, bytes: Int) {
        try lock.withLock {
            typed.compressKeepingResidual(e, key: key, into: &message)
            return try encodeMessage(into: out)
        }
    }

    /// Encodes `message` into `out` (lock held).
    private func encodeMessage(into out: UnsafeMutableRawBufferPointer) throws -> (bits: Int, bytes: Int) {
        writer.reset()
        typed.encode(message, into: &writer)
        let bits = writer.bitCount
        let bytes = writer.finished()
        guard bytes.count <= out.count else {
            throw CAPIFailure(.bufferTooSmall, "the message takes \(bytes.count) bytes but the output buffer holds \(out.count)")
        }
        bytes.withUnsafeBytes { out.baseAddress?.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return (bits, bytes.count)
    }

    func decode(_ bytes: UnsafeRawBufferPointer, key: RandomKey) throws -> Int {
        try lock.withLock {
            try decodeReceived(bytes, key: key)
            return typed.bits(of: received)
        }
    }

    func decompress(_ bytes: UnsafeRawBufferPointer, key: RandomKey, scale: Float, accumulate: Bool, into y: UnsafeMutableBufferPointer<Float>) throws {
        try lock.withLock {
            try decodeReceived(bytes, key: key)
            if !accumulate && scale == 1 {
                typed.decompress(received, into: y)
            } else {
                if !accumulate { Kernels.zero(y) }
                typed.add(received, scaledBy: scale, into: y)
            }
        }
    }

    /// Decodes `bytes` into `received` (lock held), rejecting trailing data.
    private func decodeReceived(_ bytes: UnsafeRawBufferPointer, key: RandomKey) throws {
        var r = BitReader(bytes)
        do {
            try typed.decode(from: &r, key: key, into: &received)
            try r.finish()
        } catch let e as WireFormatError {
            throw CAPIFailure(.malformedMessage, e.description)
        }
    }
}
