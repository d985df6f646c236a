import Foundation
import XCTest

/// `bench-train --torch`: the reference script gets the ResNet's depth and
/// width, and figures for a network of another parameter count are refused.
/// The script here is a stand-in reference (with an empty `torch` module on
/// PYTHONPATH, so the import check passes) that reports the parameter count
/// of He et al.'s 6k+2 CIFAR ResNet on 1×28×28 inputs and 10 classes when it
/// is told the depth and width, and a wrong count otherwise; what is tested
/// is csgd's side of the exchange.
final class BenchTrainCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-bench-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("torch"), withIntermediateDirectories: true)
        try Data().write(to: directory.appendingPathComponent("torch/__init__.py"))
        // Parameters of the 6k+2 CIFAR ResNet (bias-free convolutions, BatchNorm γ and β,
        // 1×1 projection + BatchNorm when the shape changes, linear classifier).
        let script = """
        import argparse, json
        p = argparse.ArgumentParser()
        for k in ("--batch", "--steps", "--threads", "--depth", "--width"): p.add_argument(k, type=int)
        a = p.parse_args()
        def params(depth, w):
            n = 9 * w + 2 * w; cin = w
            for i in range(3):
                for j in range((depth - 2) // 6):
                    c = w << i
                    n += 9 * cin * c + 2 * c + 9 * c * c + 2 * c
                    if cin != c or (i > 0 and j == 0): n += cin * c + 2 * c
                    cin = c
            return n + 10 * cin + 10
        count = params(a.depth, a.width) if a.depth else 5
        print(json.dumps({"samples_per_sec": 1000.0, "ms_per_step": 64.0, "params": count, "threads": a.threads}))
        """
        try Data(script.utf8).write(to: directory.appendingPathComponent("reference.py"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func run(_ model: String, extra: [String] = []) throws -> CLIRunner.Result {
        try CLIRunner.run(["bench-train", "--model", model, "--batch", "2", "--steps", "1", "--warmup", "0", "--threads", "1",
                           "--torch", directory.appendingPathComponent("reference.py").path, "--json"] + extra,
                          environment: ["PYTHONPATH": directory.path])
    }

    func testResNetDepthAndWidthReachTheReference() throws {
        let r = try run("resnet:8,width=4", extra: ["--rounds", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let params = try XCTUnwrap(obj["params"] as? Int)
        let torch = try XCTUnwrap(obj["torch"] as? [String: Any])
        XCTAssertEqual(torch["params"] as? Int, params)
        let rounds = try XCTUnwrap(obj["rounds"] as? [[String: Any]])
        XCTAssertEqual(rounds.count, 2)
        let speedup = try XCTUnwrap(obj["speedup_vs_torch"] as? Double)
        XCTAssertEqual(speedup, try XCTUnwrap(obj["samples_per_sec"] as? Double) / 1000, accuracy: 1e-9 * speedup)
        XCTAssertTrue(rounds.contains { ($0["speedup_vs_torch"] as? Double) == speedup }, "\(rounds) \(speedup)")
    }

    func testADifferentNetworkIsRefused() throws {
        // mnist-ae gets no depth: the reference reports 5 parameters.
        let r = try run("mnist-ae")
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stdout, "")
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("csgd: error: "), r.stderr)
        XCTAssertTrue(r.stderr.contains("built a network of 5 parameters, model 'mnist-ae' has"), r.stderr)
        XCTAssertTrue(r.stderr.contains("not the same network"), r.stderr)
        let rounds = try CLIRunner.run(["bench-train", "--rounds", "3"])
        XCTAssertEqual(rounds.status, 2)
        XCTAssertTrue(rounds.stderr.contains("--rounds 3 needs --torch"), rounds.stderr)
    }

    func testProfileOpensResidualBlocks() throws {
        // Batch 16 on 28×28 makes the 3×3 layers' column matrices several blocks long.
        let r = try CLIRunner.run(["bench-train", "--model", "resnet:8,width=4", "--batch", "16", "--steps", "1", "--warmup", "0",
                                   "--threads", "1", "--profile", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(obj["layers"] as? [[String: Any]])
        let names = rows.compactMap { $0["layer"] as? String }
        // Stem (conv, BN, ReLU), three blocks of 5 main layers (+2 shortcut layers in the last two) and a sum row each, pool, linear.
        XCTAssertEqual(names.count, 3 + 3 * 6 + 2 * 2 + 2, "\(names)")
        XCTAssertEqual(names.filter { $0.contains("shortcut: Conv2d(") }.count, 2, "\(names)")
        XCTAssertEqual(names.filter { $0.hasSuffix("sum + ReLU (block less its layers)") }.count, 3, "\(names)")
        for row in rows where (row["layer"] as? String)?.contains("Conv2d(4→4, k3") == true {
            XCTAssertGreaterThan(try XCTUnwrap(row["reshape_ms"] as? Double), 0, "\(row)")
        }
    }
}
