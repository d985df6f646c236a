import CSGDCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where `csgd` writes whole lines: a run's `--log` file, standard output
/// or the error line on standard error.
/// The one writer of both.
///
/// A file is opened where it is (`open(2)` with O_CREAT, and O_TRUNC for a
/// fresh log or O_APPEND for a resumed one), never replaced: a FIFO or a
/// device is written as it is, a symbolic link is followed. Each line goes
/// out in one `write(2)` of the whole line, continued after a partial write;
/// the first failure is a `CSGDError` naming the file and the OS error, the
/// sink writes nothing more, and a regular file is cut back to its last whole
/// line, so a log always ends on one.
final class LineSink: @unchecked Sendable {
    let fd: Int32
    /// How errors name the destination: `the log 'run.jsonl'`, `standard output`.
    let name: String
    /// A regular file, which can be cut back after a partial line.
    let isRegular: Bool
    private let owned: Bool
    private let lock = NSLock()
    private var failure: CSGDError?

    private init(fd: Int32, name: String, owned: Bool) {
        self.fd = fd
        self.name = name
        self.owned = owned
        var st = stat()
        isRegular = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Standard output (file descriptor 1).
    static let standardOutput = LineSink(fd: 1, name: "standard output", owned: false)
    /// Standard error (file descriptor 2), where error lines go.
    static let standardError = LineSink(fd: 2, name: "standard error", owned: false)

    /// Opens `path` for writing, creating it (mode 0666 less the umask) if
    /// absent: emptied (`truncate`) or written at its end. Opening a FIFO
    /// waits for its reader, as a shell's redirection does.
    static func open(_ path: String, name: String, truncate: Bool) throws -> LineSink {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND)
        var fd: Int32
        repeat { fd = Glibc.open(path, flags, 0o666) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw CSGDError("cannot open \(name): \(Self.osError())") }
        return LineSink(fd: fd, name: name, owned: true)
    }

    /// The file's size (a regular file's), or nil when it cannot be read.
    var size: Int? {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : nil
    }

    /// Cuts a regular file to its first `count` bytes.
    func cut(to count: Int) throws {
        guard isRegular else { return }
        lock.lock(); defer { lock.unlock() }
        guard ftruncate(fd, off_t(count)) == 0 else { throw fail("cannot write \(name): \(Self.osError())") }
    }

    /// Writes `text` and a line break in one write (continued after a
    /// partial write). `text` may itself hold line breaks (a table): it
    /// is written whole or, on a regular file, not at all.
    func writeLine(_ text: String) throws {
        var bytes = Array(text.utf8)
        bytes.append(UInt8(ascii: "\n"))
        lock.lock(); defer { lock.unlock() }
        if let failure { throw failure }
        let start = isRegular ? size : nil
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            let why = n < 0 ? Self.osError() : "the write was refused"
            // A partial line is cut off; the log ends on the line before it.
            if done > 0, let start { _ = ftruncate(fd, off_t(start)) }
            throw fail("cannot write \(name): \(why)")
        }
    }

    /// Closes an opened file, reporting a failure (a deferred write error).
    func close() throws {
        lock.lock(); defer { lock.unlock() }
        guard owned else { return }
        if Glibc.close(fd) != 0, errno != EINTR, failure == nil { throw fail("cannot write \(name): \(Self.osError())") }
    }

    private func fail(_ message: String) -> CSGDError {
        let e = CSGDError(message)
        failure = e
        return e
    }

    /// The text of `errno`, e.g. "No space left on device".
    static func osError() -> String { String(cString: strerror(errno)) }
}
