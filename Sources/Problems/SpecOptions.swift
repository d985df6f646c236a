import Foundation
import CSGDCore

/// A problem's options as its `Options` initialisers read them: the
/// `SpecParser` accessors under the names those initialisers use, with
/// `SpecParser`'s one-line errors (`problem 'relu': d = 'abc' is not an integer`).
struct SpecOptions {
    let parser: SpecParser
    init(_ parser: SpecParser) { self.parser = parser }

    func int(_ key: String, default value: Int) throws -> Int { try parser.integer(key, default: value) }

    func optionalInt(_ key: String) throws -> Int? { try parser.integer(key) }

    func double(_ key: String, default value: Double) throws -> Double { try parser.number(key, default: value) }

    func seed(_ key: String, default value: UInt64) throws -> UInt64 { try parser.unsigned(key) ?? value }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String, default value: E) throws -> E where E.RawValue == String {
        try parser.choice(key, default: value)
    }
}

/// Checks shared by the problems' `Options.validate()`.
/// (Options built in code are validated too, so these do not go through a parser;
/// their messages are `SpecParser`'s.)
enum SpecCheck {
    static func positive(_ problem: String, _ key: String, _ v: Int) throws {
        try check(problem, key, String(v), v > 0, .positive)
    }
    static func positive(_ problem: String, _ key: String, _ v: Double) throws {
        try check(problem, key, SpecFormat.number(v), v.isFinite && v > 0, .positive)
    }
    static func nonNegative(_ problem: String, _ key: String, _ v: Double) throws {
        try check(problem, key, SpecFormat.number(v), v.isFinite && v >= 0, .nonNegative)
    }
    private static func check(_ problem: String, _ key: String, _ value: String, _ ok: Bool, _ range: NumberRange) throws {
        guard ok else { throw CSGDError(SpecParser.prefix(kind: "problem", name: problem) + "\(key) = \(value) \(range.requirement)") }
    }
}

/// Canonical spellings of option values (numbers that re-parse exactly).
enum SpecFormat {
    static func number(_ v: Double) -> String { SpecParser.format(v) }
}
