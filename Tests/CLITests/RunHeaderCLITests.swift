import Foundation
import XCTest

/// What a run says about itself: `csgd --version`, the header line at the
/// top of every `--log` (and the `header` key of the `--json` summary), the
/// summary line at its end, and `csgd rerun`, which re-runs a log's header
/// and compares the new `params_sha256` with the log's.
final class RunHeaderCLITests: XCTestCase {
    var directories: [String] = []
    override func tearDown() { for d in directories { try? FileManager.default.removeItem(atPath: d) } }

    func temporaryDirectory() throws -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-header-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        directories.append(p)
        return p
    }

    static let optimize = ["optimize", "--problem", "saddle:d=10", "--method", "alg1:sigma=0.01", "--compressor", "randomk:0.1",
                           "--lr", "0.05", "--steps", "40", "--log-every", "10", "--workers", "2", "--seed", "7"]
    static let train = ["train", "--model", "mlp:8-4-3", "--dataset", "synthetic:n=64,classes=3,shape=1x2x4", "--steps", "12",
                        "--batch", "8", "--log-every", "4", "--workers", "2", "--method", "ef-sgd", "--compressor", "topk:0.25",
                        "--seed", "3"]

    /// A log's lines as JSON objects.
    func lines(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0), file: file, line: line)
        }
    }

    /// The JSON summary a run printed.
    func summary(_ r: CLIRunner.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last, "no output; stderr: \(r.stderr)", file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], file: file, line: line)
    }

    /// The package's directory (this file is Tests/CLITests/…).
    static let packageDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `git` in the package directory, or nil when it fails.
    func git(_ args: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", Self.packageDirectory.path] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// `csgd X.Y.Z (commit abcdef1[, modified])`, the commit the sources were built from.
    func testVersionNamesTheVersionAndTheCommit() throws {
        let r = try CLIRunner.run(["--version"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let pattern = #"^csgd [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{7}(, modified)?|unknown)\)\n$"#
        XCTAssertNotNil(r.stdout.range(of: pattern, options: .regularExpression), r.stdout.debugDescription)
        // Built in this checkout: the commit is HEAD's, or one before it when
        // a commit was made after the build (git exits 0 for HEAD itself).
        if git(["rev-parse", "HEAD"]) != nil, let named = r.stdout.firstMatch(of: /\(commit ([0-9a-f]{7})/)?.1 {
            XCTAssertNotNil(git(["merge-base", "--is-ancestor", String(named), "HEAD"]), "\(r.stdout) names no commit of HEAD's history")
        }
    }

    /// Every key of the header of a known `optimize` command, the records
    /// after it unchanged, and the summary line at the end.
    func testOptimizeHeaderDescribesTheRun() throws {
        let dir = try temporaryDirectory(), log = dir + "/run.jsonl"
        let arguments = Self.optimize + ["--log", log, "--json"]
        let s = try summary(try CLIRunner.run(arguments))
        let all = try lines(log)
        let header = try XCTUnwrap(all.first)
        XCTAssertEqual(header["type"] as? String, "header")
        let version = try CLIRunner.run(["--version"]).stdout
        XCTAssertTrue(version.hasPrefix("csgd \(try XCTUnwrap(header["csgd_version"] as? String)) "), version)
        if let commit = header["git_commit"] as? String {
            XCTAssertTrue(version.contains("(commit \(commit)"), "\(commit) vs \(version)")
            XCTAssertNotNil(header["git_modified"] as? Bool)
        } else {
            XCTAssertTrue(version.contains("(commit unknown)"), version)
        }
        XCTAssertEqual(header["command"] as? String, "optimize")
        XCTAssertEqual(header["argv"] as? [String], arguments)
        let config = try XCTUnwrap(header["config"] as? [String: Any])
        XCTAssertEqual(config["method"] as? String, "alg1:sigma=0.01")
        let options = try XCTUnwrap(config["method_options"] as? [String: String])
        XCTAssertEqual(options["noise"], "sigma(0.01)")
        XCTAssertEqual(options["variant"], "arxiv")
        XCTAssertEqual(options["reset"], "off")
        XCTAssertEqual(options["theory"], "false")
        XCTAssertEqual(options["batch"], "1")
        XCTAssertEqual(options["eta"], "none")
        XCTAssertEqual(options["deferred_noise"], "false")
        XCTAssertEqual(options.count, 7, "\(options)")
        XCTAssertEqual(config["compressor"] as? String, "randomk:0.1")
        XCTAssertEqual(config["eta"] as? Double, 0.05)
        XCTAssertEqual(config["seed"] as? Int, 7)
        XCTAssertEqual(config["workers"] as? Int, 2)
        XCTAssertEqual(config["batch"] as? Int, 1)
        XCTAssertEqual(config["steps"] as? Int, 40)
        XCTAssertEqual(config["backend"] as? String, "inproc")
        // The problem's canonical spec, its defaults included.
        XCTAssertEqual(config["problem"] as? String, "saddle:d=10,gamma=1,start=saddle,scale=1,noise=0,seed=1")
        XCTAssertNil(config["model"])
        let machine = try XCTUnwrap(header["machine"] as? [String: Any])
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
        XCTAssertEqual(machine["cpu"] as? String, model ?? "unknown CPU")
        XCTAssertEqual(machine["cores"] as? Int, ProcessInfo.processInfo.activeProcessorCount)
        XCTAssertTrue(["avx512", "avx2", "software-aes", "portable"].contains(try XCTUnwrap(machine["instruction_path"] as? String)))
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        if ["avx512f", "avx512bw", "vaes"].allSatisfy(flags.contains) { XCTAssertEqual(machine["instruction_path"] as? String, "avx512") }
        XCTAssertFalse(try XCTUnwrap(machine["blas_core"] as? String).isEmpty)
        // The records in between are as before; the last line is the summary.
        XCTAssertEqual(all.dropFirst().dropLast().map { $0["step"] as? Int }, [0, 10, 20, 30, 40])
        XCTAssertTrue(all.dropFirst().dropLast().allSatisfy { $0["type"] == nil })
        let last = try XCTUnwrap(all.last)
        XCTAssertEqual(last["type"] as? String, "summary")
        XCTAssertEqual(last["params_sha256"] as? String, s["params_sha256"] as? String)
        XCTAssertEqual(last["steps"] as? Int, 40)
        // The --json summary carries the same header.
        XCTAssertEqual(try XCTUnwrap(s["header"] as? NSDictionary), header as NSDictionary)
    }

    /// Momentum, weight decay and a schedule are part of the resolved configuration.
    func testHeaderNamesTheOptimizerOptions() throws {
        let dir = try temporaryDirectory(), log = dir + "/run.jsonl"
        _ = try summary(try CLIRunner.run(Self.optimize + ["--momentum", "0.9", "--momentum-at", "worker", "--weight-decay", "0.01",
                                                          "--log", log, "--json"]))
        let header = try XCTUnwrap(try lines(log).first)
        let config = try XCTUnwrap(header["config"] as? [String: Any])
        XCTAssertEqual(config["optimizer"] as? String, "worker-momentum=0.9,weight-decay=0.01")
    }

    /// `train`'s header: model, data, partition, batch and threads as the run resolved them.
    func testTrainHeaderDescribesTheRun() throws {
        let dir = try temporaryDirectory(), log = dir + "/run.jsonl"
        let s = try summary(try CLIRunner.run(Self.train + ["--log", log, "--json"]))
        let header = try XCTUnwrap(try lines(log).first)
        XCTAssertEqual(header["command"] as? String, "train")
        let config = try XCTUnwrap(header["config"] as? [String: Any])
        // Canonical specs, their defaults included (the synthetic set's test split is its own 12 samples).
        XCTAssertEqual(config["model"] as? String, "mlp:8-4-3,act=relu,dropout=0")
        XCTAssertEqual(config["data"] as? String, "synthetic:n=64,classes=3,shape=1x2x4,seed=1,noise=0.3: 64 train / 12 test")
        XCTAssertEqual(config["partition"] as? String, "iid")
        XCTAssertEqual(config["optimizer"] as? String, "none")
        XCTAssertEqual(config["method"] as? String, "ef-sgd")
        XCTAssertEqual((config["method_options"] as? [String: String])?["batch"], "8")
        XCTAssertEqual(config["compressor"] as? String, "topk:0.25")
        XCTAssertEqual(config["eta"] as? Double, 0.1)
        XCTAssertEqual(config["batch"] as? Int, 8)
        XCTAssertEqual(config["workers"] as? Int, 2)
        XCTAssertEqual(config["steps"] as? Int, 12)
        XCTAssertEqual(config["threads"] as? Int, max(1, ProcessInfo.processInfo.activeProcessorCount / 2))
        XCTAssertNil(config["problem"])
        XCTAssertEqual(try XCTUnwrap(s["header"] as? NSDictionary), header as NSDictionary)
    }

    /// Runs `arguments` with a log, then `csgd rerun` on that log: the same params_sha256.
    func assertRerunMatches(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try temporaryDirectory(), log = dir + "/run.jsonl", again = dir + "/again.jsonl"
        let original = try summary(try CLIRunner.run(arguments + ["--log", log, "--json"]), file: file, line: line)
        let before = try Data(contentsOf: URL(fileURLWithPath: log))
        let r = try CLIRunner.run(["rerun", log, "--log", again])
        let rerun = try summary(r, file: file, line: line)
        XCTAssertEqual(rerun["params_sha256"] as? String, original["params_sha256"] as? String, file: file, line: line)
        XCTAssertTrue(r.stderr.contains("matches"), r.stderr, file: file, line: line)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: log)), before, "the source log changed", file: file, line: line)
        // The new log is a log of the same run: its records are the original's (less the wall clock).
        func steps(_ path: String) throws -> [String] {
            try lines(path, file: file, line: line).filter { $0["type"] == nil }.map { "\($0["step"] ?? "-") \($0["loss"] ?? "-") \($0["upload_bits"] ?? "-")" }
        }
        XCTAssertEqual(try steps(again), try steps(log), file: file, line: line)
        let header = try XCTUnwrap(try lines(again).first, file: file, line: line)
        XCTAssertEqual((header["argv"] as? [String])?.first, arguments.first, file: file, line: line)
    }

    func testRerunOfAnOptimizeRunGivesItsParameters() throws {
        try assertRerunMatches(Self.optimize)
    }

    func testRerunOfATrainRunGivesItsParameters() throws {
        try assertRerunMatches(Self.train)
    }

    /// A resumed log has a header a segment; the last one (the whole command,
    /// completed from the checkpoint directory) reruns from step 0 to the
    /// resumed run's end.
    func testRerunOfAResumedLogRunsItsLastHeader() throws {
        let dir = try temporaryDirectory(), log = dir + "/run.jsonl", ckpt = dir + "/ckpt"
        let first = Self.optimize.map { $0 == "40" ? "20" : $0 } + ["--log", log, "--checkpoint", ckpt, "--checkpoint-every", "10"]
        XCTAssertEqual(try CLIRunner.run(first).status, 0)
        let resumed = try summary(try CLIRunner.run(["optimize", "--resume", "--checkpoint", ckpt, "--steps", "40", "--log", log, "--json"]))
        let all = try lines(log)
        XCTAssertEqual(all.map { ($0["type"] as? String) ?? String(($0["step"] as? Int) ?? -1) },
                       ["header", "0", "10", "header", "20", "30", "40", "summary"])
        let second = try XCTUnwrap(all[3]["argv"] as? [String])
        XCTAssertTrue(second.contains("--resume") && second.contains("--problem"), "\(second)")
        XCTAssertEqual((all[3]["config"] as? [String: Any])?["steps"] as? Int, 40)
        let r = try CLIRunner.run(["rerun", log])
        XCTAssertEqual(try summary(r)["params_sha256"] as? String, resumed["params_sha256"] as? String)
        XCTAssertTrue(r.stderr.contains("matches"), r.stderr)
    }

    /// A summary line whose params_sha256 the rerun does not reach: one line, exit 4.
    func testRerunThatEndsElsewhereIsOneLineAndExitFour() throws {
        let dir = try temporaryDirectory(), log = dir + "/run.jsonl"
        let s = try summary(try CLIRunner.run(Self.optimize + ["--log", log, "--json"]))
        let hash = try XCTUnwrap(s["params_sha256"] as? String)
        let other = String(repeating: "0", count: 64)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        try text.replacingOccurrences(of: hash, with: other).write(toFile: log, atomically: true, encoding: .utf8)
        let r = try CLIRunner.run(["rerun", log])
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("csgd: error: params_sha256 \(hash) differs from the log's \(other)"), r.stderr)
    }

    /// A log whose run did not finish (no summary line) is rerun and says so.
    func testRerunOfALogWithoutSummaryRunsAndSaysSo() throws {
        let dir = try temporaryDirectory(), log = dir + "/run.jsonl"
        let s = try summary(try CLIRunner.run(Self.optimize + ["--log", log, "--json"]))
        let kept = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").dropLast().joined(separator: "\n") + "\n"
        try kept.write(toFile: log, atomically: true, encoding: .utf8)
        let r = try CLIRunner.run(["rerun", log])
        XCTAssertEqual(try summary(r)["params_sha256"] as? String, s["params_sha256"] as? String)
        XCTAssertTrue(r.stderr.contains("has no summary line"), r.stderr)
    }
}
