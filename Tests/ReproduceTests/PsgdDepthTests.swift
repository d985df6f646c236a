import Distributed
import Foundation
import XCTest
@testable import Reproduce

/// psgd-depth's runs and verdict rule on made-up logs: each verdict comes
/// out of the data made to give it.
final class PsgdDepthTests: XCTestCase {
    /// A finished run whose test accuracy rises linearly to `final`, evaluated 10 times.
    static func run(_ group: String, seed: Int, final: Double, steps: Int = 1000, params: Double = 104_938) -> RunResult {
        let records = stride(from: 0, through: steps, by: steps / 10).map { t in
            StepRecord(step: t, loss: 1, gradNorm: 0, stochasticGradNorm: 0, updateNorm: 0, errorNorm: 0, lambdaMin: nil,
                       isSOSP: nil, relativeError: nil, resets: 0, uploadBits: 0, downloadBits: 0, wallSeconds: 0,
                       metrics: ["test_accuracy": 0.1 + (final - 0.1) * Double(t) / Double(steps), "test_loss": 1])
        }
        let summary = RunOutcome(steps: steps, loss: 1, wallSeconds: 1, uploadBitsPerWorker: 0, paramsSHA256: "",
                                 numbers: ["test_accuracy": final, "params": params, "samples_per_sec": 1000])
        return RunResult(spec: RunSpec(arguments: [group, "\(seed)"], group: group, seed: seed), records: records, summary: summary)
    }

    /// Three trials a (network, r) of the full form, accuracies `mean ± 0.002` by seed;
    /// `mlp` is SGD's then r = 0.015, 0.1, 1; `vgg` SGD's then r = 0.025, 1.
    static func data(mlp: [Double], vgg: [Double], failed: [String] = []) -> ExperimentData {
        let f = PsgdDepth.form(ExperimentOptions())
        XCTAssertEqual(f.shallow.radii, [0.015, 0.1, 1])
        XCTAssertEqual(f.deep.radii, [0.025, 1])
        var results: [RunResult] = []
        var failures: [(spec: RunSpec, message: String)] = []
        for (net, means) in [(f.shallow, mlp), (f.deep, vgg)] {
            XCTAssertEqual(net.radii.count + 1, means.count)
            for (r, m) in zip([0] + net.radii, means) {
                let g = PsgdDepth.group(net.label, r: r)
                for s in 1...3 {
                    if failed.contains(g) && s == 3 {
                        failures.append((RunSpec(arguments: [g, "3"], group: g, seed: 3), "iterate is not finite at step 40"))
                    } else {
                        results.append(run(g, seed: s, final: m + 0.002 * Double(s - 2)))
                    }
                }
            }
        }
        return ExperimentData(results: results, failures: failures)
    }

    func analyze(_ data: ExperimentData) throws -> ExperimentAnalysis {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-psgd-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let a = try PsgdDepth().analyze(data, options: ExperimentOptions(), into: dir)
        for p in a.plots { XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(p.file).path), p.file) }
        XCTAssertEqual(a.plots.count, 2)
        XCTAssertEqual(a.verdict.rule, PsgdDepth.rule)
        return a
    }

    func testRunsCoverEveryNetworkAndRadiusWithSharedSeeds() throws {
        let full = try PsgdDepth().runs(ExperimentOptions())
        let groups = (3 + 1) + (2 + 1)
        XCTAssertEqual(full.count, groups * 3)
        XCTAssertEqual(Set(full.map(\.group)).count, groups)
        XCTAssertEqual(Set(full.map(\.key)).count, full.count)
        let psgd = try XCTUnwrap(full.first { $0.group == "MLP · PSGD r = 0.015" && $0.seed == 2 })
        XCTAssertTrue(psgd.commandLine.contains("--method psgd:r=0.015"), psgd.commandLine)
        XCTAssertTrue(psgd.commandLine.contains("--model mlp:784-128-32-10,act=sigmoid-none,dropout=0.25-0"), psgd.commandLine)
        XCTAssertTrue(psgd.commandLine.contains("--batch 128 --lr 0.01"), psgd.commandLine)
        let sgd = try XCTUnwrap(full.first { $0.group == "VGG3 · SGD" && $0.seed == 2 })
        XCTAssertTrue(sgd.commandLine.contains("--method sgd"), sgd.commandLine)
        XCTAssertTrue(sgd.commandLine.contains("--lr 0.1 "), sgd.commandLine)
        XCTAssertTrue(sgd.commandLine.contains("--model vgg:3,width=32,dropout=0.2"), sgd.commandLine)
        // SGD and PSGD of a seed differ only in the method.
        let vggPSGD = try XCTUnwrap(full.first { $0.group == "VGG3 · PSGD r = 1" && $0.seed == 2 })
        XCTAssertEqual(zip(sgd.arguments, vggPSGD.arguments).filter { $0 != $1 }.count, 1)
        // The quick form runs two trials a group (the fewest a comparison needs); --runs sets the trials.
        XCTAssertEqual(try PsgdDepth().runs(ExperimentOptions(quick: true)).count, 12)
        XCTAssertEqual(try PsgdDepth().runs(ExperimentOptions(runs: 5)).count, groups * 5)
    }

    func testShallowGainDeepNoGainHolds() throws {
        // MLP: SGD, 0.015, 0.1, 1; VGG3: the same.
        let a = try analyze(Self.data(mlp: [0.80, 0.83, 0.81, 0.79], vgg: [0.85, 0.851, 0.80]))
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertEqual(try XCTUnwrap(a.figures["MLP · PSGD r = 0.015 final test accuracy"]), 0.83, accuracy: 1e-9)
        XCTAssertEqual(a.figures["MLP best r"], 0.015)
        // Linear curves from the same start: the best r is above SGD from the first evaluation after 0.
        XCTAssertEqual(try XCTUnwrap(a.figures["MLP best r ahead of SGD from epoch"]), 100.0 / 469, accuracy: 1e-9)
        XCTAssertEqual(a.tables[0].rows.count, 7)
        XCTAssertEqual(a.tables[0].rows[1][2], String(format: "%.2e", 0.015 / 104_938.0.squareRoot()))
    }

    func testDeepLargestRadiusNotWorstIsPartly() throws {
        let a = try analyze(Self.data(mlp: [0.80, 0.83, 0.81, 0.79], vgg: [0.85, 0.851, 0.850]))
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✗ VGG3: largest r worst"), a.verdict.reason)
    }

    func testDeepGainIsPartly() throws {
        let a = try analyze(Self.data(mlp: [0.80, 0.83, 0.81, 0.79], vgg: [0.85, 0.87, 0.80]))
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✗ VGG3: no r ahead of SGD"), a.verdict.reason)
    }

    func testNoShallowGainDiffers() throws {
        // Overlapping bands on the MLP (0.802 vs 0.800 ± 0.002): not ahead, whatever the VGG shows.
        let a = try analyze(Self.data(mlp: [0.80, 0.802, 0.80, 0.79], vgg: [0.85, 0.851, 0.80]))
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✗ MLP: best r ahead of SGD"), a.verdict.reason)
    }

    func testUntrainedDeepNetIsNoEvidence() throws {
        // Every VGG3 run at chance: "no r ahead" must not pass by default.
        let a = try analyze(Self.data(mlp: [0.80, 0.83, 0.81, 0.79], vgg: [0.1, 0.1, 0.1]))
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✗ VGG3: no r ahead of SGD: SGD does not train"), a.verdict.reason)
    }

    func testOneTrialAGroupIsNoComparison() throws {
        // The data that hold with three trials, cut to one: no spread, so nothing is ahead.
        var data = Self.data(mlp: [0.80, 0.83, 0.81, 0.79], vgg: [0.85, 0.851, 0.80])
        data.results.removeAll { $0.spec.seed != 1 }
        let a = try analyze(data)
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("1 trial)"), a.verdict.reason)
    }

    func testFailedRunsCountAsChance() throws {
        // VGG3 r = 1 loses a run: its mean drops to (0.85 + 0.852 + 0.1)/3, the lowest; but its two
        // finished trials match SGD's, so its 90% quantile (0.8516) stays above SGD's 10% (0.8484):
        // SGD is not ahead of it, one failure out of three is not enough.
        let a = try analyze(Self.data(mlp: [0.80, 0.83, 0.81, 0.79], vgg: [0.85, 0.851, 0.852], failed: ["VGG3 · PSGD r = 1"]))
        XCTAssertEqual(try XCTUnwrap(a.figures["VGG3 · PSGD r = 1 final test accuracy"]), (0.85 + 0.852 + 0.1) / 3, accuracy: 1e-9)
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("the lowest mean"), a.verdict.reason)
        XCTAssertTrue(a.tables[0].rows.contains { $0[1] == "PSGD r = 1" && $0[3] == "3 (1 failed)" && $0[0] == "VGG3" })
    }
}
