import CSGDCore
import Optimization
import XCTest

/// Kalan et al.'s ensemble (Appendix, Algorithm 1): the `--ensemble` spec,
/// the trials' seeds and the selection rule.
final class EnsembleTests: XCTestCase {
    func assertError(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Ensemble.parse(text), text, file: file, line: line) { e in
            XCTAssertEqual((e as? CSGDError)?.message, expected, file: file, line: line)
        }
    }

    func testSpec() throws {
        XCTAssertEqual(try Ensemble.parse("5,eps=1e-6"), Ensemble(trials: 5, epsilon: 1e-6, ball: .absolute))
        XCTAssertEqual(try Ensemble.parse(" 3 , eps=0.25 , ball=Relative"), Ensemble(trials: 3, epsilon: 0.25, ball: .relative))
        let e = Ensemble(trials: 7, epsilon: 1e-6, ball: .relative)
        XCTAssertEqual(try Ensemble.parse(e.description), e, "the canonical spelling parses back")
        assertError("eps=1", "option '--ensemble': needs the trial count L first, as in '5,eps=1e-6'")
        assertError("0,eps=1", "option '--ensemble': L = 0 must be positive")
        assertError("2.5,eps=1", "option '--ensemble': L = '2.5' is not an integer")
        assertError("3", "option '--ensemble': needs eps=ε (Kalan et al.'s tolerance: results agree within 2√ε)")
        assertError("3,eps=0", "option '--ensemble': eps = 0 must be positive")
        assertError("3,eps=1,foo=2", "option '--ensemble': option 'foo' is not known (allowed: eps, ball)")
        assertError("3,eps=1,ball=x", "option '--ensemble': ball = 'x' is not one of: absolute, relative")
    }

    func testTrialSeeds() {
        XCTAssertEqual(Ensemble.trialSeed(base: 42, trial: 1), 42, "trial 1 is the plain run")
        let seeds = (1...50).map { Ensemble.trialSeed(base: 7, trial: $0) }
        XCTAssertEqual(Set(seeds).count, 50, "distinct seeds")
        XCTAssertEqual(seeds, (1...50).map { Ensemble.trialSeed(base: 7, trial: $0) }, "a pure function")
        XCTAssertNotEqual(Ensemble.trialSeed(base: 7, trial: 2), Ensemble.trialSeed(base: 8, trial: 2))
    }

    /// Line 4 counts the result itself; L/2 of 5 is 2.5, so 3 are needed, of 4 exactly 2.
    func testFirstResultWithHalfInItsBall() {
        let e = Ensemble(trials: 5, epsilon: 0.01)   // radius 0.2
        XCTAssertEqual(e.radius(around: [3, 4]), 0.2, accuracy: 1e-12)
        // Results 0 and 4 are far apart; 1, 2, 3 lie within 0.2 of each other.
        let results: [[Float]] = [[5, 0], [0, 0], [0.15, 0], [0, 0.15], [-5, 0]]
        let s = e.select(results)
        XCTAssertEqual(s.chosen, 1, "the first result with 3 of 5 in its ball")
        XCTAssertEqual(s.agreeing, 3)
        XCTAssertTrue(s.consensus)
        // 2 of 4 is L/2: enough.
        let four = Ensemble(trials: 4, epsilon: 0.01).select([[9, 9], [1, 1], [1.1, 1], [-9, 9]])
        XCTAssertEqual(four.chosen, 1)
        XCTAssertTrue(four.consensus)
        // The ball is closed: a result at exactly 2√ε counts.
        let edge = Ensemble(trials: 2, epsilon: 0.25).select([[0], [1]])
        XCTAssertEqual(edge.agreeing, 2)
    }

    func testNoConsensusNamesTheBestSupportedResult() {
        let e = Ensemble(trials: 5, epsilon: 0.01)
        let s = e.select([[0, 0], [10, 0], [10.1, 0], [20, 0], [30, 0]])
        XCTAssertFalse(s.consensus)
        XCTAssertEqual(s.chosen, 1, "2 of 5 agree with result 1, the first with the most")
        XCTAssertEqual(s.agreeing, 2)
    }

    func testDivergedResultsAgreeWithNone() {
        let nan = [Float](repeating: .nan, count: 2)
        let s = Ensemble(trials: 3, epsilon: 1).select([nan, [0, 0], [0.5, 0]])
        XCTAssertEqual(s.chosen, 1)
        XCTAssertEqual(s.agreeing, 2)
        XCTAssertTrue(s.consensus)
        let none = Ensemble(trials: 3, epsilon: 1).select([nan, nan, [0, 0]])
        XCTAssertEqual(none.chosen, 2)
        XCTAssertFalse(none.consensus)
    }

    /// ball=relative scales the radius by the result's norm: ε is then a squared relative tolerance.
    func testRelativeBall() {
        let e = Ensemble(trials: 3, epsilon: 1e-6, ball: .relative)
        XCTAssertEqual(e.radius(around: [300, 400]), 2e-3 * 500, accuracy: 1e-9)
        let w: [Float] = [300, 400]
        let s = e.select([w, [300.5, 400], [300, 402]])   // 0.5 < 1 agrees, 2 > 1 does not
        XCTAssertEqual(s.chosen, 0)
        XCTAssertEqual(s.agreeing, 2)
        XCTAssertTrue(s.consensus)
    }
}
