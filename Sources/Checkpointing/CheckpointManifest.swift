import CSGDCore

/// The last file of a checkpoint, written by rank 0 once every rank's file
/// is durable: the run's `CheckpointHeader` and the SHA-256 of each rank's
/// whole file, in rank order. Its presence makes the checkpoint complete; its
/// digests tie the rank files to it, so a rank file from another checkpoint
/// or one changed after the fact is rejected.
public struct CheckpointManifest: Equatable, Sendable {
    public var header: CheckpointHeader
    /// SHA-256 of `rank-R.ckpt`, R = 0 ..< W.
    public var digests: [[UInt8]]

    public init(header: CheckpointHeader, digests: [[UInt8]]) {
        self.header = header
        self.digests = digests
    }

    /// The complete manifest file.
    public func sealed() -> [UInt8] {
        var w = CheckpointWriter()
        header.write(to: &w)
        w.appendUInt32(UInt32(digests.count))
        for d in digests { w.appendBytes(d) }
        return CheckpointFile.seal(w.bytes, kind: .manifest)
    }

    /// Reads and checks the manifest at `path`.
    public static func load(_ path: String) throws -> CheckpointManifest {
        try read(try CheckpointFile.read(path), path: path)
    }

    /// Reads and checks a manifest file's `bytes` (the contents of `path`,
    /// which the errors name).
    public static func read(_ bytes: [UInt8], path: String) throws -> CheckpointManifest {
        var r = try CheckpointFile.open(bytes, path: path, kind: .manifest)
        let header = try CheckpointHeader.read(from: &r)
        let n = Int(try r.readUInt32("the number of ranks"))
        guard n == header.workers else { throw r.error("is corrupt: it lists \(n) rank files for W = \(header.workers)") }
        var digests: [[UInt8]] = []
        for i in 0..<n { digests.append(try r.readBytes(CheckpointFile.digestBytes, "rank \(i)'s digest")) }
        try r.finish("the digests")
        return CheckpointManifest(header: header, digests: digests)
    }
}
