import Distributed
import Foundation
import XCTest
@testable import Reproduce

/// fig1-workers' runs and its verdict rule on made-up logs: each verdict
/// comes out of the data made to give it.
final class Fig1WorkersTests: XCTestCase {
    static let quick = ExperimentOptions(quick: true)
    static let d = 10_000

    /// What a made-up group ends at.
    struct Final { var accuracy: Double; var loss: Double }

    /// A run of the quick schedule (10 steps, logged and evaluated every 5)
    /// whose loss and test accuracy move linearly from (2.3, 10%) to `final`;
    /// upload bits are 32 a kept coordinate a step, K = fraction·d rounded.
    static func run(_ s: Fig1Workers.Setting, _ c: Fig1Workers.Compressor, _ final: Final, seed: Int = 1, k: Int? = nil) -> RunResult {
        let kept = k ?? c.fraction.map { Int((Double(d) * $0).rounded()) } ?? d
        let records = stride(from: 0, through: s.steps, by: s.evalEvery).map { t -> StepRecord in
            let u = Double(t) / Double(s.steps)
            return StepRecord(step: t, loss: 2.3 + u * (final.loss - 2.3), gradNorm: 1, stochasticGradNorm: 1, updateNorm: 0,
                              errorNorm: 0, lambdaMin: nil, isSOSP: nil, relativeError: nil, resets: 0, uploadBits: 32 * kept * t,
                              downloadBits: 32 * kept * t, wallSeconds: Double(t),
                              metrics: ["test_accuracy": 0.1 + u * (final.accuracy - 0.1), "test_loss": 1])
        }
        let summary = RunOutcome(steps: s.steps, loss: final.loss, wallSeconds: 1, uploadBitsPerWorker: 32 * kept * s.steps,
                                 paramsSHA256: "", numbers: ["test_accuracy": final.accuracy])
        return RunResult(spec: RunSpec(arguments: [Fig1Workers.group(s, c), "\(seed)"], group: Fig1Workers.group(s, c), seed: seed),
                         records: records, summary: summary)
    }

    /// Finals by setting key, in compressor order (uncompressed, 10%, 1%, 0.1%).
    func analyze(_ finals: [String: [Final]], failures: [(String, Int)] = [], k: [String: Int] = [:]) throws -> ExperimentAnalysis {
        var results: [RunResult] = []
        var failed: [(spec: RunSpec, message: String)] = []
        for s in Fig1Workers.settings(Self.quick) {
            for (c, f) in zip(Fig1Workers.compressors, finals[s.key]!) {
                if failures.contains(where: { $0.0 == s.key && Fig1Workers.compressors[$0.1].label == c.label }) {
                    failed.append((RunSpec(arguments: [], group: Fig1Workers.group(s, c), seed: 1), "diverged at step 7"))
                } else {
                    results.append(Self.run(s, c, f, k: k["\(s.key) \(c.label)"]))
                }
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-fig1-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let a = try Fig1Workers().analyze(ExperimentData(results: results, failures: failed), options: Self.quick, into: dir)
        XCTAssertEqual(a.plots.count, 4)
        for p in a.plots {
            let svg = try String(contentsOf: dir.appendingPathComponent(p.file), encoding: .utf8)
            XCTAssertTrue(svg.contains("<svg"), p.file)
        }
        XCTAssertEqual(a.verdict.rule, Fig1Workers.rule, "the rule is the same text whatever the data")
        return a
    }

    static let good = [Final(accuracy: 0.80, loss: 0.50), Final(accuracy: 0.79, loss: 0.52),
                       Final(accuracy: 0.78, loss: 0.54), Final(accuracy: 0.55, loss: 1.20)]
    static let broken = [Final(accuracy: 0.35, loss: 1.90), Final(accuracy: 0.34, loss: 1.92),
                         Final(accuracy: 0.33, loss: 1.95), Final(accuracy: 0.20, loss: 2.20)]
    static let lagging = [Final(accuracy: 0.80, loss: 0.50), Final(accuracy: 0.70, loss: 0.52),
                          Final(accuracy: 0.60, loss: 0.90), Final(accuracy: 0.30, loss: 1.80)]

    func testRunsAreThePapersSettingSpecifiedFirst() throws {
        let e = Fig1Workers()
        for options in [Self.quick, ExperimentOptions(quick: false)] {
            let runs = try e.runs(options)
            XCTAssertEqual(runs.count, 12)
            XCTAssertEqual(Set(runs.map(\.key)).count, 12, "every run has its own command line")
            XCTAssertTrue(runs[0].group.hasPrefix("specified"), runs[0].group)
            for r in runs {
                let a = r.arguments
                func value(_ flag: String) -> String? { a.firstIndex(of: flag).map { a[$0 + 1] } }
                XCTAssertEqual(value("--workers"), "10"); XCTAssertEqual(value("--batch"), "8"); XCTAssertEqual(value("--lr"), "0.1")
                XCTAssertNotNil(value("--eval-every"))
                if r.group.hasSuffix("uncompressed (100%)") {
                    XCTAssertEqual(value("--method"), "sgd"); XCTAssertNil(value("--compressor"))
                } else {
                    XCTAssertEqual(value("--method"), "ef-sgd"); XCTAssertTrue(value("--compressor")!.hasPrefix("randomk:"))
                }
                if r.group.hasPrefix("specified") { XCTAssertEqual(value("--partition"), "by-class"); XCTAssertTrue(value("--model")!.hasPrefix("resnet:")) }
            }
        }
        let full = try e.runs(ExperimentOptions(quick: false))
        XCTAssertEqual(full[0].arguments[full[0].arguments.firstIndex(of: "--model")! + 1], "resnet:8")
        XCTAssertEqual(try e.runs(ExperimentOptions(quick: false, runs: 2)).count, 24)
    }

    func testCompressionMatchingInTheSpecifiedSettingHolds() throws {
        let a = try analyze(["specified": Self.good, "iid": Self.good, "no-bn": Self.lagging])
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertEqual(try XCTUnwrap(a.figures["specified randomk 1% upload reduction"]), 100, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(a.figures["specified uncompressed (100%) final test accuracy"]), 0.80, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(a.figures["specified uncompressed test accuracy after one epoch"]), 0.45, accuracy: 1e-12)
        XCTAssertTrue(a.verdict.reason.contains("✗ no-bn: randomk 10% matches uncompressed"), a.verdict.reason)
    }

    func testBrokenSpecifiedSettingButALearningVariantIsPartly() throws {
        let a = try analyze(["specified": Self.broken, "iid": Self.good, "no-bn": Self.good])
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✗ specified: uncompressed SGD learns: final test accuracy 35.0%"), a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✓ specified: randomk 10% matches uncompressed"), "matching a baseline that does not learn is reported, not counted")
    }

    func testCompressionLaggingEverywhereDiffers() throws {
        let a = try analyze(["specified": Self.lagging, "iid": Self.lagging, "no-bn": Self.lagging])
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
    }

    func testNoSettingThatLearnsDiffers() throws {
        let a = try analyze(["specified": Self.broken, "iid": Self.broken, "no-bn": Self.broken])
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
    }

    func testUploadRatioAllowsKsRoundingOnly() throws {
        // d = 10,000: 1% is K = 100 (exactly 100×); K = 101 is 99.0× (passes, rounding), K = 150 is 66.7× (fails).
        var a = try analyze(["specified": Self.good, "iid": Self.good, "no-bn": Self.good], k: ["specified randomk 1%": 101])
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        a = try analyze(["specified": Self.good, "iid": Self.good, "no-bn": Self.good], k: ["specified randomk 1%": 150])
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("66.7× fewer upload bits"), a.verdict.reason)
    }

    func testADivergedRunMatchesNothing() throws {
        let a = try analyze(["specified": Self.good, "iid": Self.good, "no-bn": Self.good], failures: [("specified", 2)])
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("✗ specified: randomk 1% matches uncompressed: 1 run(s) diverged"), a.verdict.reason)
        XCTAssertTrue(a.tables[1].rows.contains { $0[1] == "randomk 1%" && $0[2] == "0 (+1 diverged)" }, "\(a.tables[1].rows)")
    }

    func testToleranceEdges() {
        let s = Fig1Workers.settings(Self.quick)[0], c = Fig1Workers.compressors[1]
        let base = Fig1Workers.Finals(runs: 1, failed: 0, trainLoss: 0.5, testAccuracy: 0.80, uploadBits: 1000)
        func f(_ acc: Double, _ loss: Double) -> Bool {
            Fig1Workers.matches(.init(runs: 1, failed: 0, trainLoss: loss, testAccuracy: acc, uploadBits: 100), base: base, c).0
        }
        XCTAssertTrue(f(0.771, 0.574)); XCTAssertFalse(f(0.769, 0.5)); XCTAssertFalse(f(0.8, 0.576))
        XCTAssertEqual(s.steps, 10)
    }
}
