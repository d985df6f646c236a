import XCTest
@testable import Reproduce

/// The verdict rules give each verdict on data made to give it.
final class VerdictTests: XCTestCase {
    func testCombiningGivesEachVerdict() {
        let pass = Verdict.Check("a", passed: true, detail: "1 < 2")
        let fail = Verdict.Check("b", passed: false, detail: "3 > 2")
        XCTAssertEqual(Verdict.combining([pass, pass], rule: "r").kind, .holds)
        XCTAssertEqual(Verdict.combining([pass, fail], rule: "r").kind, .partly)
        XCTAssertEqual(Verdict.combining([fail, fail], rule: "r").kind, .differs)
        XCTAssertEqual(Verdict.combining([], rule: "r").kind, .notRun)
        XCTAssertEqual(Verdict.combining([pass, fail], rule: "r", essential: ["b"]).kind, .differs)
        let v = Verdict.combining([pass, fail], rule: "the rule")
        XCTAssertEqual(v.rule, "the rule")
        XCTAssertEqual(v.reason, "✓ a: 1 < 2; ✗ b: 3 > 2")
    }
}
