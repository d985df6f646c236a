import CSGDCore
import XCTest

/// The shared `NAME[:item,…]` parser: names and aliases, items (options,
/// shorthands, a positional value), each error and each accessor.
final class SpecParserTests: XCTestCase {
    enum Shape: String, CaseIterable { case round, square }

    func parser(_ text: String, options: [String] = [], shorthands: [String: String] = [:],
                positional: SpecParser.Positional = .none) throws -> SpecParser {
        var p = try SpecParser(text, kind: "thing", names: ["alpha", "beta-gamma"], aliases: ["b": "beta-gamma"])
        try p.read(options: options, shorthands: shorthands, positional: positional)
        return p
    }

    func assertError(_ expected: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            XCTAssertEqual((e as? CSGDError)?.message, expected, file: file, line: line)
        }
    }

    func testNamesAliasesCaseAndSpaces() throws {
        let p = try parser("  Beta-Gamma : x = 1 , y=2 ", options: ["x", "y"])
        XCTAssertEqual(p.kind, "thing")
        XCTAssertEqual(p.name, "beta-gamma")
        XCTAssertEqual(p.text, "Beta-Gamma : x = 1 , y=2")
        XCTAssertEqual(p.options.map(\.key), ["x", "y"], "in the order written")
        XCTAssertEqual(p.options.map(\.value), ["1", "2"])
        XCTAssertEqual(try parser("B").name, "beta-gamma")
        XCTAssertEqual(try parser("alpha").rest, nil)
        XCTAssertEqual(try parser("alpha:").options.count, 0, "an empty option list holds no items")
        assertError("thing 'delta' is not known (expected one of: alpha, beta-gamma)") { _ = try self.parser("delta:x=1") }
        assertError("thing '' is not known (expected one of: alpha, beta-gamma)") { _ = try self.parser("") }
    }

    func testEachItemError() {
        assertError("thing 'alpha': option 'z' is not known (allowed: x, y)") { _ = try self.parser("alpha:x=1,z=2", options: ["x", "y"]) }
        assertError("thing 'alpha': option 'z' is not known (allowed: none)") {
            _ = try self.parser("alpha:5,z=2", positional: .required(what: "N", example: "alpha:5"))
        }
        assertError("thing 'alpha': takes no options (got 'x=1')") { _ = try self.parser("alpha:x=1") }
        assertError("thing 'alpha': option 'x' is given twice") { _ = try self.parser("alpha:x=1,y=2,x=1", options: ["x", "y"]) }
        assertError("thing 'alpha': option 'x' needs a value (x=…)") { _ = try self.parser("alpha:x", options: ["x"]) }
        assertError("thing 'alpha': option 'x' needs a value (x=…)") { _ = try self.parser("alpha:x= ", options: ["x"]) }
        assertError("thing 'alpha': option list 'x=1,,y=2' has an empty item") { _ = try self.parser("alpha:x=1,,y=2", options: ["x", "y"]) }
        assertError("thing 'alpha': option list 'x=1,' has an empty item") { _ = try self.parser("alpha:x=1,", options: ["x"]) }
        assertError("thing 'alpha': needs N first, as in 'alpha:5'") {
            _ = try self.parser("alpha:x=1", options: ["x"], positional: .required(what: "N", example: "alpha:5"))
        }
    }

    /// `:`, `,` and `=` separate even when a combining mark follows them
    /// (found by fuzzing: split on Characters, `alpha:\u{35E}…` was the
    /// unknown name `alpha:͞…`, and `x=\u{301}1` the unknown option `x=́1`).
    func testSeparatorsBeforeCombiningMarksStillSeparate() throws {
        let p = try parser("alpha:x=\u{301}1,y=\u{35E}", options: ["x", "y"])
        XCTAssertEqual(p.name, "alpha")
        XCTAssertEqual(p.value("x"), "\u{301}1")
        XCTAssertEqual(p.value("y"), "\u{35E}")
        XCTAssertEqual(try parser("alpha:\u{35E}", positional: .optional).positional, "\u{35E}")
        assertError("thing 'alpha': option '\u{35E}y' is not known (allowed: x, y)") {
            _ = try self.parser("alpha:x=1,\u{35E}y=2", options: ["x", "y"])
        }
    }

    func testKeysMatchExactlyThenWithoutCase() throws {
        let p = try parser("alpha:r=1,R=2,Long=3", options: ["r", "R", "long"])
        XCTAssertEqual(p.value("r"), "1")
        XCTAssertEqual(p.value("R"), "2")
        XCTAssertEqual(p.value("long"), "3")
        assertError("thing 'alpha': option 'long' is given twice") { _ = try self.parser("alpha:long=1,LONG=2", options: ["long"]) }
    }

    func testPositionalValuesAndShorthands() throws {
        let p = try parser("alpha:784-10,x=2", options: ["x"], positional: .required(what: "widths", example: "alpha:1-2"))
        XCTAssertEqual(p.positional, "784-10")
        XCTAssertEqual(p.value("x"), "2")
        XCTAssertNil(try parser("alpha:x=2", options: ["x"], positional: .optional).positional)
        XCTAssertEqual(try parser("alpha:0.5", positional: .optional).positional, "0.5")
        // A bare word the kind defines stands for key=value, even first.
        let s = try parser("alpha:Fixed,x=1", options: ["coding", "x"], shorthands: ["fixed": "coding=fixed"],
                           positional: .optional)
        XCTAssertNil(s.positional)
        XCTAssertEqual(s.value("coding"), "fixed")
        assertError("thing 'alpha': option 'coding' is given twice") {
            _ = try self.parser("alpha:fixed,coding=elias", options: ["coding"], shorthands: ["fixed": "coding=fixed"])
        }
    }

    func testNumbersAndTheirRanges() throws {
        let p = try parser("alpha:a=0.25,b=-3,c=1e3,n=nan,w=abc,z=0", options: ["a", "b", "c", "n", "w", "z"])
        XCTAssertEqual(try p.number("a"), 0.25)
        XCTAssertEqual(try p.number("c", .positive), 1000)
        XCTAssertNil(try p.number("missing"))
        XCTAssertEqual(try p.number("missing", default: 7), 7)
        XCTAssertTrue(p.has("a"))
        XCTAssertFalse(p.has("missing"))
        assertError("thing 'alpha': n = 'nan' is not a finite number") { _ = try p.number("n") }
        assertError("thing 'alpha': w = 'abc' is not a finite number") { _ = try p.number("w") }
        assertError("thing 'alpha': b = -3 must be positive") { _ = try p.number("b", .positive) }
        assertError("thing 'alpha': z = 0 must be positive") { _ = try p.number("z", .positive) }
        XCTAssertEqual(try p.number("z", .nonNegative), 0)
        assertError("thing 'alpha': b = -3 must be non-negative") { _ = try p.number("b", .nonNegative) }
        assertError("thing 'alpha': a = 0.25 must be at least 0.5") { _ = try p.number("a", NumberRange(lower: 0.5)) }
        assertError("thing 'alpha': a = 0.25 must be greater than 0.5") { _ = try p.number("a", NumberRange(lower: 0.5, lowerInclusive: false)) }
        assertError("thing 'alpha': c = 1e3 must be at most 10") { _ = try p.number("c", NumberRange(upper: 10)) }
        assertError("thing 'alpha': c = 1e3 must be less than 10") { _ = try p.number("c", NumberRange(upper: 10, upperInclusive: false)) }
        assertError("thing 'alpha': c = 1e3 must be in [0, 1)") { _ = try p.number("c", NumberRange(lower: 0, upper: 1, upperInclusive: false)) }
        assertError("thing 'alpha': z = 0 must be in (0, 1]") { _ = try p.number("z", NumberRange(lower: 0, lowerInclusive: false, upper: 1)) }
        XCTAssertEqual(try p.number("2.5", as: "K", NumberRange(lower: 0, upper: 3)), 2.5)
        assertError("thing 'alpha': K = 'x' is not a finite number") { _ = try p.number("x", as: "K") }
    }

    func testIntegersAndTheirRanges() throws {
        let p = try parser("alpha:n=12,m=2.5,k=0,s=-1,big=99999999999999999999", options: ["n", "m", "k", "s", "big"])
        XCTAssertEqual(try p.integer("n", .positive), 12)
        XCTAssertEqual(try p.integer("missing", default: 3, .positive), 3)
        XCTAssertNil(try p.integer("missing"))
        assertError("thing 'alpha': m = '2.5' is not an integer") { _ = try p.integer("m") }
        assertError("thing 'alpha': big = '99999999999999999999' is not an integer") { _ = try p.integer("big") }
        assertError("thing 'alpha': k = 0 must be positive") { _ = try p.integer("k", .positive) }
        assertError("thing 'alpha': k = 0 must be at least 2") { _ = try p.integer("k", .atLeast(2)) }
        assertError("thing 'alpha': n = 12 must be in [2, 6]") { _ = try p.integer("n", .between(2, 6)) }
        assertError("thing 'alpha': n = 12 must be at most 6") { _ = try p.integer("n", IntegerRange(upper: 6)) }
        XCTAssertEqual(try p.integer("-4", as: "depth"), -4)
        XCTAssertEqual(try p.unsigned("n"), 12)
        XCTAssertNil(try p.unsigned("missing"))
        assertError("thing 'alpha': s = '-1' is not a non-negative integer") { _ = try p.unsigned("s") }
    }

    func testChoicesAndOnOff() throws {
        let p = try parser("alpha:shape=SQUARE,mode=Deferred,flag=on,off=off,bad=maybe", options: ["shape", "mode", "flag", "off", "bad"])
        XCTAssertEqual(try p.choice("shape", default: Shape.round), .square)
        XCTAssertEqual(try p.choice("missing", default: Shape.round), .round)
        XCTAssertEqual(try p.choice("mode", among: ["eager", "deferred"]), "deferred")
        XCTAssertEqual(try p.choice("shape", default: Shape.round, among: [.square]), .square)
        assertError("thing 'alpha': shape = 'SQUARE' is not one of: round") { _ = try p.choice("shape", default: Shape.round, among: [.round]) }
        assertError("thing 'alpha': mode = 'Deferred' is not one of: eager, later") { _ = try p.choice("mode", among: ["eager", "later"]) }
        XCTAssertEqual(try p.onOff("flag"), true)
        XCTAssertEqual(try p.onOff("off"), false)
        XCTAssertNil(try p.onOff("missing"))
        assertError("thing 'alpha': bad = 'maybe' is not one of: on, off") { _ = try p.onOff("bad") }
    }

    func testKindsOwnMessagesShareThePrefix() throws {
        let p = try parser("b")
        XCTAssertEqual(p.error("needs more").message, "thing 'beta-gamma': needs more")
        XCTAssertEqual(SpecParser.prefix(kind: "model", name: "mlp"), "model 'mlp': ")
        XCTAssertEqual(SpecParser.format(3), "3")
        XCTAssertEqual(SpecParser.format(-0.5), "-0.5")
        XCTAssertEqual(SpecParser.format(1e-5), "1e-05")
        XCTAssertTrue(NumberRange.positive.contains(1e-300))
        XCTAssertFalse(NumberRange.positive.contains(0))
        XCTAssertFalse(NumberRange.nonNegative.contains(-.leastNonzeroMagnitude))
        XCTAssertTrue(IntegerRange.between(2, 31).contains(31))
        XCTAssertFalse(IntegerRange.between(2, 31).contains(32))
    }
}
