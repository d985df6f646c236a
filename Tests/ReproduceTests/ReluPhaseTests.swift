import Distributed
import Foundation
import XCTest
@testable import Reproduce

/// relu-phase's boundary interpolation and its verdict rule on made-up runs.
final class ReluPhaseTests: XCTestCase {
    func testBoundaryInterpolatesTheHalfCrossing() {
        XCTAssertEqual(try XCTUnwrap(ReluPhase.boundary(ns: [10, 20, 30], p: [0, 0.25, 0.75])), 25, accuracy: 1e-12)
        XCTAssertEqual(ReluPhase.boundary(ns: [10, 20], p: [0.6, 1]), 10)
        XCTAssertNil(ReluPhase.boundary(ns: [10, 20], p: [0, 0.4]))
    }

    /// Runs of the quick grid where a trial succeeds when `ok(method, d, n, seed)`;
    /// `consensus(method, d, n, seed)` is whether its ensemble agreed (default: always).
    func analyze(_ ok: (String, Int, Int, Int) -> Bool,
                 consensus: (String, Int, Int, Int) -> Bool = { _, _, _, _ in true }) throws -> ExperimentAnalysis {
        let options = ExperimentOptions(quick: true)
        let results = try ReluPhase().runs(options).map { spec -> RunResult in
            let parts = spec.group.split(separator: " ")
            let method = parts.dropLast(2).joined(separator: " ")
            let d = Int(parts[parts.count - 2].dropFirst(2))!, n = Int(parts[parts.count - 1].dropFirst(2))!
            let err = ok(method, d, n, spec.seed) ? 1e-6 : 0.5
            let agreed: Double = consensus(method, d, n, spec.seed) ? 1 : 0
            return RunResult(spec: spec, records: [],
                             summary: RunOutcome(steps: 2000, loss: 0, wallSeconds: 0, uploadBitsPerWorker: 0, paramsSHA256: "",
                                                 relativeError: err, numbers: ["ensemble_consensus": agreed]))
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-phase-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return try ReluPhase().analyze(ExperimentData(results: results, failures: []), options: options, into: dir)
    }

    func testLinearBoundaryHolds() throws {
        let a = try analyze { _, d, n, _ in n >= 2 * d }
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertEqual(try XCTUnwrap(a.figures["boundary slope"]), 2, accuracy: 0.35)
    }

    func testQuantizationNeedingMoreSamplesIsPartly() throws {
        let a = try analyze { m, d, n, _ in n >= (m == "SGD" ? 2 : 3) * d }
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
    }

    func testEveryRunIsAnEnsembleOfThePapersAlgorithm() throws {
        for (quick, trials) in [(true, 3), (false, 5)] {
            for spec in try ReluPhase().runs(ExperimentOptions(quick: quick)) {
                let i = try XCTUnwrap(spec.arguments.firstIndex(of: "--ensemble"))
                XCTAssertEqual(spec.arguments[i + 1], "\(trials),eps=1e-06,ball=relative")
            }
        }
    }

    /// A small error without the ensemble's consensus is not a success:
    /// Algorithm 1 returns no estimate then.
    func testNoConsensusIsAFailure() throws {
        let a = try analyze({ _, d, n, _ in n >= 2 * d }, consensus: { _, _, _, _ in false })
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
    }

    func testNoTransitionDiffers() throws {
        let a = try analyze { _, _, _, seed in seed == 1 }
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
    }
}
