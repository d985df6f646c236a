import Distributed
import Foundation
import XCTest
@testable import Reproduce

/// table1-rates: its grid and runs, and its verdict rule on made-up runs
/// whose steps to an ε-SOSP follow a chosen power law.
final class Table1RatesTests: XCTestCase {
    typealias Config = Table1Rates.Config

    func testRunsFollowTheTheoryAndTable1sMu() throws {
        let full = ExperimentOptions()
        let configs = try Table1Rates.configs(full)
        XCTAssertEqual(configs.count, 2 * 3 * (5 + 4))
        for c in configs where c.compressor == .randomk {
            // The full grid puts K = d·ε^{3/4} on whole numbers.
            XCTAssertEqual(Double(c.k), Double(c.d) * pow(c.eps, 0.75), accuracy: 1e-6, c.group)
        }
        let epsSweep = configs.filter { $0.sweep == .eps && $0.problem.key == "saddle" && $0.compressor == .randomk }
        XCTAssertEqual(epsSweep.map(\.k), [6, 5, 4, 3, 2])
        let dSweep = configs.filter { $0.sweep == .dim && $0.problem.key == "saddle" && $0.compressor == .topk }
        XCTAssertEqual(dSweep.map(\.k), [4, 11, 32, 91], "TopK K = d^{3/2}·ε^{3/4}")
        // Every run is alg1:theory, stops at its first ε-SOSP, certifies from step 0.
        let runs = try Table1Rates().runs(full)
        XCTAssertEqual(runs.count, configs.count * 5)
        for r in runs {
            XCTAssertTrue(r.arguments.contains("--stop-at-sosp"))
            XCTAssertEqual(r.arguments[r.arguments.firstIndex(of: "--method")! + 1], "alg1:theory")
        }
        let quick = try Table1Rates().runs(ExperimentOptions(quick: true))
        XCTAssertEqual(quick.count, 2 * 3 * 9)
        // The saddle start is not an ε-SOSP at any ε of either form: λ_min = −4 < −√(ρε).
        for c in configs + (try Table1Rates.configs(ExperimentOptions(quick: true))) {
            XCTAssertLessThan(c.problem.lambdaStart, -(c.problem.rho * c.eps).squareRoot(), c.group)
        }
    }

    func testTheoryStepSizeMatchesTheCalculator() throws {
        // csgd theory --eps 0.3 --L 44 --rho 24 --sigma 0 --ell 44 --d 10 --mu 1: η = 0.001386 (docs/optimize.md).
        let p = Table1Rates.problems[0]
        XCTAssertEqual(try Table1Rates.eta(p, .none, d: 10, eps: 0.3, k: 10), 0.0013859925480370597, accuracy: 1e-12)
    }

    func testLogAllowance() {
        XCTAssertEqual(Table1Rates.logAllowance([16, 128]), log(log(128.0) / log(16.0)) / log(8.0), accuracy: 1e-12)
        XCTAssertEqual(Table1Rates.logAllowance([16, 32, 64, 128]), 0.269, accuracy: 0.001)
    }

    /// Made-up runs of the full grid: steps = `steps(config, seed)` (nil: never
    /// reached), bits = steps × the message's bits; λ_min at the start −4, or
    /// a start certified an ε-SOSP when `startIsSOSP`.
    func analyze(startIsSOSP: Bool = false, _ steps: (Config, Int) -> Double?) throws -> ExperimentAnalysis {
        let options = ExperimentOptions()
        let configs = try Table1Rates.configs(options)
        let results = try Table1Rates().runs(options).map { spec -> RunResult in
            let c = configs.first { $0.group == spec.group }!
            let n = steps(c, spec.seed).map { $0.rounded() }
            let start = StepRecord(step: 0, loss: 0, gradNorm: 0, stochasticGradNorm: 0, updateNorm: 0, errorNorm: 0,
                                   lambdaMin: startIsSOSP ? 1 : c.problem.lambdaStart, isSOSP: startIsSOSP, relativeError: 1, resets: 0,
                                   uploadBits: 0, downloadBits: 0, wallSeconds: 0)
            var numbers: [String: Double] = [:]
            if let n { numbers["first_sosp_step"] = startIsSOSP ? 0 : n }
            let bits = Int((n ?? Double(c.budget)) * c.compressor.bitsPerStep(d: c.d, k: c.k))
            return RunResult(spec: spec, records: [start],
                             summary: RunOutcome(steps: Int(n ?? Double(c.budget)), loss: 0, wallSeconds: 0, uploadBitsPerWorker: bits,
                                                 paramsSHA256: "", numbers: numbers))
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-table1-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let a = try Table1Rates().analyze(ExperimentData(results: results, failures: []), options: options, into: dir)
        XCTAssertEqual(a.plots.count, 6)
        for p in a.plots { XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(p.file).path), p.file) }
        return a
    }

    /// Steps ≈ 2.5/η with a few percent of seed-to-seed spread: as the runs behave.
    static func likeTheRuns(_ c: Config, _ seed: Int) -> Double { 2.5 / c.eta * (1 + 0.04 * Double(seed - 3)) }

    func testStepsProportionalToOneOverEtaHold() throws {
        let a = try analyze(Self.likeTheRuns)
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertEqual(try XCTUnwrap(a.figures["saddle none steps exponent in eps"]), -2, accuracy: 0.01)
        XCTAssertEqual(try XCTUnwrap(a.figures["phase randomk upload bits exponent in d"]), 1, accuracy: 0.01)
    }

    /// Steps growing like d² for the compressors: the d-sweeps are steeper than the bounds.
    func testStepsGrowingWithDimensionArePartly() throws {
        let a = try analyze { c, seed in Self.likeTheRuns(c, seed) * (c.compressor == .none ? 1 : pow(Double(c.d) / 16, 2)) }
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✗ saddle randomk steps vs d"), a.verdict.reason)
    }

    /// Steps ∝ ε^−6·d²: every rate is steeper than its bound.
    func testMuchSteeperRatesDiffer() throws {
        let a = try analyze { c, seed in 1e-3 * pow(c.eps, -6) * pow(Double(c.d), 2) * (1 + 0.04 * Double(seed - 3)) }
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
    }

    /// A start already certified an ε-SOSP makes the measurement void.
    func testStartAlreadyAnSOSPDiffers() throws {
        let a = try analyze(startIsSOSP: true, Self.likeTheRuns)
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✗ saddle: the start is not an ε-SOSP"), a.verdict.reason)
    }

    /// Runs that never reach an ε-SOSP are counted, not silently dropped.
    func testCensoredRunsAreNotHolds() throws {
        let a = try analyze { c, seed in c.compressor == .topk && c.eps < 0.03 && seed == 1 ? nil : Self.likeTheRuns(c, seed) }
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✗ saddle: every run reaches an ε-SOSP"), a.verdict.reason)
    }
}
