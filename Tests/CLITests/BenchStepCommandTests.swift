import Foundation
import XCTest

final class BenchStepCommandTests: XCTestCase {
    func testJSONReportAndScaling() throws {
        let r = try CLIRunner.run(["bench-step", "--compressor", "randomk:0.01", "--method", "alg1:sigma=0.01", "--dim", "8192",
                                   "--workers", "2", "--steps", "3", "--reps", "1", "--no-cold-memcpy", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let run = try XCTUnwrap(obj["run"] as? [String: Any]), single = try XCTUnwrap(obj["single"] as? [String: Any])
        func number(_ o: [String: Any], _ key: String) throws -> Double { try XCTUnwrap(o[key] as? Double, "missing \(key): \(r.stdout)") }
        XCTAssertEqual(run["workers"] as? Int, 2)
        XCTAssertEqual(single["workers"] as? Int, 1)
        for o in [run, single] {
            XCTAssertEqual(o["dim"] as? Int, 8192)
            XCTAssertEqual(o["steps"] as? Int, 3)
            XCTAssertEqual(o["method"] as? String, "alg1:sigma=0.01")
            // The reported figures follow from one another as documented:
            // optimiser = CPU − oracle (the oracle is the chain's head link),
            // passes = optimiser / warm memcpy, no cold figures without the eviction.
            let links = try XCTUnwrap(o["links"] as? [String: Double])
            XCTAssertEqual(Set(links.keys), ["StochasticGradient", "ErrorFeedback", "AverageMessages", "SGDStep"])
            let cpu = try number(o, "cpu_per_worker_step_s"), oracle = try number(o, "oracle_per_worker_step_s")
            let optimizer = try number(o, "optimizer_per_worker_step_s"), warm = try number(o, "memcpy_warm_s")
            XCTAssertEqual(oracle, try XCTUnwrap(links["StochasticGradient"]))
            XCTAssertEqual(optimizer, max(0, cpu - oracle), accuracy: 1e-12 * cpu)
            XCTAssertEqual(try number(o, "memcpy_passes"), optimizer / warm, accuracy: 1e-12 * optimizer / warm)
            XCTAssertNil(o["memcpy_cold_s"])
            XCTAssertNil(o["memcpy_passes_cold"])
            // Each link's time is the rank's own thread's, inside the step's CPU time.
            XCTAssertLessThanOrEqual(links.values.reduce(0, +), cpu * (1 + 1e-9) + 1e-12, "links \(links), CPU \(cpu)")
        }
        // Latency (wall − oracle, in passes) only with one worker.
        XCTAssertNil(run["optimizer_wall_per_step_s"])
        let latency = try number(single, "optimizer_wall_per_step_s")
        XCTAssertEqual(latency, max(0, try number(single, "wall_per_step_s") - (try number(single, "oracle_per_worker_step_s"))), accuracy: 1e-12)
        XCTAssertEqual(try number(single, "memcpy_passes_wall"), latency / (try number(single, "memcpy_warm_s")), accuracy: 1e-9 * max(1, latency))
        // scaling = wall(W) / (W · wall(1)), from the reported walls.
        let scaling = try XCTUnwrap(obj["scaling"] as? Double)
        let expected = try number(run, "wall_per_step_s") / (2 * (try number(single, "wall_per_step_s")))
        XCTAssertEqual(scaling, expected, accuracy: 1e-12 * expected)
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
