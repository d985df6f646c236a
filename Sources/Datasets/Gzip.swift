import CZlib
import CSGDCore

/// gzip decompression of an in-memory buffer through zlib, read in pieces.
///
/// `GzipInflater` turns the bytes of a gzip file (one member or several
/// concatenated, as gzip(1) writes them) into their decompressed bytes, as
/// many as the caller asks for at a time, so a reader can parse a header
/// before it decides how much more to decompress. zlib checks each member's
/// CRC-32 and length; a corrupt stream, a stream that ends early (a truncated
/// file) or bytes after the last member are thrown as one-line `CSGDError`s
/// naming the file. The input buffer is borrowed: its owner (`DataFile`)
/// keeps it alive for the inflater's lifetime.
final class GzipInflater {
    let path: String
    private let input: UnsafeRawBufferPointer
    private var consumed = 0          // input bytes handed to zlib so far
    private let stream: UnsafeMutablePointer<z_stream>
    private var finished = false

    /// The two bytes every gzip member starts with.
    static let magic: (UInt8, UInt8) = (0x1F, 0x8B)

    /// True when `bytes` starts with the gzip magic number.
    static func isGzip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == magic.0 && bytes[1] == magic.1
    }

    init(path: String, input: UnsafeRawBufferPointer) throws {
        self.path = path
        self.input = input
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 16 + 15: a gzip wrapper (not zlib, not raw deflate), 32 KiB window.
        let rc = inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        // On failure deinit still runs (every property is set): inflateEnd
        // sees no state and the stream is freed there.
        guard rc == Z_OK else { throw CSGDError("\(path): zlib could not start inflating (error \(rc))") }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Hands zlib the next piece of input when it has used up the last one
    /// (avail_in is 32-bit, so a file over 4 GiB goes in several pieces).
    private func refill() {
        guard stream.pointee.avail_in == 0, consumed < input.count, let base = input.baseAddress else { return }
        let n = min(input.count - consumed, 1 << 30)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.advanced(by: consumed).assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = uInt(n)
        consumed += n
    }

    /// Input bytes not yet read by zlib.
    private var unread: Int { Int(stream.pointee.avail_in) + (input.count - consumed) }

    /// Decompresses into `out`; returns how many bytes it wrote, fewer than
    /// `out.count` only when the last member has ended.
    func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = out.baseAddress, out.count > 0 else { return 0 }
        var written = 0
        while written < out.count && !finished {
            refill()
            let want = min(out.count - written, Int(UInt32.max))
            stream.pointee.next_out = base.advanced(by: written).assumingMemoryBound(to: UInt8.self)
            stream.pointee.avail_out = uInt(want)
            let rc = inflate(stream, Z_NO_FLUSH)
            written += want - Int(stream.pointee.avail_out)
            switch rc {
            case Z_OK:
                continue
            case Z_STREAM_END:
                refill()
                if unread == 0 {
                    finished = true
                } else {
                    // Another member must follow; anything else is garbage.
                    let p = stream.pointee.next_in!
                    let second: UInt8? = stream.pointee.avail_in >= 2 ? p[1] : nil
                    guard p[0] == Self.magic.0, second == nil || second == Self.magic.1 else {
                        throw CSGDError("\(path): \(unread) bytes of trailing garbage after the gzip stream")
                    }
                    guard inflateReset(stream) == Z_OK else {
                        throw CSGDError("\(path): zlib could not restart for the next gzip member")
                    }
                }
            case Z_BUF_ERROR:
                if unread == 0 {
                    throw CSGDError("\(path): gzip stream ends early (truncated file)")
                }
                // No progress with input left can only mean a full output
                // buffer, which the loop condition already handles.
                if written == out.count { continue }
                throw CSGDError("\(path): corrupt gzip stream (zlib made no progress)")
            case Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR:
                let detail = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
                throw CSGDError("\(path): corrupt gzip stream (\(detail))")
            case Z_MEM_ERROR:
                throw CSGDError("\(path): out of memory while inflating the gzip stream")
            default:
                throw CSGDError("\(path): gzip stream failed (zlib error \(rc))")
            }
        }
        return written
    }
}

/// gzip compression of a byte array (one member, default level, a window
/// sized to the input), for tools
/// and tests that write fixtures in the format the readers accept, and the
/// readers' decompression of a whole file held in memory.
public enum Gzip {
    /// The data a file with these contents holds, as the readers see it:
    /// inflated when it starts with the gzip magic 1f 8b (every member, each
    /// checked by its CRC-32 and length), else `bytes` unchanged. `name`
    /// stands for the file's path in errors.
    public static func decompress(_ bytes: UnsafeRawBufferPointer, name: String) throws -> [UInt8] {
        try DataFile(bytes: bytes, path: name).read(upTo: DataFile.maximumFileSize)
    }

    public static func compress(_ bytes: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) throws -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        // A window no larger than the input needs (zlib's own advice for small
        // inputs): the same compression, and a few kilobytes of state instead
        // of ~270 KiB for a short input.
        let windowBits = max(9, min(MAX_WBITS, Int32(Int.bitWidth - (bytes.count + 262).leadingZeroBitCount)))
        let memLevel = max(1, min(8, windowBits - 7))
        let rc = deflateInit2_(stream, level, Z_DEFLATED, 16 + windowBits, memLevel, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw CSGDError("gzip: zlib could not start deflating (error \(rc))") }
        defer { deflateEnd(stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(bytes.count))))
        var produced = 0
        var input = bytes
        try input.withUnsafeMutableBufferPointer { inp in
            stream.pointee.next_in = inp.baseAddress
            stream.pointee.avail_in = uInt(inp.count)
            // Z_FINISH may take more than one call (with a small memLevel
            // zlib flushes its pending output in pieces); the buffer grows
            // only if deflateBound was short.
            var stalled = 0
            while true {
                if produced == out.count { out += [UInt8](repeating: 0, count: max(64, out.count / 2)) }
                let before = produced
                let r: Int32 = out.withUnsafeMutableBufferPointer { o in
                    stream.pointee.next_out = o.baseAddress! + produced
                    stream.pointee.avail_out = uInt(o.count - produced)
                    let r = deflate(stream, Z_FINISH)
                    produced = o.count - Int(stream.pointee.avail_out)
                    return r
                }
                if r == Z_STREAM_END { break }
                stalled = produced == before && produced < out.count ? stalled + 1 : 0
                guard r == Z_OK || r == Z_BUF_ERROR, stalled < 2 else { throw CSGDError("gzip: deflate failed (error \(r))") }
            }
        }
        out.removeLast(out.count - produced)
        return out
    }
}
