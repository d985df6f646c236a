import CSGDCore
import Foundation

/// The layout of a checkpoint directory: one subdirectory a checkpoint,
/// `step-TTTTTTTTTT` (t in decimal, zero-padded to at least ten digits; t
/// is any Int, so past 10¹⁰ − 1 the name is longer), holding one file a rank,
/// `rank-R.ckpt`, and `MANIFEST`, written by rank 0 last, once every rank's
/// file is durable. A checkpoint is complete when its MANIFEST exists; the
/// newest complete one is the one a run resumes from. Subdirectories without
/// a MANIFEST (a run killed while writing) and temporary files (`.NAME.tmp`)
/// never count. A name that is not the canonical name of a step
/// (`step-1`, `step-00000000001`, a number past Int.max) is not a
/// checkpoint. A MANIFEST that does not read as one is still the newest
/// checkpoint of its step: resuming from it is refused naming the file,
/// never skipped for an older one. After a new MANIFEST, rank 0 removes the
/// older steps.
public struct CheckpointDirectory: Sendable {
    public let path: String
    public static let manifestName = "MANIFEST"
    static let stepPrefix = "step-"

    public init(_ path: String) { self.path = path }

    public func stepPath(_ t: Int) -> String {
        (path as NSString).appendingPathComponent(Self.stepName(t))
    }

    /// `step-` and t zero-padded to ten digits, from t's 64-bit value
    /// (`%010d` would print t mod 2³²).
    static func stepName(_ t: Int) -> String {
        let digits = String(t)
        return stepPrefix + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    /// The step a subdirectory's name is the canonical name of, if any.
    static func step(named name: String) -> Int? {
        guard name.hasPrefix(stepPrefix) else { return nil }
        let digits = name.dropFirst(stepPrefix.count)
        guard digits.count >= 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let t = Int(digits),
              stepName(t) == name else { return nil }
        return t
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
        return names.compactMap(Self.step(named:)).sorted()
    }

    /// The steps whose MANIFEST exists, ascending.
    public func completeSteps() -> [Int] {
        steps().filter { FileManager.default.fileExists(atPath: manifestPath(step: $0)) }
    }

    /// The newest complete checkpoint's step, if any.
    public func newestComplete() -> Int? { completeSteps().last }

    /// The file holding the command line of the run that made the directory.
    public var commandPath: String { (path as NSString).appendingPathComponent("COMMAND") }

    /// Writes the run's command line (a JSON array of strings), atomically.
    public func writeCommand(_ arguments: [String]) throws {
        let data = try JSONSerialization.data(withJSONObject: arguments, options: [.withoutEscapingSlashes])
        try CheckpointFile.writeAtomically([UInt8](data), to: commandPath)
    }

    /// The command line recorded by `writeCommand`, nil when there is none;
    /// throws when the file is unreadable or not an array of strings.
    public func recordedCommand() throws -> [String]? {
        guard FileManager.default.fileExists(atPath: commandPath) else { return nil }
        guard let data = FileManager.default.contents(atPath: commandPath),
              let arguments = (try? JSONSerialization.jsonObject(with: data)) as? [String], !arguments.isEmpty else {
            throw CSGDError("checkpoint '\(commandPath)' is corrupt: not the command line of a run")
        }
        return arguments
    }

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
            if let failure {
                // A full disk is the machine's failure (exit 1), anything else the path's (exit 2).
                let ns = failure as NSError
                let code = (ns.userInfo[NSUnderlyingErrorKey] as? NSError).map { Int32($0.code) }
                    ?? (ns.domain == NSCocoaErrorDomain && ns.code == NSFileWriteOutOfSpaceError ? ENOSPC : nil)
                if let code, [ENOSPC, EDQUOT, EIO].contains(code) {
                    throw IOFailure("cannot create checkpoint directory '\(path)': \(String(cString: strerror(code)))")
                }
                throw CSGDError("cannot create checkpoint directory '\(path)': \(failure.localizedDescription)")
            }
            throw CSGDError("checkpoint directory '\(path)' is not a directory")
        }
    }

    /// Creates step t's subdirectory (any rank may; existing is fine). Its
    /// name becomes durable when rank 0 fsyncs this directory after the
    /// MANIFEST (until then the checkpoint does not count anyway).
    public func createStep(_ t: Int) throws {
        let p = stepPath(t)
        if mkdir(p, 0o755) != 0 && errno != EEXIST {
            throw IOFailure("cannot create checkpoint directory '\(p)': \(String(cString: strerror(errno)))")
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
