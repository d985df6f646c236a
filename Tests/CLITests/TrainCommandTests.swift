import Foundation
import XCTest

/// `csgd train` through the real binary: a short run lowers the loss, the
/// summary has the documented keys, runs replay, and bad input is one line
/// with exit status 2.
final class TrainCommandTests: XCTestCase {
    static let fashion = "/usr/share/datasets/fashion-mnist"

    func json(_ r: CLIRunner.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last, "no output; stderr: \(r.stderr)", file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], file: file, line: line)
    }

    /// --certify-every puts λ_min in the log lines of exactly those steps
    /// (and at the end), and is refused without --certify or off the log grid.
    func testCertifyEveryTracksLambdaMinAlongTheRun() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-certify-\(getpid()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let base = ["train", "--model", "mlp:8-4-3", "--dataset", "synthetic:n=64,classes=3,shape=1x2x4", "--steps", "30",
                    "--batch", "8", "--log-every", "5"]
        let s = try json(try CLIRunner.run(base + ["--certify", "--certify-every", "10", "--log", log, "--json"]))
        XCTAssertNotNil(s["lambda_min"])
        // The step records (the header and summary lines have a `type`).
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }.filter { $0["type"] == nil }
        XCTAssertEqual(lines.compactMap { $0["step"] as? Int }, [0, 5, 10, 15, 20, 25, 30])
        for l in lines {
            let step = try XCTUnwrap(l["step"] as? Int)
            XCTAssertEqual(l["lambda_min"] != nil, step % 10 == 0, "step \(step): \(l)")
        }
        for (extra, message) in [(["--certify-every", "10"], "--certify-every needs --certify"),
                                 (["--certify", "--certify-every", "7"], "positive multiple of --log-every 5"),
                                 (["--certify", "--certify-every", "-5"], "positive multiple")] {
            let r = try CLIRunner.run(base + extra)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
    }

    /// 2,000 Fashion-MNIST images, one epoch of a small MLP over 2 workers
    /// with error-feedback TopK: the training loss falls well below its start.
    func testShortFashionMNISTRunLowersTheLoss() throws {
        guard FileManager.default.fileExists(atPath: Self.fashion) else {
            throw XCTSkip("Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)")
        }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-train-\(getpid()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let r = try CLIRunner.run(["train", "--model", "mlp:784-64-10", "--dataset", "fashion-mnist", "--train-size", "2000",
                                   "--test-size", "500", "--workers", "2", "--batch", "25", "--epochs", "2", "--lr", "0.1",
                                   "--method", "ef-sgd", "--compressor", "topk:0.1", "--log", log, "--log-every", "10", "--json"])
        let s = try json(r)
        for key in ["steps", "epochs", "train_loss", "test_loss", "test_accuracy", "grad_norm", "upload_bits_per_worker",
                    "samples_per_sec", "wall_seconds", "params", "params_sha256"] {
            XCTAssertNotNil(s[key], "summary lacks \(key)")
        }
        XCTAssertEqual(s["steps"] as? Int, 80)
        XCTAssertEqual(s["params"] as? Int, 784 * 64 + 64 + 64 * 10 + 10)
        // samples/s is the training loop's rate: the final evaluation on the
        // test set is reported apart (eval_seconds, within wall_seconds).
        let wall = try XCTUnwrap(s["wall_seconds"] as? Double), eval = try XCTUnwrap(s["eval_seconds"] as? Double)
        XCTAssertGreaterThan(eval, 0)
        XCTAssertLessThan(eval, wall)
        let rate = try XCTUnwrap(s["samples_per_sec"] as? Double), expected = 80.0 * 25 * 2 / (wall - eval)
        XCTAssertEqual(rate, expected, accuracy: 1e-9 * expected)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])   // after the header
        XCTAssertEqual(first["step"] as? Int, 0)
        let start = try XCTUnwrap(first["loss"] as? Double)
        let end = try XCTUnwrap(s["train_loss"] as? Double)
        XCTAssertLessThan(end, 0.6 * start, "loss \(start) → \(end)")
        XCTAssertGreaterThan(try XCTUnwrap(s["test_accuracy"] as? Double), 0.5)
    }

    /// Same seed, same bits; another seed, other bits.
    func testSyntheticRunReplaysBitForBit() throws {
        let args = ["train", "--model", "mlp:64-16-4", "--dataset", "synthetic:n=400,classes=4,shape=1x8x8", "--workers", "3",
                    "--batch", "8", "--steps", "30", "--method", "alg1:sigma=0.001", "--compressor", "randomk:0.1", "--json"]
        let a = try json(try CLIRunner.run(args + ["--seed", "5"]))
        let b = try json(try CLIRunner.run(args + ["--seed", "5"]))
        let c = try json(try CLIRunner.run(args + ["--seed", "6"]))
        XCTAssertEqual(a["params_sha256"] as? String, b["params_sha256"] as? String)
        XCTAssertNotEqual(a["params_sha256"] as? String, c["params_sha256"] as? String)
        // RandomK sends K = ⌈0.1·d⌉ values of 32 bits a step.
        let d = 64 * 16 + 16 + 16 * 4 + 4
        let k = Int((0.1 * Double(d)).rounded())
        XCTAssertEqual(a["upload_bits_per_worker"] as? Int, 30 * 32 * k)
    }

    /// `bench-train --json` prints the documented keys at the top level.
    func testBenchTrainJSONKeys() throws {
        let s = try json(try CLIRunner.run(["bench-train", "--model", "mlp:784-16-10", "--batch", "8", "--steps", "3",
                                            "--warmup", "1", "--threads", "1", "--json"]))
        XCTAssertEqual(s["params"] as? Int, 784 * 16 + 16 + 16 * 10 + 10)
        // Both rates come from one timing: samples/s · ms/step = 1000 · batch.
        let rate = try XCTUnwrap(s["samples_per_sec"] as? Double), ms = try XCTUnwrap(s["ms_per_step"] as? Double)
        XCTAssertEqual(rate * ms, 1000 * 8, accuracy: 1e-9 * 8000, "samples_per_sec \(rate), ms_per_step \(ms)")
        XCTAssertEqual(s["batch"] as? Int, 8)
        XCTAssertEqual(s["steps"] as? Int, 3)
    }

    /// The table's counts are 64-bit: past 2³¹ bits they are the JSON
    /// summary's, not wrapped to a negative or smaller number.
    func testTableBitCountsPast32Bits() throws {
        let args = ["train", "--model", "mlp:784-2000-10", "--dataset", "synthetic:n=64", "--steps", "50", "--batch", "1", "--threads", "1"]
        let bits = try XCTUnwrap(try json(try CLIRunner.run(args + ["--json"]))["upload_bits_per_worker"] as? Int)
        XCTAssertGreaterThan(bits, Int(Int32.max))
        let r = try CLIRunner.run(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        let row = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("upload bits/worker") }, r.stdout)
        XCTAssertEqual(row.split(separator: " ").dropFirst(2).first.map(String.init), String(bits), String(row))
    }

    func testBadInputIsOneLineWithStatus2() throws {
        let base = ["train", "--dataset", "synthetic:n=100,classes=4,shape=1x8x8", "--steps", "2"]
        let cases: [([String], String)] = [
            (base + ["--model", "transformer"], "model 'transformer' is not known"),
            (base + ["--model", "mlp:abc"], "model 'mlp': width = 'abc' is not an integer"),
            (base + ["--model", "mlp:64-4", "--partition", "dirichlet:-1"], "partition 'dirichlet': α = -1 must be positive"),
            (base + ["--model", "mlp:64-4", "--method", "alg1:sigma=0.1", "--noise", "0.1"], "--noise 0.1 and the method's own r=/sigma=: give one"),
            (["train", "--model", "mlp:64-4", "--dataset", "imagenet"], "imagenet"),
            (base + ["--model", "mlp:64-4", "--batch", "0"], "--batch"),
            (base + ["--model", "mlp:64-4", "--lr", "-1"], "--lr"),
            (base + ["--model", "mlp:64-4", "--workers", "0"], "--workers"),
            (base + ["--model", "mlp:64-4", "--partition", "by-class", "--workers", "5"], "worker"),
            (base + ["--model", "mlp:64-4", "--partition", "dirichlet:0"], "dirichlet"),
            (base + ["--model", "mlp:64-4", "--method", "sgd", "--noise", "0.1"], "--noise: method 'sgd' adds no noise (use alg1 or psgd)"),
            (["train", "--model", "mnist-ae", "--dataset", "fashion-mnist", "--data-dir", "/nonexistent/fmnist"], "/nonexistent/fmnist"),
            (["train", "--model", "mnist-ae", "--dataset", "mnist"], "--data-dir"),
        ]
        for (args, needle) in cases {
            let r = try CLIRunner.run(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), "\(args): '\(r.stderr)' should name \(needle)")
            XCTAssertTrue(r.stdout.isEmpty, "\(args): \(r.stdout)")
        }
    }

    func testMissingDebianDataNamesThePackage() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-empty-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLIRunner.run(["train", "--model", "mnist-ae", "--dataset", "fashion-mnist", "--data-dir", dir.path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains(dir.path), r.stderr)
        XCTAssertTrue(r.stderr.contains("dataset-fashion-mnist"), r.stderr)
    }

    /// A test split whose images have another shape than the training
    /// images is refused in one line before anything runs (it used to trap
    /// after training, when the test set met the model).
    func testTestSplitOfAnotherShapeIsRefusedUpFront() throws {
        let dir = tempDir()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8((v >> $0) & 0xff) } }
        func images(_ n: Int, _ rows: Int, _ cols: Int) -> [UInt8] {
            be32(0x0803) + be32(n) + be32(rows) + be32(cols) + (0..<(n * rows * cols)).map { UInt8($0 % 251) }
        }
        func labels(_ n: Int) -> [UInt8] { be32(0x0801) + be32(n) + (0..<n).map { UInt8($0 % 10) } }
        try Data(images(40, 4, 3)).write(to: dir.appendingPathComponent("train-images-idx3-ubyte"))
        try Data(labels(40)).write(to: dir.appendingPathComponent("train-labels-idx1-ubyte"))
        try Data(images(10, 2, 2)).write(to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Data(labels(10)).write(to: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
        let log = dir.appendingPathComponent("run.jsonl")
        let r = try CLIRunner.run(["train", "--dataset", "mnist", "--data-dir", dir.path, "--model", "mlp:12-8-10",
                                   "--steps", "3", "--batch", "4", "--log", log.path])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("the test images are 1×2×2, the training images 1×4×3"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: log.path), "a refused run wrote its log")
    }
}
