import ArgumentParser
import CSGDCore
import Foundation

/// Shared conventions of the subcommands: bad input is one line on stderr
/// and exit status 2; JSON goes to stdout one object a line.
enum CLI {
    /// Runs `body`; a `CSGDError` becomes `csgd: error: …` on stderr and exit 2.
    static func orExit<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as CSGDError {
            fail(e.message, status: 2)
        }
    }

    /// Prints `csgd: error: message` on stderr, on one line whatever the
    /// message holds (`CSGDError.oneLine`), and exits with `status`. Every
    /// error `csgd` reports ends here.
    static func fail(_ message: String, status: Int32) -> Never {
        // Under mpirun every rank reads the same command line, so bad input
        // (status 2) is found by all of them: rank 0 says it, the others
        // only exit with the status, a moment later (mpirun ends the whole
        // job at the first rank that exits non-zero, which could otherwise
        // cut rank 0 off before its line is written).
        if status == 2, mpirunRank.map({ $0 != 0 }) == true {
            usleep(2_000_000)
            Foundation.exit(status)
        }
        // An error line that cannot be written (standard error on a full
        // device) is lost, not a crash: the exit status still tells.
        _ = try? LineSink.standardError.writeLine("csgd: error: \(CSGDError.oneLine(message))")
        Foundation.exit(status)
    }

    /// This process's rank when mpirun (Open MPI or PMIx) started it.
    static var mpirunRank: Int? {
        let env = ProcessInfo.processInfo.environment
        return (env["OMPI_COMM_WORLD_RANK"] ?? env["PMIX_RANK"]).flatMap { Int($0) }
    }

    /// Writes `text` and a line break to standard output in one write; a
    /// failed write is one line naming it and the OS error, and exit status 1.
    static func output(_ text: String) {
        do { try LineSink.standardOutput.writeLine(text) } catch let e as CSGDError {
            fail(e.message, status: 1)
        } catch {
            fail(String(describing: error), status: 1)
        }
    }

    /// Flushes what was printed on standard output; a failed write is one line naming it and the OS error, and exit status 1.
    static func flushStandardOutput() {
        // fflush(NULL) flushes every output stream, standard output among them.
        if fflush(nil) != 0 {
            fail("cannot write standard output: \(LineSink.osError())", status: 1)
        }
    }

    /// Ends the process for an error that reached the top of `csgd`: help
    /// (`--help`, `help NAME`) is printed as the argument parser prints it,
    /// with exit status 0; bad input, whether the argument parser found it
    /// (an unknown option, a missing or malformed value) or a command did
    /// (`CSGDError`), is one line and exit status 2; a file that cannot be
    /// written (`IOFailure`) is one line and status 1; any other failure is
    /// one line and the parser's status for it (1).
    static func exit<Command: ParsableCommand>(_ error: Error, command: Command.Type) -> Never {
        if let e = error as? CSGDError { fail(e.message, status: 2) }
        if let e = error as? IOFailure { fail(e.message, status: 1) }
        let code = Command.exitCode(for: error)
        if code == .success { Command.exit(withError: error) }
        let message = Command.message(for: error)
        let status = code == .validationFailure ? 2 : code.rawValue
        if message.isEmpty { Foundation.exit(status) }
        fail(message, status: status)
    }

    /// The command line with every negative number that follows a long
    /// option attached to it (`--dim -5` → `--dim=-5`). The argument parser
    /// reads a token starting with `-` as an option, so `--dim -5` would
    /// be a missing value; attached, `-5` is the option's value and is
    /// judged as one (`--dim -5 must be positive`). Nothing after `--`.
    static func attachingNegativeNumbers(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var previousIsOption = false
        for (i, a) in arguments.enumerated() {
            if a == "--" { return out + arguments[i...] }
            if previousIsOption, isNegativeNumber(a) {
                out[out.count - 1] += "=" + a
                previousIsOption = false
                continue
            }
            out.append(a)
            previousIsOption = a.hasPrefix("--") && a.count > 2 && !a.contains("=")
        }
        return out
    }

    /// `-5`, `-0.5`, `-.5`, `-1e3`, `-inf`, `-nan`: what Int or Double reads.
    static func isNegativeNumber(_ text: String) -> Bool {
        guard text.hasPrefix("-"), text.count > 1 else { return false }
        return Double(text) != nil || Int(text) != nil
    }

    /// A compact JSON line with sorted keys. A non-finite number (a diverged
    /// run's ‖∇f‖, say) is `null`: JSON has no NaN or infinity, and a summary
    /// or log line must still be written when the numbers in it are not.
    static func jsonLine<T: Encodable>(_ value: T) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Foundation can write a non-finite number only as a string: a marker
        // string no real field holds (it starts with U+0001), replaced by null
        // afterwards in the form this encoder writes it.
        let marker = "\u{1}non-finite"
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: marker, negativeInfinity: marker, nan: marker)
        let line = String(decoding: try enc.encode(value), as: UTF8.self)
        return line.replacingOccurrences(of: String(decoding: try enc.encode(marker), as: UTF8.self), with: "null")
    }
}

/// A plain left-aligned text table for terminal summaries.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    init(header: [String]) { self.header = header }
    mutating func add(_ row: [String]) { rows.append(row) }
    func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, s in s.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + rows.map(line)).joined(separator: "\n")
    }
}
