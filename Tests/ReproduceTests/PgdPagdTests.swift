import Distributed
import Foundation
import XCTest
@testable import Reproduce

/// pgd-pagd's verdict rule on made-up summaries: steps to the first ε-SOSP
/// following chosen power laws in ε give each verdict.
final class PgdPagdTests: XCTestCase {
    /// A finished run whose summary reports `step` as its first ε-SOSP step (nil: none).
    static func run(_ group: String, seed: Int, step: Double?) -> RunResult {
        var numbers: [String: Double] = ["steps": 3000]
        if let step { numbers["first_sosp_step"] = step }
        let summary = RunOutcome(steps: 3000, loss: 0, wallSeconds: 1, uploadBitsPerWorker: 0, paramsSHA256: "", numbers: numbers)
        return RunResult(spec: RunSpec(arguments: [group, "\(seed)"], group: group, seed: seed), records: [], summary: summary)
    }

    /// Runs of the quick form whose steps are c·ε^b (times a seed's small factor) per problem and method.
    func analyze(_ law: (_ problem: String, _ method: String) -> (c: Double, b: Double)?,
                 startCertified: Bool = false) throws -> ExperimentAnalysis {
        let options = ExperimentOptions(quick: true)
        var results: [RunResult] = []
        for p in PgdPagd.problems {
            for m in PgdPagd.methods {
                for eps in PgdPagd.epsilons(options) {
                    for s in 1...3 {
                        let g = PgdPagd.group(m, p, eps: eps)
                        guard let (c, b) = law(p.key, m.key) else { results.append(Self.run(g, seed: s, step: nil)); continue }
                        let jitter = 1 + 0.05 * Double(s - 2)
                        results.append(Self.run(g, seed: s, step: (c * pow(eps, b) * jitter).rounded()))
                    }
                }
            }
        }
        if startCertified { results.append(Self.run(PgdPagd.group(PgdPagd.methods[0], PgdPagd.problems[0], eps: 5e-3), seed: 9, step: 0)) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-pgdpagd-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let a = try PgdPagd().analyze(ExperimentData(results: results, failures: []), options: options, into: dir)
        for p in PgdPagd.problems { XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("steps-\(p.key).svg").path)) }
        XCTAssertEqual(a.verdict.rule, PgdPagd.rule)
        return a
    }

    func testTheoryExponentsHold() throws {
        // PGD ∝ ε^-2, PAGD ∝ ε^-1.75 with a smaller constant: shallower and faster.
        let a = try analyze { _, m in m == "PGD" ? (1e-2, -2) : (5e-3, -1.75) }
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertEqual(try XCTUnwrap(a.figures["saddle PGD slope"]), -2, accuracy: 0.01)
        XCTAssertEqual(try XCTUnwrap(a.figures["mf PAGD slope"]), -1.75, accuracy: 0.01)
        XCTAssertEqual(a.plots.count, 2)
        XCTAssertEqual(a.tables.count, 3)
    }

    func testSteeperThanTheBoundIsNotHolds() throws {
        // PGD's steps grow like ε^-2.5: beyond its bound on both problems.
        let a = try analyze { _, m in m == "PGD" ? (1e-4, -2.5) : (5e-3, -1.75) }
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✗ PGD within ε^−2 on saddle"), a.verdict.reason)
    }

    func testSeparationOnOneProblemOnlyIsPartly() throws {
        // On mf PAGD is steeper and slower than PGD; on the saddle it is shallower and faster.
        let a = try analyze { p, m in
            switch (p, m) {
            case ("saddle", "PGD"): return (100, -0.1)
            case ("saddle", _): return (80, -0.05)
            case (_, "PGD"): return (500, -0.07)
            default: return (300, -0.2)
            }
        }
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
    }

    func testAcceleratedSlowerEverywhereDiffers() throws {
        // What a problem with fixed saddle curvature can give: log-like growth, PAGD steeper and slower.
        let a = try analyze { _, m in m == "PGD" ? (150, -0.07) : (130, -0.18) }
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✓ PGD within ε^−2"), "the bounds themselves are met: \(a.verdict.reason)")
    }

    func testNoDataDiffersAndCertifiedStartsAreLeftOut() throws {
        let none = try analyze { p, m in p == "mf" && m == "PAGD" ? nil : (1e-2, -2) }
        XCTAssertEqual(none.verdict.kind, .differs, none.verdict.reason)
        let certified = try analyze({ _, m in m == "PGD" ? (1e-2, -2) : (5e-3, -1.75) }, startCertified: true)
        XCTAssertEqual(certified.verdict.kind, .holds, certified.verdict.reason)
        XCTAssertTrue(certified.notes.contains { $0.hasPrefix("1 runs were certified at their start") }, "\(certified.notes)")
    }
}
