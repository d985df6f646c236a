import CSGDCore

/// The status every exported function returns (`csgd.h`'s `CSGD_*` codes)
/// and the one-line message that goes with a failure.
struct CAPIFailure: Error {
    enum Code: Int32 {
        /// A bad argument: an unknown or ill-fitting spec, a size mismatch, a null pointer.
        case invalidArgument = 1
        /// Bytes that are not a message of this compressor.
        case malformedMessage = 2
        /// The caller's output buffer is too small (the size needed is reported).
        case bufferTooSmall = 3
    }

    let code: Code
    let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// `CSGD_OK`.
let statusOK: Int32 = 0

/// Runs `body` and turns any failure into its status, writing the message
/// (one line, `CSGDError.oneLine`) into the caller's buffer `err` of
/// `errlen` bytes: truncated at a character boundary and NUL-terminated.
/// The message lives only in that buffer, so concurrent calls on different
/// threads never share one.
func reportingStatus(_ err: UnsafeMutablePointer<CChar>?, _ errlen: Int, _ body: () throws -> Void) -> Int32 {
    do {
        try body()
        if let err, errlen > 0 { err[0] = 0 }
        return statusOK
    } catch let f as CAPIFailure {
        write(f.message, into: err, errlen)
        return f.code.rawValue
    } catch let e as CSGDError {
        write(e.message, into: err, errlen)
        return CAPIFailure.Code.invalidArgument.rawValue
    } catch {
        write(String(describing: error), into: err, errlen)
        return CAPIFailure.Code.malformedMessage.rawValue
    }
}

private func write(_ message: String, into err: UnsafeMutablePointer<CChar>?, _ errlen: Int) {
    guard let err, errlen > 0 else { return }
    var utf8 = Array(CSGDError.oneLine(message).utf8)
    if utf8.count > errlen - 1 {
        var n = errlen - 1
        // Do not cut a multi-byte character: back up to a lead byte.
        while n > 0 && utf8[n] & 0xC0 == 0x80 { n -= 1 }
        utf8.removeSubrange(n...)
    }
    for (i, b) in utf8.enumerated() { err[i] = CChar(bitPattern: b) }
    err[utf8.count] = 0
}

/// `p` as a buffer of `count` elements; a null pointer is an error unless count is 0.
func buffer<T>(_ p: UnsafePointer<T>?, _ count: Int, _ what: String) throws -> UnsafeBufferPointer<T> {
    guard count >= 0 else { throw CAPIFailure(.invalidArgument, "\(what): negative length \(count)") }
    if count == 0 { return UnsafeBufferPointer(start: nil, count: 0) }
    guard let p else { throw CAPIFailure(.invalidArgument, "\(what) is a null pointer") }
    return UnsafeBufferPointer(start: p, count: count)
}

func mutableBuffer<T>(_ p: UnsafeMutablePointer<T>?, _ count: Int, _ what: String) throws -> UnsafeMutableBufferPointer<T> {
    guard count >= 0 else { throw CAPIFailure(.invalidArgument, "\(what): negative length \(count)") }
    if count == 0 { return UnsafeMutableBufferPointer(start: nil, count: 0) }
    guard let p else { throw CAPIFailure(.invalidArgument, "\(what) is a null pointer") }
    return UnsafeMutableBufferPointer(start: p, count: count)
}

/// The key (seed, step, worker, purpose) of a call; the worker must fit in
/// 24 bits (`RandomKey.shared` = 0xFFFFFF meaning "every worker").
func randomKey(seed: UInt64, step: UInt64, worker: UInt32, purpose: UInt8) throws -> RandomKey {
    guard worker <= RandomKey.shared else {
        throw CAPIFailure(.invalidArgument, "worker \(worker) does not fit in 24 bits (0xFFFFFF is the shared worker)")
    }
    return RandomKey(seed: seed, step: step, worker: worker, purpose: RandomPurpose(rawValue: purpose))
}
