import CSGDCore
import Crypto
import Foundation

/// One checkpoint file on disk: its envelope and its atomic write.
///
/// Envelope (little-endian): the 8 bytes `CSGDCKPT`, the format version
/// (UInt32), the kind (UInt32: 1 a rank's state, 2 a manifest), the body's
/// byte count (UInt64), the body, and the SHA-256 of everything before it
/// (32 bytes). `open` checks all of it and names the file in every error:
/// too short, wrong magic, another version or kind, a length that does not
/// match the file's size (truncated or extended), a checksum that does not
/// match (a flipped bit). `writeAtomically` writes a temporary file in the
/// same directory, fsyncs it, renames it over the target and fsyncs the
/// directory, so a reader sees the old file or the new one, never a part.
public enum CheckpointFile {
    public static let magic: [UInt8] = Array("CSGDCKPT".utf8)
    public static let version: UInt32 = 2
    /// Bytes before the body: magic, version, kind, length.
    public static let headerBytes = 8 + 4 + 4 + 8
    public static let digestBytes = 32

    /// What a file holds.
    public enum Kind: UInt32, Sendable {
        case rank = 1
        case manifest = 2

        var name: String { self == .rank ? "rank state" : "manifest" }
    }

    /// The complete file for `body`.
    public static func seal(_ body: [UInt8], kind: Kind) -> [UInt8] {
        var w = CheckpointWriter()
        w.appendBytes(magic)
        w.appendUInt32(version)
        w.appendUInt32(kind.rawValue)
        w.appendUInt64(UInt64(body.count))
        w.appendBytes(body)
        var out = w.bytes
        out.append(contentsOf: SHA256.hash(data: out))
        return out
    }

    /// The SHA-256 digest of `bytes` (32 bytes).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// The file's bytes, or an error naming it.
    public static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CSGDError("cannot read checkpoint '\(path)'")
        }
        return [UInt8](data)
    }

    /// A reader over the body of `bytes` (the contents of `path`) once the
    /// envelope checks out.
    public static func open(_ bytes: [UInt8], path: String, kind: Kind) throws -> CheckpointReader {
        let minimum = headerBytes + digestBytes
        let prefix = min(bytes.count, magic.count)
        guard Array(bytes[0..<prefix]) == Array(magic[0..<prefix]) else {
            throw CSGDError("checkpoint '\(path)' is not a csgd checkpoint (bad magic)")
        }
        guard bytes.count >= minimum else {
            throw CSGDError("checkpoint '\(path)' is truncated: \(bytes.count) bytes, fewer than the \(minimum) of an empty one")
        }
        var r = CheckpointReader(bytes, file: path, range: magic.count..<headerBytes)
        let v = try r.readUInt32("the version")
        guard v == version else { throw CSGDError("checkpoint '\(path)' has format version \(v); this csgd reads version \(version)") }
        let k = try r.readUInt32("the kind")
        guard let found = Kind(rawValue: k) else { throw CSGDError("checkpoint '\(path)' is corrupt: unknown kind \(k)") }
        guard found == kind else { throw CSGDError("checkpoint '\(path)' is a \(found.name) file where a \(kind.name) file belongs") }
        let n = try r.readUInt64("the body length")
        let expected = UInt64(minimum) &+ n
        guard n <= UInt64(Int.max / 2), expected == UInt64(bytes.count) else {
            let how = n <= UInt64(Int.max / 2) && UInt64(bytes.count) < expected ? "truncated" : "corrupt"
            throw CSGDError("checkpoint '\(path)' is \(how): \(bytes.count) bytes where its header says \(expected)")
        }
        let bodyEnd = headerBytes + Int(n)
        let digest = bytes.withUnsafeBytes { SHA256.hash(data: UnsafeRawBufferPointer(rebasing: $0[0..<bodyEnd])) }
        guard Array(digest) == Array(bytes[bodyEnd...]) else {
            throw CSGDError("checkpoint '\(path)' is corrupt: its SHA-256 checksum does not match its contents")
        }
        return CheckpointReader(bytes, file: path, range: headerBytes..<bodyEnd)
    }

    /// The name of the temporary file `writeAtomically` uses for `path`
    /// (hidden, in the same directory; never read as a checkpoint).
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".tmp").path
    }

    /// Writes `bytes` to `path` so that a crash at any point leaves either
    /// the previous file or the complete new one (`AtomicFile`, through
    /// `temporaryPath(for:)`).
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        try AtomicFile.write(bytes, to: path, temporary: temporaryPath(for: path))
    }

    /// fsync of a directory, so that the names in it (a rename, a new entry) are durable.
    public static func syncDirectory(_ path: String) throws {
        try AtomicFile.syncDirectory(path)
    }
}
