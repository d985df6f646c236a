import Foundation

/// The one parser of every `NAME[:item,item,…]` argument: methods,
/// compressors, problems, models, data sets and partitions.
///
/// A spec is a name, optionally followed by `:` and comma-separated items.
/// An item is `key=value`, a bare word the kind defines as shorthand for a
/// `key=value` (`theory` for `theory=on`, `fixed` for `coding=fixed`), or,
/// first and only where the name takes one, a positional value
/// (`topk:0.001`, `mlp:784-256-10`, `dirichlet:0.5`); an empty item list
/// (`relu:`) is no item. Names are matched
/// without regard to case, after resolving aliases; a key is matched exactly,
/// else without regard to case when that leaves one candidate (alg1 has both
/// `r` and `R`). Whitespace around the name, items, keys and values is
/// ignored.
///
/// Parsing is two calls: `init` splits off and checks the name, `read`
/// checks the items against what that name accepts; typed accessors then
/// read the values. Every failure is a one-line `CSGDError` in one style:
///
/// - `method 'adam' is not known (expected one of: alg1, sgd, …)`
/// - `method 'alg1': option 'foo' is not known (allowed: r, sigma, batch, …)`
/// - `method 'alg1': option 'batch' is given twice`
/// - `method 'alg1': option 'batch' needs a value (batch=…)`
/// - `method 'alg1': option list 'batch=2,' has an empty item`
/// - `compressor 'sign': takes no options (got '3')`
/// - `compressor 'topk': needs K first, as in 'topk:0.01'`
/// - `method 'alg1': eta = 'x' is not a finite number`, `… batch = '2.5' is not an integer`
/// - `method 'alg1': batch = 0 must be positive`, `model 'mlp': dropout = 1.5 must be in [0, 1)`
/// - `problem 'saddle': start = 'middle' is not one of: saddle, random`
///
/// A kind's own checks use `error(_:)` for the same `KIND 'NAME': ` prefix.
public struct SpecParser {
    /// What the spec names, for messages: "method", "compressor", …
    public let kind: String
    /// The name, lowercased, with aliases resolved to the name they stand for.
    public let name: String
    /// The whole spec with surrounding whitespace removed.
    public let text: String
    /// What follows the first `:`, nil when there is no `:`.
    public let rest: String?
    /// The positional first item, when `read` was told the name takes one and it is there.
    public private(set) var positional: String?
    /// The options in the order written, shorthands expanded.
    public private(set) var options: [(key: String, value: String)] = []
    /// The keys `read` accepted for this name.
    public private(set) var allowed: [String] = []

    /// Whether a name takes a positional first value.
    public enum Positional: Sendable {
        /// No positional value: every item is an option.
        case none
        /// A first item without `=` (and not a shorthand) is the positional value.
        case optional
        /// As `optional`, and a missing one is an error: `needs WHAT first, as in 'EXAMPLE'`.
        case required(what: String, example: String)
    }

    /// Splits `text` at its first `:` and checks the name against `names`
    /// (and `aliases`, alias → name). Errors name the kind and list `names`.
    public init(_ text: String, kind: String, names: [String], aliases: [String: String] = [:]) throws {
        self.kind = kind
        self.text = text.trimmed
        let parts = self.text.pieces(":", maxSplits: 1)
        let head = parts[0]
        rest = parts.count == 2 ? parts[1] : nil
        let lowered = head.trimmed.lowercased()
        guard let known = names.contains(lowered) ? lowered : aliases[lowered] else {
            throw CSGDError("\(kind) '\(lowered)' is not known (expected one of: \(names.joined(separator: ", ")))")
        }
        name = known
    }

    /// Reads the items after the name: options among `allowed`, bare words
    /// of `shorthands` (word → `key=value`), and a positional first value as
    /// `positional` says. Rejects unknown, repeated and valueless options and
    /// empty items. An empty or blank `rest` holds no items.
    public mutating func read(options allowed: [String] = [], shorthands: [String: String] = [:],
                              positional: Positional = .none) throws {
        self.allowed = allowed
        var items = rest.map { $0.pieces(",").map(\.trimmed) } ?? []
        if items == [""] { items = [] }
        if items.contains("") { throw error("option list '\(rest!.trimmed)' has an empty item") }
        var takesPositional = true
        if case .none = positional { takesPositional = false }
        if takesPositional, let first = items.first, !first.unicodeScalars.contains("="), shorthands[first.lowercased()] == nil {
            self.positional = first
            items.removeFirst()
        }
        if case let .required(what, example) = positional, self.positional == nil {
            throw error("needs \(what) first, as in '\(example)'")
        }
        if !takesPositional, allowed.isEmpty, shorthands.isEmpty, let rest, !items.isEmpty {
            throw error("takes no options (got '\(rest.trimmed)')")
        }
        for item in items {
            let expanded = shorthands[item.lowercased()] ?? item
            let parts = expanded.pieces("=", maxSplits: 1).map(\.trimmed)
            let key = try known(parts[0])
            guard parts.count == 2, !parts[1].isEmpty else { throw error("option '\(key)' needs a value (\(key)=…)") }
            guard !options.contains(where: { $0.key == key }) else { throw error("option '\(key)' is given twice") }
            options.append((key, parts[1]))
        }
    }

    /// `written` as one of the allowed keys: exactly, else the one allowed
    /// key equal to it without regard to case.
    private func known(_ written: String) throws -> String {
        if allowed.contains(written) { return written }
        let matches = allowed.filter { $0.lowercased() == written.lowercased() }
        if matches.count == 1 { return matches[0] }
        let list = allowed.isEmpty ? "none" : allowed.joined(separator: ", ")
        throw error("option '\(written)' is not known (allowed: \(list))")
    }

    // MARK: Reading values

    /// The value given for `key`, as written (nil when not given).
    public func value(_ key: String) -> String? {
        options.first { $0.key == key }?.value
    }

    /// Whether `key` was given.
    public func has(_ key: String) -> Bool { value(key) != nil }

    /// The finite number given for `key`, checked against `range`.
    public func number(_ key: String, _ range: NumberRange = .any) throws -> Double? {
        try value(key).map { try number($0, as: key, range) }
    }

    /// `number(key, range)`, or `value` when `key` is not given.
    public func number(_ key: String, default value: Double, _ range: NumberRange = .any) throws -> Double {
        try number(key, range) ?? value
    }

    /// The integer given for `key`, checked against `range`.
    public func integer(_ key: String, _ range: IntegerRange = .any) throws -> Int? {
        try value(key).map { try integer($0, as: key, range) }
    }

    /// `integer(key, range)`, or `value` when `key` is not given.
    public func integer(_ key: String, default value: Int, _ range: IntegerRange = .any) throws -> Int {
        try integer(key, range) ?? value
    }

    /// The non-negative integer (such as a seed) given for `key`.
    public func unsigned(_ key: String) throws -> UInt64? {
        guard let s = value(key) else { return nil }
        guard let v = UInt64(s) else { throw error("\(key) = '\(s)' is not a non-negative integer") }
        return v
    }

    /// The value given for `key`, lowercased, which must be one of `values` (lowercase).
    public func choice(_ key: String, among values: [String]) throws -> String? {
        guard let s = value(key) else { return nil }
        guard values.contains(s.lowercased()) else {
            throw error("\(key) = '\(s)' is not one of: \(values.joined(separator: ", "))")
        }
        return s.lowercased()
    }

    /// The case of `values` whose raw value was given for `key` (without
    /// regard to case), or `value` when `key` is not given.
    public func choice<E: RawRepresentable>(_ key: String, default value: E, among values: [E]) throws -> E where E.RawValue == String {
        guard let s = try choice(key, among: values.map { $0.rawValue.lowercased() }) else { return value }
        return values.first { $0.rawValue.lowercased() == s }!
    }

    /// `choice(key, default:, among: E.allCases)`.
    public func choice<E: RawRepresentable & CaseIterable>(_ key: String, default value: E) throws -> E where E.RawValue == String {
        try choice(key, default: value, among: Array(E.allCases))
    }

    /// `on` (true) or `off` (false) given for `key`; nil when not given.
    public func onOff(_ key: String) throws -> Bool? {
        try choice(key, among: ["on", "off"]).map { $0 == "on" }
    }

    /// `text`, the value of `label` (an option or the positional value), as
    /// a finite number within `range`.
    public func number(_ text: String, as label: String, _ range: NumberRange = .any) throws -> Double {
        guard let v = Double(text), v.isFinite else { throw error("\(label) = '\(text)' is not a finite number") }
        guard range.contains(v) else { throw error("\(label) = \(text) \(range.requirement)") }
        return v
    }

    /// `text`, the value of `label`, as an integer within `range`.
    public func integer(_ text: String, as label: String, _ range: IntegerRange = .any) throws -> Int {
        guard let v = Int(text) else { throw error("\(label) = '\(text)' is not an integer") }
        guard range.contains(v) else { throw error("\(label) = \(text) \(range.requirement)") }
        return v
    }

    /// A `CSGDError` saying `message` about this spec: `KIND 'NAME': message`.
    public func error(_ message: String) -> CSGDError {
        CSGDError(Self.prefix(kind: kind, name: name) + message)
    }

    /// The start of every message about a spec: `KIND 'NAME': `.
    public static func prefix(kind: String, name: String) -> String { "\(kind) '\(name)': " }

    /// A number as a spec writes it: integers without a fraction, others as Swift prints them.
    public static func format(_ v: Double) -> String {
        if v.isFinite, v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}

/// Which finite numbers an option accepts: an optional lower and upper
/// bound, each inclusive or not. Its `requirement` is the phrase an error
/// ends with ("must be positive", "must be in [0, 1)").
public struct NumberRange: Sendable {
    public var lower: Double?
    public var lowerInclusive: Bool
    public var upper: Double?
    public var upperInclusive: Bool

    public init(lower: Double? = nil, lowerInclusive: Bool = true, upper: Double? = nil, upperInclusive: Bool = true) {
        self.lower = lower; self.lowerInclusive = lowerInclusive
        self.upper = upper; self.upperInclusive = upperInclusive
    }

    /// Every finite number.
    public static let any = NumberRange()
    /// x > 0.
    public static let positive = NumberRange(lower: 0, lowerInclusive: false)
    /// x ≥ 0.
    public static let nonNegative = NumberRange(lower: 0)

    public func contains(_ v: Double) -> Bool {
        if let lower, lowerInclusive ? !(v >= lower) : !(v > lower) { return false }
        if let upper, upperInclusive ? !(v <= upper) : !(v < upper) { return false }
        return true
    }

    /// "must be positive", "must be at least 2", "must be in (0, 1]", …
    public var requirement: String {
        let f = SpecParser.format
        switch (lower, upper) {
        case (nil, nil): return "must be finite"
        case let (l?, nil):
            if l == 0 { return lowerInclusive ? "must be non-negative" : "must be positive" }
            return lowerInclusive ? "must be at least \(f(l))" : "must be greater than \(f(l))"
        case let (nil, u?):
            return upperInclusive ? "must be at most \(f(u))" : "must be less than \(f(u))"
        case let (l?, u?):
            return "must be in \(lowerInclusive ? "[" : "(")\(f(l)), \(f(u))\(upperInclusive ? "]" : ")")"
        }
    }
}

/// Which integers an option accepts: a closed range, either end open-ended.
public struct IntegerRange: Sendable {
    public var lower: Int?
    public var upper: Int?

    public init(lower: Int? = nil, upper: Int? = nil) { self.lower = lower; self.upper = upper }

    /// Every integer.
    public static let any = IntegerRange()
    /// n ≥ 1.
    public static let positive = IntegerRange(lower: 1)
    /// n ≥ `lower`.
    public static func atLeast(_ lower: Int) -> IntegerRange { IntegerRange(lower: lower) }
    /// lower ≤ n ≤ upper.
    public static func between(_ lower: Int, _ upper: Int) -> IntegerRange { IntegerRange(lower: lower, upper: upper) }

    public func contains(_ v: Int) -> Bool { v >= (lower ?? .min) && v <= (upper ?? .max) }

    /// "must be at least 1", "must be in [2, 31]", …
    public var requirement: String {
        switch (lower, upper) {
        case (nil, nil): return "must be an integer"
        case let (l?, nil): return l == 1 ? "must be positive" : "must be at least \(l)"
        case let (nil, u?): return "must be at most \(u)"
        case let (l?, u?): return "must be in [\(l), \(u)]"
        }
    }
}

extension String {
    /// Without leading and trailing white space.
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespaces) }

    /// The text between `separator`s (empty pieces kept), split on Unicode
    /// scalars: a separator followed by a combining mark (`:` U+035E) still
    /// separates, where splitting on Characters would see one grapheme and
    /// read `topk:͞…` as the name `topk:͞…`.
    fileprivate func pieces(_ separator: Unicode.Scalar, maxSplits: Int = .max) -> [String] {
        unicodeScalars.split(separator: separator, maxSplits: maxSplits, omittingEmptySubsequences: false)
            .map { String(Substring($0)) }
    }
}
