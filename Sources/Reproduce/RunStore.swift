import CSGDCore
import Distributed
import Foundation

/// Where an experiment keeps its runs: `DIR/NAME/runs/KEY.jsonl` (the log),
/// `KEY.json` (the summary) and `KEY.args` (the command line). A run is
/// finished when its summary exists; every file is written under a
/// temporary name and renamed when complete, so a killed run leaves nothing
/// that looks finished.
public struct RunStore: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    public var runsDirectory: URL { directory.appendingPathComponent("runs") }

    public func logURL(_ run: RunSpec) -> URL { runsDirectory.appendingPathComponent("\(run.key).jsonl") }
    public func summaryURL(_ run: RunSpec) -> URL { runsDirectory.appendingPathComponent("\(run.key).json") }
    public func argumentsURL(_ run: RunSpec) -> URL { runsDirectory.appendingPathComponent("\(run.key).args") }

    /// True when the run's summary and log are both in place.
    public func isFinished(_ run: RunSpec) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: summaryURL(run).path) && fm.fileExists(atPath: logURL(run).path)
    }

    /// Creates the directories (an existing file in the way is an error).
    public func prepare() throws {
        try Files.makeDirectory(runsDirectory)
    }

    /// The run's log records and summary.
    public func load(_ run: RunSpec) throws -> RunResult {
        let decoder = JSONDecoder()
        let summaryData = try Files.read(summaryURL(run))
        let summary: RunOutcome
        do { summary = try decoder.decode(RunOutcome.self, from: summaryData) } catch {
            throw CSGDError("\(summaryURL(run).path): not a run summary (\(Files.describe(error)))")
        }
        let text = String(decoding: try Files.read(logURL(run)), as: UTF8.self)
        var records: [StepRecord] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            do { records.append(try decoder.decode(StepRecord.self, from: Data(line.utf8))) } catch {
                // The run's header and summary lines (`"type"`) are not records.
                if RunHeader.kind(of: Data(line.utf8)) != nil { continue }
                throw CSGDError("\(logURL(run).path): line \(i + 1) is not a log record (\(Files.describe(error)))")
            }
        }
        return RunResult(spec: run, records: records, summary: summary)
    }
}

/// A finished run: its spec, its log records and its summary.
public struct RunResult: Sendable {
    public var spec: RunSpec
    public var records: [StepRecord]
    public var summary: RunOutcome
}

/// File helpers with one-line errors.
enum Files {
    static func makeDirectory(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CSGDError("\(url.path) exists and is not a directory") }
            return
        }
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw CSGDError("cannot create \(url.path): \(describe(error))")
        }
    }

    static func read(_ url: URL) throws -> Data {
        do { return try Data(contentsOf: url) } catch { throw CSGDError("cannot read \(url.path): \(describe(error))") }
    }

    /// Writes `data` over `url` atomically (`AtomicFile`), through a
    /// temporary name that carries this process's id.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        try AtomicFile.write([UInt8](data), to: url.path, temporary: tmp.path)
    }

    static func rename(_ from: URL, to: URL) throws {
        guard Foundation.rename(from.path, to.path) == 0 else {
            throw IOFailure("cannot rename \(from.path) to \(to.path): \(String(cString: strerror(errno)))")
        }
    }

    /// An error as one short line (Foundation's errors without their userInfo dump).
    static func describe(_ error: Error) -> String {
        if let e = error as? CSGDError { return e.message }
        if let e = error as? DecodingError {
            switch e {
            case let .dataCorrupted(c), let .keyNotFound(_, c), let .typeMismatch(_, c), let .valueNotFound(_, c):
                return c.debugDescription
            @unknown default: return "undecodable"
            }
        }
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        return ns.localizedDescription
    }
}
