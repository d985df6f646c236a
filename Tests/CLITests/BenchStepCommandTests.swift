import Foundation
import XCTest

final class BenchStepCommandTests: XCTestCase {
    func testJSONReportAndScaling() throws {
        let r = try CLIRunner.run(["bench-step", "--compressor", "randomk:0.01", "--method", "alg1:sigma=0.01", "--dim", "8192",
                                   "--workers", "2", "--steps", "3", "--reps", "1", "--no-cold-memcpy", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let run = try XCTUnwrap(obj["run"] as? [String: Any])
        for key in ["optimizer_per_worker_step_s", "oracle_per_worker_step_s", "memcpy_warm_s", "memcpy_passes", "wall_per_step_s", "links"] {
            XCTAssertNotNil(run[key], "missing \(key): \(r.stdout)")
        }
        XCTAssertEqual(run["workers"] as? Int, 2)
        let links = try XCTUnwrap(run["links"] as? [String: Double])
        XCTAssertEqual(Set(links.keys), ["StochasticGradient", "GaussianPerturbation", "ErrorFeedback", "AverageMessages", "SGDStep"])
        XCTAssertNotNil((obj["single"] as? [String: Any])?["wall_per_step_s"])
        XCTAssertGreaterThan(try XCTUnwrap(obj["scaling"] as? Double), 0)
        let bad = try CLIRunner.run(["bench-step", "--compressor", "topk:0", "--dim", "100"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
    }

    func testAlgorithm1TheoryFromTheCommandLine() throws {
        // γ = 4 so that the saddle is not an ε-SOSP; η, r from `csgd theory`'s formulas.
        let r = try CLIRunner.run(["optimize", "--problem", "saddle:gamma=4", "--method", "alg1:theory", "--eps", "0.3",
                                   "--steps", "2000", "--seed", "1", "--workers", "2", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertGreaterThan(try XCTUnwrap(obj["first_sosp_step"] as? Int), 0)
        XCTAssertLessThan(try XCTUnwrap(obj["final_loss"] as? Double), -3.9)
    }
}
