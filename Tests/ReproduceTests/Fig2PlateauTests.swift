import Distributed
import Foundation
import XCTest
@testable import Reproduce

/// fig2-plateau's verdict rule on made-up logs: a run's loss drops below the
/// plateau threshold at a chosen step; each verdict comes out of the data
/// made to give it.
final class Fig2PlateauTests: XCTestCase {
    /// A run of `steps` (quick form: 2000) logged every 50 steps, on the
    /// plateau (loss 0.124) until `escape`, then at 0.08; λ_min −0.05 on the
    /// plateau at the certified steps of seed 1, 0.01 after.
    static func run(_ group: String, seed: Int, escape: Int?) -> RunResult {
        let records = stride(from: 0, through: 2000, by: 50).map { t -> StepRecord in
            let escaped = escape.map { t >= $0 } ?? false
            let loss = t == 0 ? 0.18 : (escaped ? 0.08 : 0.124)
            let lambda: Double? = seed == 1 && t % 500 == 0 ? (escaped ? 0.01 : -0.05) : nil
            return StepRecord(step: t, loss: loss, gradNorm: 0.003, stochasticGradNorm: 0.007, updateNorm: 0, errorNorm: 0,
                              lambdaMin: lambda, isSOSP: nil, relativeError: nil, resets: 0, uploadBits: 0, downloadBits: 0,
                              wallSeconds: 0)
        }
        return RunResult(spec: RunSpec(arguments: [group, "\(seed)"], group: group, seed: seed), records: records,
                         summary: RunOutcome(steps: 2000, loss: records.last!.loss, wallSeconds: 1, uploadBitsPerWorker: 0, paramsSHA256: ""))
    }

    /// Escape steps by compressor label: (without noise, with noise), three seeds each.
    func analyze(_ escapes: [String: ([Int?], [Int?])]) throws -> ExperimentAnalysis {
        var results: [RunResult] = []
        for (label, (plain, noisy)) in escapes {
            for (i, e) in plain.enumerated() { results.append(Self.run(label, seed: i + 1, escape: e)) }
            for (i, e) in noisy.enumerated() { results.append(Self.run("\(label), σ = 0.01", seed: i + 1, escape: e)) }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-fig2-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let a = try Fig2Plateau().analyze(ExperimentData(results: results, failures: []), options: ExperimentOptions(quick: true), into: dir)
        XCTAssertEqual(a.plots.count, 4)
        for p in a.plots { XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(p.file).path), p.file) }
        return a
    }

    func testNoiseShortensEveryPlateauHolds() throws {
        let a = try analyze([
            "no compression": ([1500, nil, 1900], [1000, 1100, 1200]),
            "topk 0.1%": ([1600, 1700, nil], [900, 1000, 1300]),
            "randomk 0.1%": ([nil, nil, nil], [1500, 1600, nil]),
        ])
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertEqual(a.figures["median escape step: no compression"], 1900)
        XCTAssertEqual(a.figures["median escape step: randomk 0.1%"], 2001, "never escaping counts as the last step + 1")
        XCTAssertEqual(a.figures["plateau lambda_min"], -0.05)
    }

    func testNoiseHelpingSomeCompressorsIsPartly() throws {
        let a = try analyze([
            "no compression": ([1500, nil, 1900], [1000, 1100, 1200]),
            "topk 0.1%": ([1600, 1700, nil], [900, 1000, 1300]),
            "randomk 0.1%": ([nil, nil, nil], [nil, nil, nil]),
        ])
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
    }

    func testNoiseHelpingNoneDiffers() throws {
        let a = try analyze([
            "no compression": ([500, 600, 700], [900, 1000, 1100]),
            "topk 0.1%": ([nil, nil, nil], [nil, nil, nil]),
            "randomk 0.1%": ([800, 800, 800], [800, 900, 800]),
        ])
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
        XCTAssertFalse(a.verdict.reason.contains("✓ SGD plateaus"), "no plateau: SGD escapes before one epoch")
    }
}
