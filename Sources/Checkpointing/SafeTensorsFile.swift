import CSGDCore
import Foundation

/// A safetensors file opened for reading: its header is read and checked
/// (`SafeTensorsHeader`) against the file's size when it is opened, and
/// tensors are read one at a time from their byte ranges, so a file is
/// never loaded whole to be judged.
///
/// Every refusal is a `CSGDError` naming the file: not a regular file, too
/// short for the 8-byte header length, a header length over 100 MB or past
/// the end of the file, or a header the format does not allow.
public final class SafeTensorsFile {
    public let path: String
    public let header: SafeTensorsHeader
    private let fd: Int32
    /// Offset of the data in the file: 8 + the header's length.
    private let dataStart: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CSGDError("cannot open '\(path)': \(String(cString: strerror(errno)))") }
        var ok = false
        defer { if !ok { close(fd) } }
        func damaged(_ why: String) -> CSGDError { CSGDError("'\(path)' is not a valid safetensors file: \(why)") }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CSGDError("cannot read '\(path)': \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw CSGDError("'\(path)' is not a regular file") }
        let size = Int(st.st_size)
        guard size >= 8 else { throw damaged("\(size) bytes, shorter than the 8-byte header length") }
        let lengthBytes = try Self.read(fd, at: 0, count: 8, path: path)
        let n = lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(SafeTensors.maximumHeaderBytes) else {
            throw damaged("a header of \(n) bytes is over the format's limit of \(SafeTensors.maximumHeaderBytes)")
        }
        guard Int(n) <= size - 8 else { throw damaged("the header length \(n) runs past the end of the file (\(size) bytes)") }
        let json = try Self.read(fd, at: 8, count: Int(n), path: path)
        do {
            header = try SafeTensorsHeader.parse(json, dataLength: size - 8 - Int(n))
        } catch let e as CSGDError {
            throw damaged(e.message)
        }
        self.fd = fd
        dataStart = 8 + Int(n)
        ok = true
    }

    deinit { close(fd) }

    /// The raw little-endian bytes of tensor `name`.
    public func bytes(of name: String) throws -> [UInt8] {
        guard let e = header.entries[name] else { throw CSGDError("'\(path)' has no tensor '\(name)'") }
        return try Self.read(fd, at: dataStart + e.begin, count: e.end - e.begin, path: path)
    }

    /// The values of the F32 tensor `name`, in its (row-major) order.
    public func floats(of name: String) throws -> [Float] {
        try values(of: name, dtype: "F32") { Float(bitPattern: UInt32(littleEndian: $0)) }
    }

    /// The values of the I64 tensor `name`, in its (row-major) order.
    public func int64s(of name: String) throws -> [Int64] {
        try values(of: name, dtype: "I64") { Int64(littleEndian: $0) }
    }

    /// Tensor `name`'s little-endian words of type `Word`, each decoded,
    /// after checking that its dtype is `dtype`.
    private func values<Word: FixedWidthInteger, T>(of name: String, dtype: String, _ decode: (Word) -> T) throws -> [T] {
        guard let e = header.entries[name] else { throw CSGDError("'\(path)' has no tensor '\(name)'") }
        guard e.dtype == dtype else { throw CSGDError("'\(path)': tensor '\(name)' has dtype \(e.dtype), not \(dtype)") }
        let b = try bytes(of: name)
        return b.withUnsafeBytes { raw in
            (0..<e.count).map { decode(raw.loadUnaligned(fromByteOffset: MemoryLayout<Word>.size * $0, as: Word.self)) }
        }
    }

    /// `count` bytes at `offset`, all of them (a file that shrank under us is an error).
    private static func read(_ fd: Int32, at offset: Int, count: Int, path: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        try out.withUnsafeMutableBytes { raw in
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CSGDError("cannot read '\(path)': \(String(cString: strerror(errno)))")
                }
                guard n > 0 else { throw CSGDError("cannot read '\(path)': the file ended at byte \(offset + done)") }
                done += n
            }
        }
        return out
    }
}
