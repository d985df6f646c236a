import CSGDCore
import Foundation

/// The layout of a checkpoint directory: one subdirectory a checkpoint,
/// `step-TTTTTTTTTT` (t in ten digits), holding one file a rank,
/// `rank-R.ckpt`, and `MANIFEST`, written by rank 0 last, once every rank's
/// file is durable. A checkpoint is complete when its MANIFEST exists; the
/// newest complete one is the one a run resumes from. Subdirectories without
/// a MANIFEST (a run killed while writing) and temporary files (`.NAME.tmp`)
/// never count. After a new MANIFEST, rank 0 removes the older steps.
public struct CheckpointDirectory: Sendable {
    public let path: String
    public static let manifestName = "MANIFEST"
    static let stepPrefix = "step-"

    public init(_ path: String) { self.path = path }

    public func stepPath(_ t: Int) -> String {
        (path as NSString).appendingPathComponent(Self.stepPrefix + String(format: "%010d", t))
    }

    public func rankPath(step t: Int, rank r: Int) -> String {
        (stepPath(t) as NSString).appendingPathComponent("rank-\(r).ckpt")
    }

    public func manifestPath(step t: Int) -> String {
        (stepPath(t) as NSString).appendingPathComponent(Self.manifestName)
    }

    /// The steps that have a subdirectory, complete or not, ascending.
    public func steps() -> [Int] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        return names.compactMap { name -> Int? in
            guard name.hasPrefix(Self.stepPrefix) else { return nil }
            let digits = name.dropFirst(Self.stepPrefix.count)
            guard digits.count == 10, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
            return Int(digits)
        }.sorted()
    }

    /// The steps whose MANIFEST exists, ascending.
    public func completeSteps() -> [Int] {
        steps().filter { FileManager.default.fileExists(atPath: manifestPath(step: $0)) }
    }

    /// The newest complete checkpoint's step, if any.
    public func newestComplete() -> Int? { completeSteps().last }

    /// Creates the directory (and its parents) when missing; several ranks
    /// may call it at once.
    public func create() throws {
        var failure: Error?
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            failure = error   // another rank may have made it meanwhile: judged below
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            if let failure { throw CSGDError("cannot create checkpoint directory '\(path)': \(failure.localizedDescription)") }
            throw CSGDError("checkpoint directory '\(path)' is not a directory")
        }
    }

    /// Creates step t's subdirectory (any rank may; existing is fine). Its
    /// name becomes durable when rank 0 fsyncs this directory after the
    /// MANIFEST (until then the checkpoint does not count anyway).
    public func createStep(_ t: Int) throws {
        let p = stepPath(t)
        if mkdir(p, 0o755) != 0 && errno != EEXIST {
            throw CSGDError("cannot create checkpoint directory '\(p)': \(String(cString: strerror(errno)))")
        }
    }

    /// Removes every step subdirectory older than t (best effort), its
    /// MANIFEST first so that a crash midway never leaves a complete-looking
    /// checkpoint with missing rank files.
    public func prune(before t: Int) {
        for s in steps() where s < t {
            unlink(manifestPath(step: s))
            try? FileManager.default.removeItem(atPath: stepPath(s))
        }
    }
}
