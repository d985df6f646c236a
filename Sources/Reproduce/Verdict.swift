/// How a reproduced claim compares with the paper's: computed from the data
/// by a rule the report states beside it.
public enum VerdictKind: String, Codable, Sendable, CaseIterable {
    /// Every part of the claim is met by our numbers.
    case holds
    /// Some parts are met and some are not.
    case partly
    /// The claim is not met.
    case differs
    /// The experiment has no data to judge (for example a measurement that
    /// needs root was not made).
    case notRun = "not run"
}

/// A verdict with the rule that produced it and the reason in numbers.
public struct Verdict: Codable, Equatable, Sendable {
    public var kind: VerdictKind
    /// The rule, stated once for the experiment (the same text whatever the data).
    public var rule: String
    /// Why this verdict, with the figures that decided it.
    public var reason: String

    public init(kind: VerdictKind, rule: String, reason: String) {
        self.kind = kind; self.rule = rule; self.reason = reason
    }

    /// One check that a rule combines: what is tested and whether it passed.
    public struct Check: Codable, Equatable, Sendable {
        public var name: String
        public var passed: Bool
        public var detail: String
        public init(_ name: String, passed: Bool, detail: String) {
            self.name = name; self.passed = passed; self.detail = detail
        }
    }

    /// The usual rule: *holds* when every check passes, *differs* when none
    /// does (or when a check named in `essential` fails), else *partly*. The
    /// reason lists each check with its figures.
    public static func combining(_ checks: [Check], rule: String, essential: Set<String> = []) -> Verdict {
        let passed = checks.filter(\.passed).count
        let essentialFailed = checks.contains { essential.contains($0.name) && !$0.passed }
        let kind: VerdictKind
        if checks.isEmpty {
            kind = .notRun
        } else if passed == checks.count {
            kind = .holds
        } else if passed == 0 || essentialFailed {
            kind = .differs
        } else {
            kind = .partly
        }
        let reason = checks.map { "\($0.passed ? "✓" : "✗") \($0.name): \($0.detail)" }.joined(separator: "; ")
        return Verdict(kind: kind, rule: rule, reason: reason)
    }
}
