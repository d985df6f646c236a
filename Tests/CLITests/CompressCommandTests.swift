import Foundation
import XCTest

final class CompressCommandTests: XCTestCase {
    func testJSONHasTheDocumentedKeys() throws {
        let r = try CLIRunner.run(["compress", "--compressor", "all", "--dim", "4096", "--trials", "2", "--reps", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 8, r.stdout)
        let keys: Set<String> = ["compressor", "dim", "bits", "bits_per_coordinate", "mu_empirical", "linear", "unbiased",
                                 "compress_gbps", "decode_gbps", "memcpy_gbps"]
        for line in lines {
            let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(Set(obj.keys), keys)
            XCTAssertEqual(obj["dim"] as? Int, 4096)
            let bits = try XCTUnwrap(obj["bits"] as? Int)
            XCTAssertEqual(try XCTUnwrap(obj["bits_per_coordinate"] as? Double), Double(bits) / 4096, "\(line)")
        }
        // Exact sizes of the wire formats (docs/wire-formats.md) at d = 4096, K = 41 (1% rounded).
        let byName = Dictionary(uniqueKeysWithValues: try lines.map { line -> (String, [String: Any]) in
            let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return (obj["compressor"] as! String, obj)
        })
        XCTAssertEqual(byName["none"]?["bits"] as? Int, 32 * 4096)
        XCTAssertEqual(byName["fp64"]?["bits"] as? Int, 64 * 4096)
        XCTAssertEqual(byName["fp64"]?["linear"] as? Bool, false)
        XCTAssertEqual(byName["none"]?["mu_empirical"] as? Double, 1, "the identity loses nothing")
        XCTAssertEqual(byName["fp64"]?["mu_empirical"] as? Double, 1, "Float32 → Float64 → Float32 is exact")
        // μ = 1 − E‖C(x) − x‖²/‖x‖²: K/d for RandomK's K of d coordinates, at least K/d for the top K.
        let kd = 41.0 / 4096
        XCTAssertEqual(try XCTUnwrap(byName["randomk:0.01"]?["mu_empirical"] as? Double), kd, accuracy: kd / 2)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(byName["topk:0.01"]?["mu_empirical"] as? Double), kd)
        XCTAssertEqual(byName["randomk:0.01"]?["bits"] as? Int, 32 * 41)
        XCTAssertEqual(byName["topk:0.01"]?["bits"] as? Int, 41 * (32 + 12))
        XCTAssertEqual(byName["sign"]?["bits"] as? Int, 4096 + 32)
        XCTAssertEqual(byName["qsgd:15,coding=fixed"]?["bits"] as? Int, 32 + 4096 * 5)
        XCTAssertEqual(byName["randomk:0.01"]?["linear"] as? Bool, true)
        XCTAssertEqual(byName["topk:0.01"]?["linear"] as? Bool, false)
        XCTAssertEqual(byName["qsgd:15"]?["unbiased"] as? Bool, true)
        XCTAssertEqual(try XCTUnwrap(byName["none"]?["mu_empirical"] as? Double), 1, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(byName["randomk:0.01"]?["mu_empirical"] as? Double), 41.0 / 4096, accuracy: 0.006)
    }

    func testTableOutput() throws {
        let r = try CLIRunner.run(["compress", "--compressor", "topk:10", "--compressor", "sign", "--dim", "1000", "--reps", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("topk:10"))
        XCTAssert(r.stdout.contains("compress GB/s"))
        XCTAssertEqual(r.stderr, "")
    }

    func testBadInputIsOneLineAndExitTwo() throws {
        let cases: [([String], String)] = [
            (["--compressor", "gzip"], "compressor 'gzip' is not known (expected one of: none, fp64, randomk, topk, sketch-topk, sign, qsgd)"),
            (["--compressor", "topk:0"], "compressor 'topk': K = 0 must be positive"),
            (["--compressor", "topk:2000", "--dim", "1000"], "exceeds the dimension d = 1000"),
            (["--compressor", "randomk:1.5"], "compressor 'randomk': K = 1.5 must be in (0, 1]"),
            (["--compressor", "qsgd:0"], "compressor 'qsgd': S = 0 must be positive"),
            (["--compressor", "sketch-topk:10,rows=0"], "compressor 'sketch-topk': rows = 0 must be positive"),
            (["--compressor", "sketch-topk:10,cols=-2"], "compressor 'sketch-topk': cols = -2 must be positive"),
            (["--compressor", "topk:1,,"], "compressor 'topk': option list '1,,' has an empty item"),
            (["--compressor", "none", "--compressor", "topk:"], "compressor 'topk': needs K first, as in 'topk:0.01'"),
            (["--dim", "0"], "--dim 0 must be positive"),
        ]
        for (args, fragment) in cases {
            let r = try CLIRunner.run(["compress", "--reps", "1", "--trials", "1"] + args)
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertEqual(r.stdout, "", "\(args): nothing on stdout")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(args): \(r.stderr)")
            XCTAssert(r.stderr.contains(fragment), "\(args): \(r.stderr)")
        }
    }
}
