import Distributed
import Foundation
import XCTest
@testable import Reproduce

/// fig2-plateau's verdict rule on made-up logs: a run's loss drops below the
/// plateau threshold at a chosen step; each verdict comes out of the data
/// made to give it.
final class Fig2PlateauTests: XCTestCase {
    /// A run of the full form's 2,814 steps logged every 50 (and at the
    /// last), on the plateau (loss 0.124, or `plateau`) until `escape`, then
    /// at 0.08; λ_min −0.05 on the plateau at the certified steps of seed 1,
    /// 0.01 after; the error memory's norm `memory`.
    static func run(_ group: String, seed: Int, escape: Int?, plateau: Double = 0.124, memory: Double = 0) -> RunResult {
        let records = (Array(stride(from: 0, through: 2800, by: 50)) + [2814]).map { t -> StepRecord in
            let escaped = escape.map { t >= $0 } ?? false
            let loss = t == 0 ? 0.18 : (escaped ? 0.08 : plateau)
            let lambda: Double? = seed == 1 && t % 500 == 0 ? (escaped ? 0.01 : -0.05) : nil
            return StepRecord(step: t, loss: loss, gradNorm: 0.003, stochasticGradNorm: 0.007, updateNorm: 0, errorNorm: memory,
                              lambdaMin: lambda, isSOSP: nil, relativeError: nil, resets: 0, uploadBits: 0, downloadBits: 0,
                              wallSeconds: 0)
        }
        return RunResult(spec: RunSpec(arguments: [group, "\(seed)"], group: group, seed: seed), records: records,
                         summary: RunOutcome(steps: 2814, loss: records.last!.loss, wallSeconds: 1, uploadBitsPerWorker: 0, paramsSHA256: ""))
    }

    /// Escape steps by compressor label: (without noise, with noise), three seeds each.
    func analyze(_ escapes: [String: ([Int?], [Int?])], extra: [RunResult] = [], quick: Bool = false) throws -> ExperimentAnalysis {
        var results: [RunResult] = extra
        for (label, (plain, noisy)) in escapes {
            for (i, e) in plain.enumerated() { results.append(Self.run(label, seed: i + 1, escape: e)) }
            for (i, e) in noisy.enumerated() { results.append(Self.run("\(label), σ = 0.01", seed: i + 1, escape: e)) }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-fig2-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let a = try Fig2Plateau().analyze(ExperimentData(results: results, failures: []), options: ExperimentOptions(quick: quick), into: dir)
        // A panel a compressor and the escape steps; the full form adds the RandomK study.
        XCTAssertEqual(a.plots.count, quick ? 2 : 5)
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
        XCTAssertEqual(a.figures["median escape step: randomk 0.1%"], 2815, "never escaping counts as the last step + 1")
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

    func testQuickFormJudgesTheUncompressedPlateauAlone() throws {
        let a = try analyze(["no compression": ([nil, nil, 1900], [1000, 1100, 1200])], quick: true)
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertFalse(a.verdict.reason.contains("topk"), a.verdict.reason)
        let b = try analyze(["no compression": ([1000, 1100, 1200], [nil, nil, 1900])], quick: true)
        XCTAssertEqual(b.verdict.kind, .differs, b.verdict.reason)
    }

    /// The RandomK study's finding is computed from the variants' runs: the
    /// variant that trains and escapes with noise is named, and none is
    /// when none does.
    func testRandomKStudyNamesTheVariantThatGivesThePaperPicture() throws {
        let grid: [String: ([Int?], [Int?])] = [
            "no compression": ([1500, nil, 1900], [1000, 1100, 1200]),
            "topk 0.1%": ([1600, 1700, nil], [900, 1000, 1300]),
            "randomk 0.1%": ([nil, nil, nil], [nil, nil, nil]),
        ]
        let v = RandomKVariant.all
        func variants(noisyEscape: Int?) -> [RunResult] {
            (1...3).flatMap { s in
                [Self.run(v[0].group, seed: s, escape: nil, memory: 40),
                 Self.run(v[1].group, seed: s, escape: nil),
                 Self.run(v[2].group, seed: s, escape: noisyEscape, memory: 1000),
                 Self.run(v[3].group, seed: s, escape: nil, plateau: 0.17),
                 Self.run(v[4].group, seed: s, escape: nil, plateau: 0.204)]
            }
        }
        let yes = try analyze(grid, extra: variants(noisyEscape: 2000))
        let finding = try XCTUnwrap(yes.notes.first { $0.hasPrefix("RandomK study") })
        XCTAssertTrue(finding.contains("comes from: \(v[2].group)."), finding)
        XCTAssertFalse(finding.contains(v[3].group), "a variant that stays at 0.17 does not reach the plateau: \(finding)")
        let table = try XCTUnwrap(yes.tables.first { $0.caption.hasPrefix("RandomK") })
        XCTAssertEqual(table.rows.count, 7)
        XCTAssertEqual(table.rows[4][4], "3/3")
        XCTAssertEqual(table.rows[4][5], "1e+03")
        let no = try analyze(grid, extra: variants(noisyEscape: nil))
        let none = try XCTUnwrap(no.notes.first { $0.hasPrefix("RandomK study") })
        XCTAssertTrue(none.contains("none gives the paper's picture"), none)
    }
}
