import Foundation
import XCTest

/// `csgd optimize --stop-at-sosp`: the run ends at its first certified ε-SOSP.
final class StopAtSOSPCLITests: XCTestCase {
    func testStopsAtTheFirstCertifiedSOSP() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-stop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("log.jsonl").path
        // docs/optimize.md's alg1:theory run: first ε-SOSP at step 1800 of 3000.
        let args = ["optimize", "--problem", "saddle:gamma=4", "--method", "alg1:theory", "--eps", "0.3", "--steps", "3000",
                    "--seed", "1", "--workers", "2", "--json"]
        let full = try CLIRunner.run(args)
        XCTAssertEqual(full.status, 0, full.stderr)
        let whole = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(full.stdout.utf8)) as? [String: Any])
        let first = try XCTUnwrap(whole["first_sosp_step"] as? Int)
        let r = try CLIRunner.run(args + ["--stop-at-sosp", "--log", log])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["first_sosp_step"] as? Int, first)
        XCTAssertEqual(json["steps"] as? Int, first)
        XCTAssertEqual(json["is_sosp"] as? Bool, true)
        XCTAssertEqual(json["stopped_early"] as? String, "first ε-SOSP certified")
        XCTAssertEqual(json["upload_bits_per_worker"] as? Int, first * 32 * 10, "the bits to the ε-SOSP")
        let steps = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line -> Int? in
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return object["type"] == nil ? try XCTUnwrap(object["step"] as? Int) : nil
        }
        XCTAssertEqual(steps.last, first)
        XCTAssertEqual(Set(steps).count, steps.count, "no step logged twice")
        let bad = try CLIRunner.run(["optimize", "--problem", "saddle", "--method", "sgd", "--stop-at-sosp"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "csgd: error: --stop-at-sosp needs --eps (the ε of the ε-SOSP certificate)\n")
    }
}
