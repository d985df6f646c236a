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
/// A raw file is read from disk as the caller reads, never whole, so only
/// the bytes a reader keeps take memory; a file that starts with the gzip
/// magic bytes 1f 8b (the file name does not matter) is read into memory
/// compressed and inflated as the caller reads. Reads return fewer bytes
/// than asked only at the end of the data, so a reader compares the count
/// with what a header promised and reports a truncated file itself. Every
/// failure (missing file, a directory, an I/O error, a corrupt gzip stream,
/// more data than the memory available) is a one-line `CSGDError` that
/// starts with the path.
final class DataFile {
    let path: String
    /// True when the file is gzip-compressed.
    let isGzip: Bool
    /// The file's size on disk.
    let fileSize: Int
    /// What a reader may keep of this file's data (`require` before reading
    /// what a header declares).
    let budget: MemoryBudget
    private let fd: Int32                                 // -1: the contents are in `storage`
    private var storage: UnsafeMutableRawBufferPointer?   // gzip files: the compressed bytes; in-memory contents
    private var position = 0                  // raw files: next byte to read
    private var inflater: GzipInflater?

    /// Files larger than this are refused (the largest real input, CIFAR-10's
    /// training batches, is 30 MB each).
    static let maximumFileSize = 1 << 34

    init(path: String, budget: MemoryBudget = .limit(nil)) throws {
        self.path = path
        self.budget = budget
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CSGDError("\(path): cannot open (\(DataFile.errnoText()))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else { let t = DataFile.errnoText(); close(fd); throw CSGDError("\(path): cannot stat (\(t))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { close(fd); throw CSGDError("\(path): not a regular file") }
        let size = Int(st.st_size)
        guard size <= DataFile.maximumFileSize else {
            close(fd)
            throw CSGDError("\(path): \(size) bytes is larger than the \(DataFile.maximumFileSize) this reader accepts")
        }
        // The first two bytes tell a gzip file, which is read whole (compressed).
        var magic: (UInt8, UInt8) = (0, 0)
        let m = withUnsafeMutableBytes(of: &magic) { pread(fd, $0.baseAddress, 2, 0) }
        var storage: UnsafeMutableRawBufferPointer?
        var inflater: GzipInflater?
        var got = size
        if m == 2, magic == (0x1f, 0x8b) {
            do {
                try budget.require(Double(size), for: "\(path): this gzip file")
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 16)
                storage = buffer
                got = 0
                while got < size {
                    let r = posixRead(fd, buffer.baseAddress!.advanced(by: got), size - got)
                    if r < 0 {
                        if errno == EINTR { continue }
                        throw CSGDError("\(path): read failed (\(DataFile.errnoText()))")
                    }
                    if r == 0 { break }   // the file shrank while we read it
                    got += r
                }
                inflater = try GzipInflater(path: path, input: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<got]))
            } catch {
                storage?.deallocate()
                close(fd)
                throw error
            }
        }
        self.fd = fd
        self.storage = storage
        self.inflater = inflater
        isGzip = inflater != nil
        fileSize = got
    }

    /// A file's contents already in memory (`bytes`; `path` names it in
    /// messages), read exactly as the file would be (for fuzzing the
    /// readers without files).
    init(bytes: UnsafeRawBufferPointer, path: String, budget: MemoryBudget = .limit(nil)) throws {
        guard bytes.count <= DataFile.maximumFileSize else {
            throw CSGDError("\(path): \(bytes.count) bytes is larger than the \(DataFile.maximumFileSize) this reader accepts")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        if let base = bytes.baseAddress { buffer.baseAddress!.copyMemory(from: base, byteCount: bytes.count) }
        let contents = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<bytes.count])
        var inflater: GzipInflater?
        if GzipInflater.isGzip(contents) {
            do { inflater = try GzipInflater(path: path, input: contents) } catch {
                buffer.deallocate()
                throw error
            }
        }
        self.path = path
        self.budget = budget
        self.fd = -1
        self.storage = buffer
        self.inflater = inflater
        isGzip = inflater != nil
        fileSize = bytes.count
    }

    deinit {
        inflater = nil          // ends zlib before the input it borrows goes away
        storage?.deallocate()
        if fd >= 0 { close(fd) }
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
        if fd < 0, let storage {
            let n = max(0, min(out.count, fileSize - position))
            if n > 0 { out.baseAddress!.copyMemory(from: UnsafeRawPointer(storage.baseAddress!) + position, byteCount: n) }
            position += n
            return n
        }
        var n = 0
        while n < out.count {
            let r = pread(fd, out.baseAddress! + n, out.count - n, off_t(position))
            if r < 0 {
                if errno == EINTR { continue }
                throw CSGDError("\(path): read failed (\(DataFile.errnoText()))")
            }
            if r == 0 { break }
            n += r
            position += r
        }
        return n
    }

    /// Reads up to `count` bytes (fewer only at the end of the data). Memory
    /// grows with the bytes actually found, never with `count` alone, so a
    /// header that promises too much cannot make it allocate without bound.
    func read(upTo count: Int) throws -> [UInt8] {
        precondition(count >= 0)
        if inflater == nil {
            let n = max(0, min(count, fileSize - position))
            var failure: Error?
            let out = [UInt8](unsafeUninitializedCapacity: n) { buf, initialized in
                do { initialized = try read(into: UnsafeMutableRawBufferPointer(buf)) } catch { failure = error; initialized = 0 }
            }
            if let failure { throw failure }
            return out
        }
        var out: [UInt8] = []
        // deflate expands at most 1032:1, which bounds a corrupt trailer's claim.
        let expected = min(gzipSizeHint, 1032 * fileSize)
        out.reserveCapacity(min(count, expected, 1 << 28))
        // Inflate in pieces of at most 1 MiB, smaller for a file expected to
        // be small (a 1 MiB buffer zeroed for a few kilobytes of data costs
        // more than the inflating).
        var chunk = [UInt8](repeating: 0, count: min(count, 1 << 20, max(1 << 16, expected)))
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
        guard fileSize >= 4, let storage else { return 0 }
        let p = UnsafeRawPointer(storage.baseAddress!) + fileSize - 4
        return Int(p.load(fromByteOffset: 0, as: UInt8.self)) | Int(p.load(fromByteOffset: 1, as: UInt8.self)) << 8
            | Int(p.load(fromByteOffset: 2, as: UInt8.self)) << 16 | Int(p.load(fromByteOffset: 3, as: UInt8.self)) << 24
    }

    /// Reads and counts every remaining data byte (for reporting bytes after
    /// the data a header promised).
    func countRemaining() throws -> Int {
        if inflater == nil {
            var end = stat()
            let size = fd >= 0 && fstat(fd, &end) == 0 ? Int(end.st_size) : fileSize
            let n = max(0, size - position)
            position = max(position, size)
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
