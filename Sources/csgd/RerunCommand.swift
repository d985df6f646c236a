import ArgumentParser
import CSGDCore
import Distributed
import Foundation

/// `csgd rerun LOG.jsonl`: runs again the run a log describes, from the
/// log's header alone (`RunHeader`), and checks that it ends on the same
/// parameters (`params_sha256` of the log's summary line).
///
/// The run is the log's last header's command line (a resumed run's
/// header holds the whole command, completed from its checkpoint
/// directory), run from step 0 in a child `csgd` in the current directory
/// (relative paths such as `--data-dir` are read from there) with what
/// does not change the iterates dropped: `--log`, `--json`, `--resume`,
/// `--checkpoint`, `--checkpoint-every` and `--backend` (an MPI run reruns
/// in-process with `--workers W`: both backends give the same bits). `train`
/// gets the header's `--threads`, since the number of batch parts fixes the
/// order of the batch sums. The new run writes no log unless `--log NEW`
/// names one, and never the log it reads.
struct RerunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Run again the run a log's header describes and compare its params_sha256.",
        discussion: """
        Reads LOG's last header line ({"type":"header",…}, written by optimize and train), runs that command again \
        from step 0 (without --log, --json, --resume, --checkpoint, --checkpoint-every, --backend; train keeps the \
        header's --threads) and prints the new run's JSON summary. When LOG ends with a summary line, the new \
        params_sha256 must equal it: exit 0 when it does, 4 with one line when it does not. A log without a header, \
        or with a damaged one, is refused with exit status 2. See docs/logs.md.
        """)

    @Argument(help: "A JSONL log written by csgd optimize or train with --log.")
    var logFile: String

    @Option(help: "Write the new run's log to this file (not LOG itself; default: no log).")
    var log: String?

    /// Status when the rerun ends on other parameters than the log's.
    static let mismatchStatus: Int32 = 4

    func run() throws {
        if let n = Backend.launchSize {
            throw CSGDError("rerun runs the log's run in one process (both backends give the same bits); start it without mpirun (-np \(n))")
        }
        let described = try CLI.orExit { try DescribedRun.read(logFile) }
        if let log { try CLI.orExit { try Self.refuseSameFile(log, as: logFile) } }
        let arguments = described.rerunArguments + ["--json"] + (log.map { ["--log", $0] } ?? [])
        let (status, output) = try Self.runChild(arguments)
        // The child said what went wrong on standard error, in one line.
        guard status == 0 else { Foundation.exit(status) }
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let hash = object["params_sha256"] as? String else {
            CLI.fail("the rerun printed no summary with params_sha256", status: 1)
        }
        CLI.output(String(line))
        CLI.flushStandardOutput()
        guard let expected = described.summary?.paramsSHA256 else {
            _ = try? LineSink.standardError.writeLine("csgd: rerun: '\(CSGDError.oneLine(logFile))' has no summary line (its run did not finish); nothing to compare params_sha256 \(hash) with")
            return
        }
        guard hash == expected else {
            let built = described.header.commit.map { "commit \($0)" } ?? "an unknown commit"
            CLI.fail("params_sha256 \(hash) differs from the log's \(expected) (the log was written by csgd \(described.header.version), \(built); this is \(BuildInfo.versionLine))",
                     status: Self.mismatchStatus)
        }
        _ = try? LineSink.standardError.writeLine("csgd: rerun: params_sha256 \(hash) matches '\(CSGDError.oneLine(logFile))'")
    }

    /// Refuses `--log NEW` when it is the log being read (the same path or
    /// the same file through another name).
    static func refuseSameFile(_ new: String, as source: String) throws {
        var a = stat(), b = stat()
        let same = stat(new, &a) == 0 && stat(source, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino
        if same || URL(fileURLWithPath: new).standardizedFileURL == URL(fileURLWithPath: source).standardizedFileURL {
            throw CSGDError("--log '\(new)' is the log being rerun: give the new run another file")
        }
    }

    /// Runs this csgd with `arguments`; its standard error passes through,
    /// its standard output is returned.
    static func runChild(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        process.executableURL = URL(fileURLWithPath: me)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch {
            throw IOFailure("cannot start \(me): \(error.localizedDescription)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return (status, String(decoding: data, as: UTF8.self))
    }
}

/// What a log says about its run: its last header and, if it finished, its summary.
struct DescribedRun {
    var header: RunHeader
    var summary: RunSummary?

    /// Options that do not change the iterates, dropped from a rerun (with their values).
    static let dropped: Set<String> = ["--log", "--json", "--resume", "--checkpoint", "--checkpoint-every", "--backend", "--workers", "--threads"]

    /// Reads a log: every line a JSON object, the first a header; the last
    /// header and the summary line (if any) must decode.
    static func read(_ path: String) throws -> DescribedRun {
        let data: Data
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CSGDError("the log '\(path)' does not exist")
        }
        guard !isDirectory.boolValue else { throw CSGDError("the log '\(path)' is a directory") }
        guard let read = FileManager.default.contents(atPath: path) else {
            throw CSGDError("cannot read the log '\(path)': \(LineSink.osError())")
        }
        data = read
        let lines = data.split(separator: UInt8(ascii: "\n"))
        guard let first = lines.first else { throw CSGDError("the log '\(path)' is empty: nothing to rerun") }
        guard (try? JSONSerialization.jsonObject(with: Data(first))) is [String: Any] else {
            throw CSGDError("'\(path)' is not a csgd log: line 1 is not a JSON object")
        }
        guard RunHeader.kind(of: first) == RunHeader.type else {
            throw CSGDError("the log '\(path)' has no header (line 1 is not {\"type\":\"header\",…}; logs of csgd before 0.1.0 have none): cannot rerun it")
        }
        var header: RunHeader?
        var summary: RunSummary?
        for (i, line) in lines.enumerated() {
            guard (try? JSONSerialization.jsonObject(with: Data(line))) is [String: Any] else {
                throw CSGDError("the log '\(path)' is damaged: line \(i + 1) is not a JSON object")
            }
            switch RunHeader.kind(of: line) {
            case RunHeader.type?:
                do { header = try JSONDecoder().decode(RunHeader.self, from: Data(line)) } catch {
                    throw CSGDError("the log '\(path)' has a damaged header on line \(i + 1): \(Self.describe(error))")
                }
                summary = nil
            case LogSummary.type?:
                do { summary = try JSONDecoder().decode(LogSummary.self, from: Data(line)).summary } catch {
                    throw CSGDError("the log '\(path)' has a damaged summary on line \(i + 1): \(Self.describe(error))")
                }
            default:
                continue
            }
        }
        guard let header else { throw CSGDError("the log '\(path)' has no header: cannot rerun it") }
        guard ["optimize", "train"].contains(header.command) else {
            throw CSGDError("the log '\(path)' has a damaged header: command '\(header.command)' is not optimize or train")
        }
        return DescribedRun(header: header, summary: summary)
    }

    /// A decoding error as one short line.
    static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return String(describing: error) }
        switch e {
        case let .keyNotFound(key, _): return "no '\(key.stringValue)'"
        case let .dataCorrupted(c), let .typeMismatch(_, c), let .valueNotFound(_, c):
            let at = c.codingPath.map(\.stringValue).joined(separator: ".")
            return (at.isEmpty ? "" : "'\(at)': ") + c.debugDescription
        @unknown default: return "undecodable"
        }
    }

    /// The header's command line less `dropped`, with the header's W (and,
    /// for train, its threads a worker).
    var rerunArguments: [String] {
        let options = ResumeArguments.options(Array(header.arguments.dropFirst())).filter { !Self.dropped.contains($0.name) }
        var out = [header.command] + options.flatMap(\.tokens) + ["--workers", String(header.configuration.workers)]
        if header.command == "train", header.configuration.threads > 0 { out += ["--threads", String(header.configuration.threads)] }
        return out
    }
}
