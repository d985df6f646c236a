import Foundation
import CSGDCore

/// The `key=value,…` part of a `--problem NAME:…` argument, checked against the
/// problem's allowed keys, with typed readers whose failures are one-line
/// `CSGDError`s naming the problem and the offending option.
struct SpecOptions {
    let problem: String
    private(set) var values: [String: String] = [:]

    init(problem: String, text: String?, allowed: [String]) throws {
        self.problem = problem
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = raw.trimmingCharacters(in: .whitespaces)
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[0].isEmpty, !kv[1].isEmpty else {
                throw CSGDError("problem '\(problem)': malformed option '\(item)' (expected key=value)")
            }
            let key = kv[0].lowercased()
            guard allowed.contains(key) else {
                throw CSGDError("problem '\(problem)': unknown option '\(kv[0])' (allowed: \(allowed.joined(separator: ", ")))")
            }
            guard values[key] == nil else { throw CSGDError("problem '\(problem)': option '\(key)' given twice") }
            values[key] = kv[1]
        }
    }

    func int(_ key: String, default value: Int) throws -> Int {
        guard let s = values[key] else { return value }
        guard let v = Int(s) else { throw CSGDError("problem '\(problem)': \(key) = '\(s)' is not an integer") }
        return v
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard values[key] != nil else { return nil }
        return try int(key, default: 0)
    }

    func double(_ key: String, default value: Double) throws -> Double {
        guard let s = values[key] else { return value }
        guard let v = Double(s), v.isFinite else { throw CSGDError("problem '\(problem)': \(key) = '\(s)' is not a finite number") }
        return v
    }

    func seed(_ key: String, default value: UInt64) throws -> UInt64 {
        guard let s = values[key] else { return value }
        guard let v = UInt64(s) else { throw CSGDError("problem '\(problem)': \(key) = '\(s)' is not a non-negative integer") }
        return v
    }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String, default value: E) throws -> E where E.RawValue == String {
        guard let s = values[key] else { return value }
        guard let v = E(rawValue: s.lowercased()) else {
            throw CSGDError("problem '\(problem)': \(key) = '\(s)' is not one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }
}

/// Checks shared by the problems' `Options.validate()`.
enum SpecCheck {
    static func positive(_ problem: String, _ key: String, _ v: Int) throws {
        guard v > 0 else { throw CSGDError("problem '\(problem)': \(key) = \(v) must be positive") }
    }
    static func positive(_ problem: String, _ key: String, _ v: Double) throws {
        guard v.isFinite, v > 0 else { throw CSGDError("problem '\(problem)': \(key) = \(SpecFormat.number(v)) must be positive") }
    }
    static func nonNegative(_ problem: String, _ key: String, _ v: Double) throws {
        guard v.isFinite, v >= 0 else { throw CSGDError("problem '\(problem)': \(key) = \(SpecFormat.number(v)) must be non-negative") }
    }
}

/// Canonical spellings of option values (numbers that re-parse exactly).
enum SpecFormat {
    static func number(_ v: Double) -> String {
        if v.isFinite, v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
