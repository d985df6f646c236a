import CSGDCore
import Foundation

/// An exclusive lock on a checkpoint directory while a run writes into it:
/// `flock` on `DIR/.lock`, which holds the owner's process id, so a second
/// run started on the same directory is refused in one line naming the
/// process that holds it (two writers would race on the same step
/// directories). The lock is released when this object is deallocated or
/// the process ends; the file stays (removing it would let a third run lock
/// a new file while the second still holds the old one).
public final class CheckpointLock: @unchecked Sendable {
    /// The lock file's name inside the checkpoint directory.
    public static let fileName = ".lock"
    private let fd: Int32

    /// Locks `directory` (which must exist), or throws: in use by another
    /// process (its id, `CSGDError`), or the OS error (`IOFailure`, e.g. no
    /// space for the lock file).
    public init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw IOFailure("cannot lock checkpoint directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            var bytes = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &bytes, bytes.count, 0)
            close(fd)
            guard e == EWOULDBLOCK else {
                throw CSGDError("cannot lock checkpoint directory '\(directory)': \(String(cString: strerror(e)))")
            }
            let owner = n > 0 ? String(decoding: bytes[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
            throw CSGDError("checkpoint directory '\(directory)' is in use by another run (process \(owner.isEmpty ? "unknown" : owner)); wait for it to end or give another directory")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    deinit { close(fd) }
}
