import CSGDCore
import Distributed
import Optimization
import Problems
import XCTest

/// `EnsembleRun`: Kalan et al.'s ensemble (Appendix, Algorithm 1) around
/// whole in-process runs.
final class EnsembleRunTests: XCTestCase {
    func run(_ ensemble: Ensemble?, problem: String = "relu:d=20,n=60,seed=3", method: String = "sgd:batch=10", steps: Int = 1000,
             onRecord: (@Sendable (StepRecord) -> Void)? = nil) throws -> RunSummary {
        let objective = try ProblemSpec.make(problem)
        let config = TrainerConfiguration(steps: steps, seed: 5, logEvery: 100)
        let m = try Methods.parse(method)
        guard let ensemble else {
            return try InProcessRun.run(objective: objective, method: m, compressor: nil, workers: 1, config: config, onRecord: onRecord)
        }
        return try EnsembleRun.run(ensemble, objective: objective, method: m, compressor: nil, workers: 1, config: config, onRecord: onRecord)
    }

    func testOneTrialIsThePlainRun() throws {
        let plain = try run(nil), one = try run(Ensemble(trials: 1, epsilon: 1e-6, ball: .relative))
        XCTAssertEqual(one.paramsSHA256, plain.paramsSHA256)
        XCTAssertEqual(one.uploadBitsPerWorker, plain.uploadBitsPerWorker)
        XCTAssertEqual(one.metrics["ensemble_consensus"], 1)
        XCTAssertEqual(one.metrics["ensemble_chosen"], 1)
    }

    /// L runs from one start (every trial's first record has the same loss),
    /// with their own mini-batches (different ends); the cost is summed.
    func testTrialsShareTheStartAndSumTheCost() throws {
        final class Records: @unchecked Sendable {
            let lock = NSLock()
            var all: [StepRecord] = []
            func add(_ r: StepRecord) { lock.lock(); all.append(r); lock.unlock() }
        }
        let records = Records()
        let plain = try run(nil)
        let s = try run(Ensemble(trials: 3, epsilon: 1e-6, ball: .relative)) { records.add($0) }
        XCTAssertEqual(s.uploadBitsPerWorker, 3 * plain.uploadBitsPerWorker)
        XCTAssertEqual(s.metrics["ensemble_trials"], 3)
        XCTAssertEqual(Set(records.all.compactMap { $0.metrics["trial"] }), [1, 2, 3])
        let starts = records.all.filter { $0.step == 0 }
        XCTAssertEqual(starts.count, 3)
        XCTAssertEqual(Set(starts.map(\.loss)).count, 1, "one x₀")
        let ends = records.all.filter { $0.step == 1000 }.map(\.loss)
        XCTAssertEqual(Set(ends).count, 3, "independent mini-batches")
        // n = 3d: every trial finds w*, so they agree and the first is returned.
        XCTAssertEqual(s.metrics["ensemble_consensus"], 1)
        XCTAssertEqual(s.metrics["ensemble_chosen"], 1)
        XCTAssertEqual(s.metrics["ensemble_agreeing"], 3)
        XCTAssertLessThan(try XCTUnwrap(s.relativeError), 1e-3)
    }

    /// n = d: the trials interpolate the data at different points and do not agree.
    func testUnderdeterminedTrialsDoNotAgree() throws {
        let s = try run(Ensemble(trials: 3, epsilon: 1e-6, ball: .relative), problem: "relu:d=20,n=20,seed=1", steps: 2000)
        XCTAssertEqual(s.metrics["ensemble_consensus"], 0)
        XCTAssertEqual(s.metrics["ensemble_agreeing"], 1)
    }
}
