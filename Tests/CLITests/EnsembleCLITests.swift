import Foundation
import XCTest

/// `csgd optimize --ensemble` (Kalan et al. 2019, Appendix, Algorithm 1) end to end.
final class EnsembleCLITests: XCTestCase {
    func testEnsembleSummaryAndLog() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-ensemble-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("log.jsonl").path
        let r = try CLIRunner.run(["optimize", "--problem", "relu:d=20,n=60", "--method", "sgd:batch=10", "--steps", "1000",
                                   "--log-every", "100", "--ensemble", "3,eps=1e-6,ball=relative", "--json", "--log", log])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["ensemble_trials"] as? Double, 3)
        XCTAssertEqual(json["ensemble_consensus"] as? Double, 1)
        XCTAssertEqual(json["ensemble_chosen"] as? Double, 1)
        XCTAssertEqual(json["upload_bits_per_worker"] as? Int, 3 * 1000 * 32 * 20, "three runs' bits")
        let all = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        // The header, the records, the summary (the chosen trial's, with the vote).
        XCTAssertTrue(all.first!.contains("\"type\":\"header\""))
        XCTAssertTrue(all.last!.contains("\"type\":\"summary\"") && all.last!.contains("\"ensemble_chosen\":1"), String(all.last!))
        let lines = all.dropFirst().dropLast()
        XCTAssertEqual(lines.count, 3 * 11, "three runs of records at 0, 100, …, 1000")
        XCTAssertTrue(lines.last!.contains("\"trial\":3"))
        let table = try CLIRunner.run(["optimize", "--problem", "relu:d=20,n=60", "--method", "sgd:batch=10", "--steps", "1000",
                                       "--ensemble", "3,eps=1e-6,ball=relative"])
        XCTAssertTrue(table.stdout.contains("trial 1 of 3, 3 within"), table.stdout)
    }

    func testEnsembleErrorsAreOneLine() throws {
        for (args, message) in [
            (["--ensemble", "3"], "csgd: error: option '--ensemble': needs eps=ε (Kalan et al.'s tolerance: results agree within 2√ε)\n"),
            (["--ensemble", "0,eps=1"], "csgd: error: option '--ensemble': L = 0 must be positive\n"),
            (["--ensemble", "3,eps=1", "--checkpoint", "/tmp/csgd-never"], "csgd: error: --ensemble cannot be checkpointed; drop --checkpoint\n"),
        ] {
            let r = try CLIRunner.run(["optimize", "--problem", "saddle", "--method", "sgd"] + args)
            XCTAssertEqual(r.status, 2, args.joined(separator: " "))
            XCTAssertEqual(r.stderr, message)
        }
    }
}
