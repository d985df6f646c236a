import Foundation
import XCTest
@testable import Reproduce

/// The scheduler runs each missing run once, keeps finished runs and
/// failures under their key, and leaves nothing half-written.
final class RunSchedulerTests: XCTestCase {
    /// Pretends to be csgd: writes one log line to --log and a summary to
    /// stdout; `fail` names seeds that exit 3 with an error line.
    final class FakeLauncher: RunLauncher, @unchecked Sendable {
        let lock = NSLock()
        var launched: [[String]] = []
        var fail: Set<String> = []

        func launch(arguments: [String], stdout: URL, stderr: URL) throws -> Int32 {
            lock.lock(); launched.append(arguments); lock.unlock()
            let seed = arguments[arguments.firstIndex(of: "--seed")! + 1]
            if fail.contains(seed) {
                try Data("step 3\ncsgd: error: non-finite iterate (NaN or Inf) at step 3; stopping\n".utf8).write(to: stderr)
                return 3
            }
            let log = URL(fileURLWithPath: arguments[arguments.firstIndex(of: "--log")! + 1])
            let record = #"{"step":0,"loss":1,"grad_norm":2,"stochastic_grad_norm":0,"update_norm":0,"error_norm":0,"resets":0,"upload_bits":0,"download_bits":0,"wall_seconds":0}"#
            try Data((record + "\n").utf8).write(to: log)
            let summary = #"{"steps":1,"final_loss":0.5,"grad_norm":0.1,"resets":0,"upload_bits_per_worker":32,"download_bits_per_worker":0,"wall_seconds":0.25,"params_sha256":"ab"}"#
            try Data(("progress\n" + summary + "\n").utf8).write(to: stdout)
            return 0
        }
    }

    func specs(_ n: Int) -> [RunSpec] {
        (1...n).map { RunSpec(arguments: ["optimize", "--problem", "saddle", "--seed", "\($0)"], group: "g", seed: $0) }
    }

    func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-sched-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: u) }
        return u
    }

    func testRunsOnceKeepsFilesAndFailuresAndResumes() throws {
        let dir = try tempDir()
        let launcher = FakeLauncher()
        launcher.fail = ["3"]
        let store = RunStore(directory: dir)
        let scheduler = RunScheduler(store: store, launcher: launcher, jobs: 2)
        let progress = ProgressBox()
        // A killed reproduction's leftovers (its process gone) are removed and
        // never read as a run; a live one's (this process) are left alone.
        try store.prepare()
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let stale = store.runsDirectory.appendingPathComponent(".\(specs(1)[0].key).tmp-\(gone.processIdentifier).jsonl")
        let live = store.runsDirectory.appendingPathComponent(".feedfeedfeedfeed.tmp-\(getpid()).jsonl")
        for u in [stale, live] { try Data("{\"step\":0".utf8).write(to: u) }
        try scheduler.run(specs(4)) { progress.add($0) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path))
        try FileManager.default.removeItem(at: live)
        XCTAssertEqual(launcher.launched.count, 4)
        XCTAssertEqual(progress.last?.done, 4)
        XCTAssertEqual(progress.last?.total, 4)
        for s in specs(4) {
            if s.seed == 3 {
                XCTAssertFalse(store.isFinished(s))
                XCTAssertEqual(scheduler.failure(s), "exit 3: csgd: error: non-finite iterate (NaN or Inf) at step 3; stopping")
            } else {
                let r = try store.load(s)
                XCTAssertEqual(r.records.count, 1)
                XCTAssertEqual(r.summary.uploadBitsPerWorker, 32)
                XCTAssertNil(scheduler.failure(s))
            }
            let args = try String(contentsOf: store.argumentsURL(s), encoding: .utf8)
            XCTAssertEqual(args, "csgd optimize --problem saddle --seed \(s.seed)\n")
        }
        // No temporary file is left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: store.runsDirectory.path)
        XCTAssertFalse(names.contains { $0.hasPrefix(".") }, "\(names)")
        // A second pass (resume) launches only the new run.
        try scheduler.run(specs(5)) { progress.add($0) }
        XCTAssertEqual(launcher.launched.count, 5)
        XCTAssertEqual(launcher.launched.last?.contains("5"), true)
    }

    func testKeyDependsOnEveryArgument() {
        let a = RunSpec(arguments: ["optimize", "--seed", "1"], group: "g", seed: 1)
        let b = RunSpec(arguments: ["optimize", "--seed", "2"], group: "g", seed: 1)
        let c = RunSpec(arguments: ["optimize", "--seed", "1"], group: "other", seed: 1)
        XCTAssertNotEqual(a.key, b.key)
        XCTAssertEqual(a.key, c.key, "the key names the command, not its label")
        XCTAssertEqual(a.key.count, 16)
        XCTAssertEqual(RunSpec(arguments: ["train", "--method", "alg1:sigma=0.01", "a b"], group: "", seed: 0).commandLine,
                       "csgd train --method alg1:sigma=0.01 'a b'")
    }

    final class ProgressBox: @unchecked Sendable {
        let lock = NSLock()
        var all: [RunScheduler.Progress] = []
        func add(_ p: RunScheduler.Progress) { lock.lock(); all.append(p); lock.unlock() }
        var last: RunScheduler.Progress? { lock.lock(); defer { lock.unlock() }; return all.last }
    }
}
