import Distributed
import Foundation
import XCTest
@testable import Reproduce

/// relu-rate's verdict rule on made-up logs: each verdict comes out of the
/// data made to give it.
final class ReluRateTests: XCTestCase {
    /// A finished run whose relative error is `error(step)`, logged every 10 steps.
    static func run(_ group: String, seed: Int, steps: Int = 600, error: (Int) -> Double) -> RunResult {
        let records = stride(from: 0, through: steps, by: 10).map { t in
            StepRecord(step: t, loss: 0, gradNorm: 0, stochasticGradNorm: 0, updateNorm: 0, errorNorm: 0, lambdaMin: nil,
                       isSOSP: nil, relativeError: error(t), resets: 0, uploadBits: 0, downloadBits: 0, wallSeconds: 0)
        }
        let summary = RunOutcome(steps: steps, loss: 0, wallSeconds: 1, uploadBitsPerWorker: 0, paramsSHA256: "",
                                 relativeError: error(steps))
        return RunResult(spec: RunSpec(arguments: [group, "\(seed)"], group: group, seed: seed), records: records, summary: summary)
    }

    func verdict(sgd: @escaping (Int) -> Double, qsgd: @escaping (Int) -> Double) throws -> ExperimentAnalysis {
        let data = ExperimentData(results: (1...3).flatMap { s in
            [Self.run("SGD", seed: s, error: sgd), Self.run("QSGD b=7", seed: s, error: qsgd)]
        }, failures: [])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-relu-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let a = try ReluRate().analyze(data, options: ExperimentOptions(quick: true), into: dir)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("relative-error.svg").path))
        return a
    }

    func testLinearAndComparableHolds() throws {
        let a = try verdict(sgd: { pow(0.9, Double($0)) }, qsgd: { pow(0.92, Double($0)) })
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertEqual(try XCTUnwrap(a.figures["SGD slope"]), log10(0.9), accuracy: 1e-9)
    }

    func testSlowQuantizedRateIsPartly() throws {
        let a = try verdict(sgd: { pow(0.9, Double($0)) }, qsgd: { pow(0.99, Double($0)) })
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
    }

    func testNoConvergenceDiffers() throws {
        let a = try verdict(sgd: { _ in 0.3 }, qsgd: { t in 0.3 + 0.01 * sin(Double(t)) })
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
    }
}
