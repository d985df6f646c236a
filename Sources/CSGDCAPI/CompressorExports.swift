import Compression
import CSGDCore

// The compressor half of the C ABI (`csgd.h`): a handle per (spec, d), and
// compress/encode, decode and decompress through caller buffers. Every
// function that can fail returns a `CSGD_*` status and writes a one-line
// message into the caller's `err` buffer of `errlen` bytes.

/// A compressor handle: the library's compressor with its per-call scratch.
final class CompressorHandle: Sendable {
    let core: any CompressorCore
    init(_ core: any CompressorCore) { self.core = core }
}

func compressorHandle(_ h: OpaquePointer?) throws -> CompressorHandle {
    guard let h else { throw CAPIFailure(.invalidArgument, "the compressor handle is null") }
    return Unmanaged<CompressorHandle>.fromOpaque(UnsafeRawPointer(h)).takeUnretainedValue()
}

/// The compressor `spec` (CompressorSpec's grammar) for dimension `d`.
func makeCompressor(_ spec: UnsafePointer<CChar>?, _ d: Int64) throws -> any Compressor {
    guard let spec else { throw CAPIFailure(.invalidArgument, "the compressor spec is a null pointer") }
    return try CompressorSpec.parse(String(cString: spec)).make(dimension: Int(d))
}

@_cdecl("csgd_compressor_create")
public func csgd_compressor_create(_ spec: UnsafePointer<CChar>?, _ d: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                                   _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        guard let out else { throw CAPIFailure(.invalidArgument, "the handle's output pointer is null") }
        let c = try makeCompressor(spec, d)
        out.pointee = OpaquePointer(Unmanaged.passRetained(CompressorHandle(makeCompressorCore(c))).toOpaque())
    }
}

@_cdecl("csgd_compressor_destroy")
public func csgd_compressor_destroy(_ h: OpaquePointer?) {
    guard let h else { return }
    Unmanaged<CompressorHandle>.fromOpaque(UnsafeRawPointer(h)).release()
}

@_cdecl("csgd_compressor_info")
public func csgd_compressor_info(_ h: OpaquePointer?, _ dimension: UnsafeMutablePointer<Int64>?, _ maxBytes: UnsafeMutablePointer<Int>?,
                                 _ linear: UnsafeMutablePointer<Int32>?, _ unbiased: UnsafeMutablePointer<Int32>?,
                                 _ description: UnsafeMutablePointer<CChar>?, _ descriptionLength: Int,
                                 _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        let core = try compressorHandle(h).core
        dimension?.pointee = Int64(core.compressor.dimension)
        maxBytes?.pointee = (core.maxBits + 7) / 8
        linear?.pointee = core.compressor.isLinear ? 1 : 0
        unbiased?.pointee = core.compressor.isUnbiased ? 1 : 0
        if let description, descriptionLength > 0 {
            let text = Array(core.compressor.description.utf8.prefix(descriptionLength - 1))
            for (i, b) in text.enumerated() { description[i] = CChar(bitPattern: b) }
            description[text.count] = 0
        }
    }
}

@_cdecl("csgd_compress")
public func csgd_compress(_ h: OpaquePointer?, _ x: UnsafePointer<Float>?, _ d: Int64,
                          _ seed: UInt64, _ step: UInt64, _ worker: UInt32, _ purpose: UInt8,
                          _ out: UnsafeMutablePointer<UInt8>?, _ capacity: Int,
                          _ nbytes: UnsafeMutablePointer<Int>?, _ nbits: UnsafeMutablePointer<Int64>?,
                          _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        let core = try compressorHandle(h).core
        let xs = try checkedVector(x, d, core, "the input vector")
        let key = try randomKey(seed: seed, step: step, worker: worker, purpose: purpose)
        let o = try mutableBuffer(out, capacity, "the output buffer")
        let r = try core.compress(xs, key: key, into: UnsafeMutableRawBufferPointer(o))
        nbytes?.pointee = r.bytes
        nbits?.pointee = Int64(r.bits)
    }
}

@_cdecl("csgd_decode")
public func csgd_decode(_ h: OpaquePointer?, _ bytes: UnsafePointer<UInt8>?, _ count: Int,
                        _ seed: UInt64, _ step: UInt64, _ worker: UInt32, _ purpose: UInt8,
                        _ nbits: UnsafeMutablePointer<Int64>?,
                        _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        let core = try compressorHandle(h).core
        let b = try buffer(bytes, count, "the message bytes")
        let key = try randomKey(seed: seed, step: step, worker: worker, purpose: purpose)
        nbits?.pointee = Int64(try core.decode(UnsafeRawBufferPointer(b), key: key))
    }
}

@_cdecl("csgd_decompress")
public func csgd_decompress(_ h: OpaquePointer?, _ bytes: UnsafePointer<UInt8>?, _ count: Int,
                            _ seed: UInt64, _ step: UInt64, _ worker: UInt32, _ purpose: UInt8,
                            _ y: UnsafeMutablePointer<Float>?, _ d: Int64, _ scale: Float, _ accumulate: Int32,
                            _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        let core = try compressorHandle(h).core
        let b = try buffer(bytes, count, "the message bytes")
        let key = try randomKey(seed: seed, step: step, worker: worker, purpose: purpose)
        let ys = try mutableBuffer(y, Int(d), "the output vector")
        guard Int(d) == core.compressor.dimension else {
            throw CAPIFailure(.invalidArgument, "the output vector has \(d) floats but the compressor's dimension is \(core.compressor.dimension)")
        }
        try core.decompress(UnsafeRawBufferPointer(b), key: key, scale: scale, accumulate: accumulate != 0, into: ys)
    }
}

/// `x` as a vector of the compressor's dimension.
func checkedVector(_ x: UnsafePointer<Float>?, _ d: Int64, _ core: any CompressorCore, _ what: String) throws -> UnsafeBufferPointer<Float> {
    guard Int(d) == core.compressor.dimension else {
        throw CAPIFailure(.invalidArgument, "\(what) has \(d) floats but the compressor's dimension is \(core.compressor.dimension)")
    }
    return try buffer(x, Int(d), what)
}
