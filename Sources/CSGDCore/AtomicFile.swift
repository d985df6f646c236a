import Foundation

/// Files written so that a crash at any point leaves either the previous
/// file or the complete new one: a temporary file beside the target, write,
/// fsync, rename over the target, fsync the directory. Every failure is an
/// `IOFailure` naming the file, the call and the OS error.
public enum AtomicFile {
    /// Writes `bytes` to `path` through the temporary file `temporary` (in
    /// the same directory, so the rename is atomic); a failure removes it.
    public static func write(_ bytes: [UInt8], to path: String, temporary tmp: String) throws {
        func fail(_ what: String) -> IOFailure {
            IOFailure("cannot write '\(path)': \(what): \(String(cString: strerror(errno)))")
        }
        let fd = Foundation.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("open") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw fail("write")
                    }
                    done += n
                }
            }
            guard fsync(fd) == 0 else { throw fail("fsync") }
        }
        guard rename(tmp, path) == 0 else { throw fail("rename") }
        ok = true
        try syncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// fsync of a directory, so that the names in it (a rename, a new entry) are durable.
    public static func syncDirectory(_ path: String) throws {
        let fd = Foundation.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw IOFailure("cannot open directory '\(path)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw IOFailure("cannot fsync directory '\(path)': \(String(cString: strerror(errno)))") }
    }
}
