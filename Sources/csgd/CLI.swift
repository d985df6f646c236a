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

    /// Prints `csgd: error: message` on stderr and exits with `status`.
    static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data("csgd: error: \(message)\n".utf8))
        Foundation.exit(status)
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
