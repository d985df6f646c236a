#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSGDCore

/// read(2), named apart from `DataFile.read`.
private func posixRead(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ n: Int) -> Int {
    read(fd, buf, n)
}

/// One data file opened for sequential reading, raw or gzip-compressed.
///
/// The whole file is read into memory at once; a file that starts with the
/// gzip magic bytes 1f 8b is decompressed on the fly as the caller reads
/// (the file name does not matter). Reads return fewer bytes than asked only
/// at the end of the data, so a reader compares the count with what a header
/// promised and reports a truncated file itself. Every failure (missing
/// file, a directory, an I/O error, a corrupt gzip stream) is a one-line
/// `CSGDError` that starts with the path.
final class DataFile {
    let path: String
    /// True when the file is gzip-compressed.
    let isGzip: Bool
    /// Bytes read from disk (the file's size).
    let fileSize: Int
    private let storage: UnsafeMutableRawBufferPointer
    private var position = 0                  // raw files: next byte to read
    private var inflater: GzipInflater?

    /// Files larger than this are refused (the largest real input, CIFAR-10's
    /// training batches, is 30 MB each).
    static let maximumFileSize = 1 << 34

    convenience init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw CSGDError("\(path): cannot open (\(DataFile.errnoText()))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CSGDError("\(path): cannot stat (\(DataFile.errnoText()))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw CSGDError("\(path): not a regular file") }
        let size = Int(st.st_size)
        guard size <= DataFile.maximumFileSize else {
            throw CSGDError("\(path): \(size) bytes is larger than the \(DataFile.maximumFileSize) this reader accepts")
        }
        // Everything goes into locals first: until the last property is set a
        // throw does not run deinit, so the buffer is freed here by hand.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 16)
        var got = 0
        while got < size {
            let r = posixRead(fd, buffer.baseAddress!.advanced(by: got), size - got)
            if r < 0 {
                if errno == EINTR { continue }
                let text = DataFile.errnoText()
                buffer.deallocate()
                throw CSGDError("\(path): read failed (\(text))")
            }
            if r == 0 { break }   // the file shrank while we read it
            got += r
        }
        try self.init(path: path, taking: buffer, count: got)
    }

    /// A file's contents already in memory (`bytes`; `path` names it in
    /// messages), read exactly as the file would be.
    convenience init(bytes: UnsafeRawBufferPointer, path: String) throws {
        guard bytes.count <= DataFile.maximumFileSize else {
            throw CSGDError("\(path): \(bytes.count) bytes is larger than the \(DataFile.maximumFileSize) this reader accepts")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        if let base = bytes.baseAddress { buffer.baseAddress!.copyMemory(from: base, byteCount: bytes.count) }
        try self.init(path: path, taking: buffer, count: bytes.count)
    }

    /// Takes `buffer` (its first `got` bytes are the file's), freeing it on failure.
    private init(path: String, taking buffer: UnsafeMutableRawBufferPointer, count got: Int) throws {
        self.path = path
        let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<got])
        var inflater: GzipInflater? = nil
        if GzipInflater.isGzip(bytes) {
            do { inflater = try GzipInflater(path: path, input: bytes) } catch {
                buffer.deallocate()
                throw error
            }
        }
        self.inflater = inflater
        isGzip = inflater != nil
        fileSize = got
        storage = buffer
    }

    deinit {
        inflater = nil          // ends zlib before the input it borrows goes away
        storage.deallocate()
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// True when `path` names an existing regular file.
    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// True when `path` names an existing directory.
    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Copies up to `out.count` data bytes into `out`; returns how many, fewer
    /// only at the end of the data.
    func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        if let inflater { return try inflater.read(into: out) }
        let n = min(out.count, fileSize - position)
        if n > 0 {
            out.baseAddress!.copyMemory(from: UnsafeRawPointer(storage.baseAddress!).advanced(by: position), byteCount: n)
            position += n
        }
        return n
    }

    /// Reads up to `count` bytes (fewer only at the end of the data). Memory
    /// grows with the bytes actually found, never with `count` alone, so a
    /// header that promises too much cannot make it allocate without bound.
    func read(upTo count: Int) throws -> [UInt8] {
        precondition(count >= 0)
        if inflater == nil {
            let n = min(count, fileSize - position)
            let out = [UInt8](unsafeUninitializedCapacity: n) { buf, initialized in
                if n > 0 {
                    UnsafeMutableRawBufferPointer(buf).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[position..<(position + n)]))
                }
                initialized = n
            }
            position += n
            return out
        }
        var out: [UInt8] = []
        // deflate expands at most 1032:1, which bounds a corrupt trailer's claim.
        out.reserveCapacity(min(count, gzipSizeHint, 1032 * fileSize, 1 << 28))
        var chunk = [UInt8](repeating: 0, count: min(count, 1 << 20))
        while out.count < count {
            let want = min(count - out.count, chunk.count)
            let got = try chunk.withUnsafeMutableBytes { c in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: c[0..<want]))
            }
            out.append(contentsOf: chunk[0..<got])
            if got < want { break }
        }
        return out
    }

    /// The decompressed size a gzip file's last trailer states (ISIZE, the
    /// last member's length mod 2^32): a hint for reserving memory only.
    private var gzipSizeHint: Int {
        guard fileSize >= 4 else { return 0 }
        let p = UnsafeRawPointer(storage.baseAddress!) + fileSize - 4
        return Int(p.load(fromByteOffset: 0, as: UInt8.self)) | Int(p.load(fromByteOffset: 1, as: UInt8.self)) << 8
            | Int(p.load(fromByteOffset: 2, as: UInt8.self)) << 16 | Int(p.load(fromByteOffset: 3, as: UInt8.self)) << 24
    }

    /// Reads and counts every remaining data byte (for reporting bytes after
    /// the data a header promised).
    func countRemaining() throws -> Int {
        if inflater == nil {
            let n = fileSize - position
            position = fileSize
            return n
        }
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            total += got
            if got < chunk.count { return total }
        }
    }
}
