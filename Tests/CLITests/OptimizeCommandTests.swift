import Foundation
import XCTest

final class OptimizeCommandTests: XCTestCase {
    func testSummaryJSONKeysAndSaddleEscape() throws {
        let r = try CLIRunner.run(["optimize", "--problem", "saddle", "--method", "alg1:sigma=0.01", "--compressor", "randomk:0.1",
                                   "--workers", "2", "--steps", "600", "--lr", "0.05", "--eps", "0.05", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["steps", "final_loss", "grad_norm", "lambda_min", "is_sosp", "first_sosp_step", "resets",
                    "upload_bits_per_worker", "download_bits_per_worker", "wall_seconds", "params_sha256", "relative_error"] {
            XCTAssertNotNil(obj[key], "missing \(key) in \(r.stdout)")
        }
        XCTAssertNotNil(obj["first_sosp_step"] as? Int, "alg1 must reach an ε-SOSP: \(r.stdout)")
        XCTAssertLessThan(try XCTUnwrap(obj["final_loss"] as? Double), -0.2)   // left the saddle (f = 0) for a minimum (f* = −0.25)
        XCTAssertEqual(obj["upload_bits_per_worker"] as? Int, 600 * 32 * 1)   // randomk:0.1 of d = 10 is K = 1
        XCTAssertEqual((obj["params_sha256"] as? String)?.count, 64)
    }

    func testLogHasOneLinePerInterval() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-log-\(getpid()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CLIRunner.run(["optimize", "--problem", "phase-retrieval:d=10,n=50", "--method", "ef-sgd:batch=5",
                                   "--compressor", "topk:3", "--steps", "95", "--lr", "0.01", "--log-every", "10", "--log", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let all = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        // The header, steps 0, 10, …, 90 and the final state at 95, the summary.
        XCTAssertEqual(all.map { $0["type"] as? String }, ["header"] + Array(repeating: nil, count: 11) + ["summary"])
        let last = all[all.count - 2]
        XCTAssertEqual(last["step"] as? Int, 95)
        XCTAssertEqual(last["upload_bits"] as? Int, 95 * 3 * (32 + 4))
    }

    /// `--batch` and `--noise` are the method spec's `batch=` and `sigma=`
    /// under the names `train` uses too: the same run either way.
    func testBatchAndNoiseFlagsAreTheSpecsOptions() throws {
        func sha(_ args: [String]) throws -> String {
            let r = try CLIRunner.run(["optimize", "--problem", "phase-retrieval:d=10,n=50", "--steps", "30", "--lr", "0.01", "--json"] + args)
            XCTAssertEqual(r.status, 0, r.stderr)
            let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            return try XCTUnwrap(obj["params_sha256"] as? String)
        }
        let spec = try sha(["--method", "alg1:batch=5,sigma=0.01", "--compressor", "topk:3"])
        XCTAssertEqual(try sha(["--method", "alg1", "--batch", "5", "--noise", "0.01", "--compressor", "topk:3"]), spec)
        XCTAssertEqual(try sha(["--method", "alg1:sigma=0.01", "--batch", "5", "--compressor", "topk:3"]), spec)
        XCTAssertNotEqual(try sha(["--method", "alg1:sigma=0.01", "--batch", "6", "--compressor", "topk:3"]), spec)
        XCTAssertEqual(try sha(["--method", "sgd:batch=5"]), try sha(["--method", "sgd", "--batch", "5"]))
    }

    func testBadInputIsOneLineAndExitTwo() throws {
        let base = ["optimize", "--steps", "5"]
        let cases: [([String], String)] = [
            (["--problem", "rosenbrock", "--method", "sgd"], "problem 'rosenbrock' is not known (expected one of: saddle,"),
            (["--problem", "saddle", "--method", "adam"], "method 'adam' is not known (expected one of: alg1,"),
            (["--problem", "saddle", "--method", "sgd:momentum=0.9"], "method 'sgd': option 'momentum' is not known (allowed: batch, eta)"),
            (["--problem", "saddle", "--method", "alg1:foo=1"], "method 'alg1': option 'foo' is not known (allowed: r, sigma, batch,"),
            (["--problem", "saddle", "--method", "alg1:batch=2,batch=3"], "method 'alg1': option 'batch' is given twice"),
            (["--problem", "saddle", "--method", "alg1:sigma"], "method 'alg1': option 'sigma' needs a value (sigma=…)"),
            (["--problem", "saddle", "--method", "alg1:sigma=x"], "method 'alg1': sigma = 'x' is not a finite number"),
            (["--problem", "saddle:size=3", "--method", "sgd"], "problem 'saddle': option 'size' is not known"),
            (["--problem", "saddle", "--method", "alg1:reset=on,I=10"], "method 'alg1': reset needs R"),
            (["--problem", "saddle", "--method", "sgd", "--lr", "-0.1"], "--lr -0.1 must be a positive step size"),
            (["--problem", "saddle", "--method", "sgd", "--lr", "0.1", "--steps", "0"], "--steps 0 must be at least 1"),
            (["--problem", "saddle", "--method", "sgd", "--lr", "0.1", "--workers", "0"], "--workers 0 must be at least 1"),
            (["--problem", "saddle", "--method", "qsgd-sgd:bits=4", "--compressor", "topk:2", "--lr", "0.1"], "drop --compressor"),
            (["--problem", "saddle", "--method", "sgd", "--compressor", "topk:11", "--lr", "0.1"], "exceeds the dimension d = 10"),
            (["--problem", "saddle", "--method", "sgd"], "pass --lr"),
        ]
        for (args, fragment) in cases {
            let r = try CLIRunner.run(base + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssert(r.stderr.contains(fragment), "\(args): \(r.stderr)")
        }
    }

    func testDivergenceStopsWithTheStepAndKeepsTheLog() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-nan-\(getpid()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CLIRunner.run(["optimize", "--problem", "saddle:start=random", "--method", "sgd", "--lr", "10",
                                   "--steps", "1000", "--log-every", "1", "--log", path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "")
        XCTAssert(r.stderr.contains("non-finite iterate"), r.stderr)
        XCTAssert(r.stderr.contains("at step"), r.stderr)
        // The log keeps a line for every step up to the one named.
        let stopped = try XCTUnwrap(r.stderr.firstMatch(of: #/at step (\d+)/#).flatMap { Int($0.1) }, r.stderr)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        // After the header (a run stopped by a non-finite iterate has no summary line).
        XCTAssertTrue(lines.first?.contains("\"type\":\"header\"") == true)
        let steps = try lines.dropFirst().map { line -> Int in
            let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            return try XCTUnwrap(record["step"] as? Int, String(line))
        }
        XCTAssertEqual(steps, Array(0...stopped), "\(lines.count) lines for a run stopped at step \(stopped)")
    }

    func testTheoryCommand() throws {
        let r = try CLIRunner.run(["theory", "--eps", "0.01", "--L", "1", "--rho", "1", "--sigma", "0.1", "--d", "100", "--mu", "0.1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(Set(obj.keys), ["eta", "I", "R", "F", "r", "T"])
        XCTAssertEqual(try XCTUnwrap(obj["R"] as? Double), 0.1, accuracy: 1e-12)      // √(ε/ρ)
        XCTAssertEqual(try XCTUnwrap(obj["F"] as? Double), 0.001, accuracy: 1e-12)    // √(ε³/ρ)
        // --dim is the spelling compress and bench-step use; --d stays as an alias.
        let dim = try CLIRunner.run(["theory", "--eps", "0.01", "--L", "1", "--rho", "1", "--sigma", "0.1", "--dim", "100", "--mu", "0.1", "--json"])
        XCTAssertEqual(dim.stdout, r.stdout)
        XCTAssertTrue(try CLIRunner.run(["theory", "--help"]).stdout.contains("--dim, --d <dim>"))
        let bad = try CLIRunner.run(["theory", "--eps", "0.01", "--L", "1", "--rho", "1", "--sigma", "0.1", "--d", "100", "--mu", "1.5"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1)
    }
}
