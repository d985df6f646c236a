import Compression
import CSGDCore

// The error-feedback half of the C ABI (`csgd.h`): a handle holds one
// worker's memory e and its compressor; a step takes a gradient and returns
// the encoded message of C(e + g + σξ).

final class ErrorFeedbackHandle: Sendable {
    let ef: ErrorFeedbackCore
    init(_ ef: ErrorFeedbackCore) { self.ef = ef }
}

func errorFeedbackHandle(_ h: OpaquePointer?) throws -> ErrorFeedbackCore {
    guard let h else { throw CAPIFailure(.invalidArgument, "the error-feedback handle is null") }
    return Unmanaged<ErrorFeedbackHandle>.fromOpaque(UnsafeRawPointer(h)).takeUnretainedValue().ef
}

@_cdecl("csgd_ef_create")
public func csgd_ef_create(_ spec: UnsafePointer<CChar>?, _ d: Int64, _ sigma: Float, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                           _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        guard let out else { throw CAPIFailure(.invalidArgument, "the handle's output pointer is null") }
        guard sigma.isFinite, sigma >= 0 else { throw CSGDError("noise sigma = \(sigma) must be finite and >= 0") }
        let c = try makeCompressor(spec, d)
        out.pointee = OpaquePointer(Unmanaged.passRetained(ErrorFeedbackHandle(ErrorFeedbackCore(c, sigma: sigma))).toOpaque())
    }
}

@_cdecl("csgd_ef_destroy")
public func csgd_ef_destroy(_ h: OpaquePointer?) {
    guard let h else { return }
    Unmanaged<ErrorFeedbackHandle>.fromOpaque(UnsafeRawPointer(h)).release()
}

@_cdecl("csgd_ef_max_bytes")
public func csgd_ef_max_bytes(_ h: OpaquePointer?, _ maxBytes: UnsafeMutablePointer<Int>?,
                              _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        maxBytes?.pointee = (try errorFeedbackHandle(h).core.maxBits + 7) / 8
    }
}

@_cdecl("csgd_ef_step")
public func csgd_ef_step(_ h: OpaquePointer?, _ g: UnsafePointer<Float>?, _ d: Int64,
                         _ seed: UInt64, _ step: UInt64, _ worker: UInt32,
                         _ out: UnsafeMutablePointer<UInt8>?, _ capacity: Int,
                         _ nbytes: UnsafeMutablePointer<Int>?, _ nbits: UnsafeMutablePointer<Int64>?,
                         _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        let ef = try errorFeedbackHandle(h)
        let gs = try checkedVector(g, d, ef.core, "the gradient")
        let o = try mutableBuffer(out, capacity, "the output buffer")
        let r = try ef.step(gs, seed: seed, step: step, worker: worker, into: UnsafeMutableRawBufferPointer(o))
        nbytes?.pointee = r.bytes
        nbits?.pointee = Int64(r.bits)
    }
}

@_cdecl("csgd_ef_get_memory")
public func csgd_ef_get_memory(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ d: Int64,
                               _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        let ef = try errorFeedbackHandle(h)
        guard Int(d) == ef.dimension else { throw CAPIFailure(.invalidArgument, "the memory has \(ef.dimension) floats, not \(d)") }
        ef.readMemory(into: try mutableBuffer(out, Int(d), "the output vector"))
    }
}

@_cdecl("csgd_ef_set_memory")
public func csgd_ef_set_memory(_ h: OpaquePointer?, _ values: UnsafePointer<Float>?, _ d: Int64,
                               _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        let ef = try errorFeedbackHandle(h)
        guard Int(d) == ef.dimension else { throw CAPIFailure(.invalidArgument, "the memory has \(ef.dimension) floats, not \(d)") }
        ef.writeMemory(try buffer(values, Int(d), "the memory values"))
    }
}
