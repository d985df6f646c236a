import Distributed
import Foundation
import XCTest
@testable import Reproduce

/// cnc's verdict rule on made-up logs: escape steps chosen per method and
/// dimension give each verdict.
final class CncTests: XCTestCase {
    /// A run whose loss is 0 until `escape` and −0.2 from there (nil: never).
    static func run(_ group: String, seed: Int, escape: Int?, steps: Int = 300) -> RunResult {
        let records = (0...steps).map { t in
            StepRecord(step: t, loss: escape.map { t >= $0 ? -0.2 : 0 } ?? 0, gradNorm: 0, stochasticGradNorm: 0, updateNorm: 0,
                       errorNorm: 0, lambdaMin: nil, isSOSP: nil, relativeError: nil, resets: 0, uploadBits: 0, downloadBits: 0, wallSeconds: 0)
        }
        let summary = RunOutcome(steps: steps, loss: records.last!.loss, wallSeconds: 1, uploadBitsPerWorker: 0, paramsSHA256: "")
        return RunResult(spec: RunSpec(arguments: [group, "\(seed)"], group: group, seed: seed), records: records, summary: summary)
    }

    func analyze(_ escape: (_ method: String, _ d: Int, _ seed: Int) -> Int?) throws -> ExperimentAnalysis {
        let options = ExperimentOptions(quick: true)
        var results: [RunResult] = []
        for d in Cnc.dimensions(options) {
            for m in Cnc.methods {
                for s in 1...8 { results.append(Self.run(Cnc.group(m, d: d), seed: s, escape: escape(m.key, d, s))) }
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-cnc-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let a = try Cnc().analyze(ExperimentData(results: results, failures: []), options: options, into: dir)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("escape-steps.svg").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("escape-vs-d.svg").path))
        XCTAssertEqual(a.verdict.rule, Cnc.rule)
        return a
    }

    func testDimensionFreeCncHolds() throws {
        // CNC: 70 + seed at every d; PGD: 13 more steps per decade of d.
        let a = try analyze { m, d, s in m == "CNC" ? 70 + s : 80 + s + Int(13 * log10(Double(d))) }
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertEqual(try XCTUnwrap(a.figures["CNC slope per decade"]), 0, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(a.figures["PGD slope per decade"]), 13, accuracy: 0.5)
        XCTAssertEqual(try XCTUnwrap(a.figures["CNC median escape d=1000"]), 74.5)
    }

    func testNoGrowthWithDIsPartly() throws {
        // CNC faster, but PGD does not slow down with d either.
        let a = try analyze { m, _, s in m == "CNC" ? 70 + s : 90 + s }
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
    }

    func testCncSlowerDiffers() throws {
        // CNC slower than PGD at d = 10, and never escaping runs count at the budget + 1.
        let a = try analyze { m, d, s in m == "CNC" ? (s > 6 ? nil : 100 + s) : 80 + s + Int(13 * log10(Double(d))) }
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
        XCTAssertTrue(a.tables[0].rows.contains(["CNC", "10", "6/8", "104", "102 … 301"]), "\(a.tables[0].rows)")
    }
}
