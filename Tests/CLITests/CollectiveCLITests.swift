import Foundation
import XCTest

/// `--collective allgather|scatter|auto` on `optimize` and `train`: what the
/// run header records, that the paper's autoencoder trains through the
/// two-stage exchange, and bad input as one line with exit status 2 and
/// no file written.
final class CollectiveCLITests: XCTestCase {
    var directories: [String] = []

    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(atPath: d) }
        directories = []
    }

    func temporaryDirectory() throws -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-collective-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        directories.append(p)
        return p
    }

    /// d = 400: `auto` takes the two stages up to W = 6 (slices of 64 coordinates or more).
    static let saddle = ["optimize", "--problem", "saddle:d=400", "--method", "alg1:sigma=0.01", "--lr", "0.1", "--steps", "20", "--seed", "3", "--json"]
    static let optimize = ["optimize", "--problem", "phase-retrieval:d=40", "--method", "alg1:sigma=0.01", "--lr", "0.01",
                           "--steps", "20", "--seed", "3", "--json"]

    func json(_ line: Substring) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    /// The header's resolved collective, for each flag, compressor and W.
    func testHeaderRecordsTheResolvedCollective() throws {
        let dir = try temporaryDirectory()
        let cases: [(String, Int, String, String)] = [
            ("topk:0.1", 4, "auto", "scatter"), ("topk:0.1", 2, "auto", "allgather"), ("sign", 2, "scatter", "scatter"),
            ("qsgd:15", 4, "allgather", "allgather"), ("randomk:0.1", 4, "auto", "allreduce"), ("sketch-topk:0.1", 4, "auto", "sketch"),
            ("sign", 8, "auto", "allgather"),   // slices of 50 < 64 coordinates
        ]
        // Without error feedback: unbiased compressors take the two stages, biased ones are all-gathered.
        let unbiased: [(String, Int, String, String, String)] = [
            ("qsgd:127,coding=fixed", 4, "auto", "scatter", "qsgd-sgd:bits=8"), ("fp64", 4, "auto", "scatter", "sgd"),
            ("topk:0.1", 4, "auto", "allgather", "sgd"), ("sign", 4, "auto", "allgather", "sgd"),
            ("qsgd:15", 4, "allgather", "allgather", "sgd"), ("qsgd:15", 2, "scatter", "scatter", "sgd"),
        ]
        for (c, w, flag, resolved, method) in cases.map({ ($0.0, $0.1, $0.2, $0.3, "alg1:sigma=0.01") }) + unbiased {
            let log = dir + "/\(c)-\(w)-\(flag)-\(method).jsonl"
            var args = Self.saddle
            args[args.firstIndex(of: "alg1:sigma=0.01")!] = method
            let r = try CLIRunner.run(args + ["--compressor", c, "--workers", String(w), "--collective", flag, "--log", log])
            XCTAssertEqual(r.status, 0, r.stderr)
            let header = try json(try XCTUnwrap(try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").first))
            let config = try XCTUnwrap(header["config"] as? [String: Any])
            XCTAssertEqual(config["collective"] as? String, resolved, "\(method) \(c) W=\(w) --collective \(flag)")
        }
        // auto is the default: the same bits as saying it, others than the all-gather's.
        let plain = try json(try XCTUnwrap(try CLIRunner.run(Self.saddle + ["--compressor", "sign", "--workers", "4"]).stdout.split(separator: "\n").last))
        let auto = try json(try XCTUnwrap(try CLIRunner.run(Self.saddle + ["--compressor", "sign", "--workers", "4", "--collective", "auto"])
            .stdout.split(separator: "\n").last))
        let gathered = try json(try XCTUnwrap(try CLIRunner.run(Self.saddle + ["--compressor", "sign", "--workers", "4", "--collective", "allgather"])
            .stdout.split(separator: "\n").last))
        XCTAssertEqual(plain["params_sha256"] as? String, auto["params_sha256"] as? String)
        XCTAssertNotEqual(plain["params_sha256"] as? String, gathered["params_sha256"] as? String)
        XCTAssertLessThan(try XCTUnwrap(plain["download_bits_per_worker"] as? Int), try XCTUnwrap(gathered["download_bits_per_worker"] as? Int))
    }

    /// The paper's convolutional autoencoder (d = 210,369) on a small
    /// synthetic set over 4 workers, TopK through the two stages: the
    /// training loss falls, to within 1% of the all-gather's.
    func testAutoencoderTrainsThroughTheTwoStages() throws {
        let dir = try temporaryDirectory()
        let log = dir + "/ae.jsonl"
        let args = ["train", "--model", "mnist-ae", "--dataset", "synthetic:n=256,classes=10,shape=1x28x28", "--workers", "4",
                    "--batch", "8", "--steps", "40", "--lr", "0.5", "--method", "alg1:sigma=0.001", "--compressor", "topk:0.01",
                    "--seed", "1", "--json"]
        let r = try CLIRunner.run(args + ["--collective", "scatter", "--log", log, "--log-every", "10"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let s = try json(try XCTUnwrap(r.stdout.split(separator: "\n").last))
        let g = try CLIRunner.run(args + ["--collective", "allgather"])
        XCTAssertEqual(g.status, 0, g.stderr)
        let gatheredSummary = try json(try XCTUnwrap(g.stdout.split(separator: "\n").last))
        let gathered = try XCTUnwrap(gatheredSummary["train_loss"] as? Double)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let config = try XCTUnwrap(try json(lines[0])["config"] as? [String: Any])
        XCTAssertEqual(config["collective"] as? String, "scatter")
        let first = try json(lines[1])
        XCTAssertEqual(first["step"] as? Int, 0)
        let start = try XCTUnwrap(first["loss"] as? Double)
        let end = try XCTUnwrap(s["train_loss"] as? Double)
        XCTAssertLessThan(end, 0.98 * start, "loss \(start) → \(end)")
        XCTAssertEqual(end, gathered, accuracy: 0.01 * gathered)
        // About 1.5 messages a step received, against the all-gather's 3.
        XCTAssertLessThan(Double(try XCTUnwrap(s["download_bits_per_worker"] as? Int)),
                          0.6 * Double(try XCTUnwrap(gatheredSummary["download_bits_per_worker"] as? Int)))
    }

    func testBadInputIsOneLineAndWritesNothing() throws {
        let rows: [([String], String)] = [
            (Self.optimize + ["--collective", "ring"], "--collective 'ring' is not one of auto, allgather, scatter"),
            (["train", "--model", "mlp:64-4", "--dataset", "synthetic:n=100,classes=4,shape=1x8x8", "--collective", "ring"],
             "--collective 'ring' is not one of"),
            (["optimize", "--problem", "saddle:d=10", "--method", "sgd", "--lr", "0.1", "--compressor", "topk:0.1", "--collective", "scatter"],
             "--collective scatter without error feedback ('sgd') needs an unbiased compressor (qsgd, fp64): 'topk:0.1' is biased"),
            (["optimize", "--problem", "saddle:d=10", "--method", "sgd", "--lr", "0.1", "--compressor", "sign", "--workers", "4",
              "--collective", "scatter"], "needs an unbiased compressor (qsgd, fp64): 'sign' is biased"),
            (Self.optimize + ["--compressor", "randomk:0.1", "--workers", "4", "--collective", "scatter"],
             "--collective scatter applies to topk, sign, qsgd and fp64 messages; 'randomk"),
            (["optimize", "--problem", "saddle:d=10", "--method", "alg1:sigma=0.01,reset=on,I=50,R=1", "--lr", "0.1", "--compressor", "topk:0.1",
              "--workers", "3", "--collective", "scatter"], "the error reset"),
        ]
        for (args, says) in rows {
            let dir = try temporaryDirectory()
            let r = try CLIRunner.run(args + ["--log", "run.jsonl"], in: dir)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("csgd: error: "), r.stderr)
            XCTAssertTrue(r.stderr.contains(says), "expected '\(says)' in: \(r.stderr)")
            XCTAssertEqual(r.stdout, "")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "\(args)")
        }
    }
}
