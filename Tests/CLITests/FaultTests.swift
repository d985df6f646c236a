import Foundation
import XCTest

/// Faults a long run meets, through the built `csgd`:
///
/// - a full disk at every write site: the run's files (`--log`, the
///   checkpoint directory, the JSON summary on standard output) on a small
///   tmpfs, swept page by page (4 KiB) from too small for anything to large
///   enough for the run, and by inode count (so that creating a file or a
///   directory fails): each failing size is one line naming the file and
///   "No space left on device", exit status 1, a log of whole JSON lines,
///   and the previous checkpoint complete, resuming (from a roomy copy) to
///   the bits of a run never stopped; `reproduce` on a full disk likewise;
/// - SIGTERM and SIGINT: with `--checkpoint`, a checkpoint at the step
///   reached, one line saying how to resume and exit 0, and the resume ends
///   with the bits of a run never stopped; without, one line and 128 + the
///   signal;
/// - a rank SIGKILLed under `mpirun` at a seeded step: every process gone
///   within 10 s with a non-zero status, and the last checkpoint resumes
///   bit for bit (3 trials here, 20 in `scripts/fault-mpi-kill`);
/// - memory: 2·10⁴ steps of W = 8 in-process workers, resident memory flat
///   between step 10³ and the end (10⁶ steps in `scripts/soak`).
///
/// Mounting a tmpfs needs root (CAP_SYS_ADMIN); without it those tests skip.
final class FaultTests: XCTestCase {
    var cleanups: [() -> Void] = []

    override func tearDown() {
        for c in cleanups.reversed() { c() }
        cleanups = []
    }

    func temporaryDirectory() throws -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-faults-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        cleanups.append { try? FileManager.default.removeItem(atPath: p) }
        return p
    }

    /// Runs a program to completion (killed after `timeout` seconds).
    @discardableResult
    static func execute(_ path: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// A fresh tmpfs of `kib` KiB (and at most `inodes` files and
    /// directories), unmounted at tear-down; skips the test when mounting
    /// is not permitted.
    func tmpfs(kib: Int, inodes: Int? = nil) throws -> String {
        let dir = try temporaryDirectory()
        let options = "size=\(kib)k" + (inodes.map { ",nr_inodes=\($0)" } ?? "")
        guard try Self.execute("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]) == 0 else {
            throw XCTSkip("cannot mount a tmpfs (needs root): the full-disk cases are not run")
        }
        cleanups.append { _ = try? Self.execute("/bin/umount", ["-l", dir]) }
        return dir
    }

    /// Runs `csgd args` with standard output into the file `stdout` (created
    /// empty) or captured, and standard error captured.
    static func csgd(_ args: [String], stdout path: String? = nil) throws -> CLIRunner.Result {
        guard let path else { return try CLIRunner.run(args) }
        guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else {
            throw CSGDTestFailure("cannot create \(path)")
        }
        defer { try? out.close() }
        let p = Process()
        p.executableURL = CLIRunner.executable
        p.arguments = args
        p.standardOutput = out
        let err = Pipe()
        p.standardError = err
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let o = FileManager.default.contents(atPath: path) ?? Data()
        return CLIRunner.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    struct CSGDTestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    static func summary(_ r: CLIRunner.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last, "no output; stderr: \(r.stderr)", file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], file: file, line: line)
    }

    /// The steps of a log's lines; fails unless the file is whole JSON lines.
    static func logSteps(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Int] {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return [] }
        XCTAssertEqual(data.last, UInt8(ascii: "\n"), "\(path) does not end on a whole line", file: file, line: line)
        return try data.split(separator: UInt8(ascii: "\n")).compactMap { l in
            let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(l)) as? [String: Any], "\(path): not a JSON line", file: file, line: line)
            // A header or summary line (`type`) is not a step's record.
            guard obj["type"] == nil else { return nil }
            return try XCTUnwrap(obj["step"] as? Int, file: file, line: line)
        }
    }

    /// Which write a full disk stopped, from its error line.
    static func site(of message: String) -> String {
        if message.contains("the log '") { return "log" }
        if message.contains("standard output") { return "summary" }
        if message.contains("MANIFEST") { return "MANIFEST" }
        if message.contains("/COMMAND'") { return "COMMAND" }
        if message.contains(".ckpt") { return "rank file" }
        if message.contains("checkpoint directory") { return "checkpoint directory" }
        return "other"
    }

    // MARK: - A full disk

    /// One run on a disk too small for it: one line naming a file inside
    /// the disk (or standard output) and "No space left on device", exit 1,
    /// no backtrace, a log of whole lines that is a prefix of the reference
    /// log, and, when a checkpoint was complete, a resume from a roomy copy
    /// of the disk that ends with the reference bits and log. Returns the
    /// write site that failed (nil when the run fitted).
    func checkFullDisk(_ args: [String], disk: String, every: Int, reference: (sha: String, steps: [Int])) throws -> String? {
        let log = disk + "/run.jsonl", ckpt = disk + "/ckpt"
        let r = try Self.csgd(args + ["--log", log, "--checkpoint", ckpt, "--checkpoint-every", String(every)], stdout: disk + "/summary.json")
        if r.status == 0 {
            XCTAssertEqual(try Self.summary(r)["params_sha256"] as? String, reference.sha)
            return nil
        }
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(lines.count, 1, "not one line: \(r.stderr)")
        let message = String(lines.first ?? "")
        XCTAssertTrue(message.hasPrefix("csgd: error: "), message)
        XCTAssertTrue(message.contains("No space left on device"), message)
        XCTAssertTrue(message.contains("'\(disk)/") || message.contains("standard output"), "names no file on the disk: \(message)")
        let steps = try Self.logSteps(log)
        XCTAssertEqual(steps, Array(reference.steps.prefix(steps.count)), message)
        if let last = CheckpointCLITests.completeSteps(ckpt).last {
            let copy = try temporaryDirectory() + "/disk"
            try FileManager.default.copyItem(atPath: disk, toPath: copy)
            let resumed = try Self.csgd(args + ["--log", copy + "/run.jsonl", "--checkpoint", copy + "/ckpt",
                                                "--checkpoint-every", String(every), "--resume"])
            XCTAssertEqual(try Self.summary(resumed)["params_sha256"] as? String, reference.sha, "resumed from step \(last) after: \(message)")
            XCTAssertEqual(try Self.logSteps(copy + "/run.jsonl"), reference.steps, "resumed from step \(last)")
        }
        return Self.site(of: message)
    }

    /// The uninterrupted run's bits and log steps.
    func reference(_ args: [String], every: Int) throws -> (sha: String, steps: [Int]) {
        let dir = try temporaryDirectory()
        let r = try Self.csgd(args + ["--log", dir + "/run.jsonl", "--checkpoint", dir + "/ckpt", "--checkpoint-every", String(every)])
        return (try XCTUnwrap(try Self.summary(r)["params_sha256"] as? String), try Self.logSteps(dir + "/run.jsonl"))
    }

    /// Sweeps the disk's size page by page until the run fits, then its
    /// inode count; returns the write sites that failed.
    func sweep(_ args: [String], every: Int, pagesUpTo: Int, pageStride: Int = 1) throws -> [String: Int] {
        let ref = try reference(args, every: every)
        var sites: [String: Int] = [:]
        var fitted = false
        for pages in stride(from: 1, through: pagesUpTo, by: pageStride) {
            guard let site = try checkFullDisk(args, disk: try tmpfs(kib: 4 * pages), every: every, reference: ref) else {
                fitted = true
                break
            }
            sites[site, default: 0] += 1
        }
        XCTAssertTrue(fitted, "the run did not fit in \(pagesUpTo) pages")
        // Room enough, but too few inodes: creating a directory or a file fails.
        for inodes in 2...9 {
            if let site = try checkFullDisk(args, disk: try tmpfs(kib: 4 * pagesUpTo, inodes: inodes), every: every, reference: ref) {
                sites[site + " (inodes)", default: 0] += 1
            }
        }
        return sites
    }

    /// `optimize` with the log, the checkpoints and the summary on a disk
    /// that fills up: the log, a rank file and the MANIFEST each fail in
    /// turn (and, by inode count, creating a step directory or a file).
    func testOptimizeOnAFullDisk() throws {
        let args = ["optimize", "--problem", "saddle:d=1000", "--method", "alg1:sigma=0.01", "--compressor", "randomk:0.1",
                    "--lr", "0.05", "--steps", "120", "--log-every", "5", "--workers", "2", "--seed", "7", "--json"]
        let sites = try sweep(args, every: 40, pagesUpTo: 24)
        print("optimize, full-disk sites:", sites.sorted { $0.key < $1.key })
        for s in ["log", "rank file", "MANIFEST"] { XCTAssertNotNil(sites[s], "no size made the \(s) fail: \(sites)") }
        XCTAssertNil(sites["other"], "\(sites)")
    }

    /// `train` likewise.
    func testTrainOnAFullDisk() throws {
        let args = ["train", "--model", "mlp:64-32-4", "--dataset", "synthetic:n=400,classes=4,shape=1x8x8", "--workers", "2",
                    "--steps", "60", "--batch", "10", "--log-every", "3", "--seed", "5", "--json"]
        let sites = try sweep(args, every: 20, pagesUpTo: 40)
        print("train, full-disk sites:", sites.sorted { $0.key < $1.key })
        for s in ["log", "rank file", "MANIFEST"] { XCTAssertNotNil(sites[s], "no size made the \(s) fail: \(sites)") }
        XCTAssertNil(sites["other"], "\(sites)")
    }

    /// The JSON summary on a full disk (the log and checkpoints elsewhere):
    /// one line naming standard output, exit 1; the checkpoints are whole.
    func testSummaryOnAFullDisk() throws {
        let disk = try tmpfs(kib: 4)
        FileManager.default.createFile(atPath: disk + "/filler", contents: Data(count: 4096))
        let dir = try temporaryDirectory()
        let r = try Self.csgd(["optimize", "--problem", "saddle:d=50", "--method", "sgd", "--lr", "0.05", "--steps", "100",
                               "--log", dir + "/run.jsonl", "--checkpoint", dir + "/ckpt", "--checkpoint-every", "50", "--json"],
                              stdout: disk + "/summary.json")
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr, "csgd: error: cannot write standard output: No space left on device\n")
        // The run's final checkpoint (step 100) is written before the summary.
        XCTAssertEqual(CheckpointCLITests.completeSteps(dir + "/ckpt"), [100])
        XCTAssertEqual(try Self.logSteps(dir + "/run.jsonl"), [0, 100])
    }

    /// `reproduce` into a full output directory, at three sizes (a run's
    /// files, a summary, the report page fail in turn): one line naming a
    /// file there and "No space left on device", exit 1; no run is kept as
    /// failed for it, and `--resume` on a roomy copy of the smallest
    /// finishes the report.
    func testReproduceOnAFullDisk() throws {
        var named: [String] = []
        for kib in [8, 40, 64] {
            let disk = try tmpfs(kib: kib)
            let out = disk + "/out"
            let r = try Self.csgd(["reproduce", "relu-rate", "--quick", "--runs", "1", "--jobs", "1", "--out", out])
            XCTAssertEqual(r.status, 1, r.stderr)
            let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("csgd: error:") }
            XCTAssertEqual(lines.count, 1, r.stderr)
            let line = String(lines.first ?? "")
            XCTAssertTrue(line.contains("No space left on device") && line.contains("'\(out)/"), r.stderr)
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
            named.append(URL(fileURLWithPath: String(line.split(separator: "'")[1])).pathExtension)
            let runs = (try? FileManager.default.contentsOfDirectory(atPath: out + "/relu-rate/runs")) ?? []
            XCTAssertTrue(runs.filter { $0.hasSuffix(".failed") }.isEmpty, "kept as failed: \(runs)")
            guard kib == 8 else { continue }
            let copy = try temporaryDirectory() + "/out"
            try FileManager.default.copyItem(atPath: out, toPath: copy)
            let resumed = try Self.csgd(["reproduce", "relu-rate", "--quick", "--runs", "1", "--jobs", "1", "--out", copy, "--resume"])
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            XCTAssertTrue(FileManager.default.fileExists(atPath: copy + "/report.html"))
        }
        print("reproduce, full-disk files:", named)
        XCTAssertEqual(Set(named).count, 3, "the three sizes failed on \(named)")
    }

    // MARK: - SIGTERM and SIGINT

    /// Starts `csgd args` in the background, standard error into a pipe.
    static func start(_ args: [String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = CLIRunner.executable
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        return (p, err)
    }

    /// Waits until the log at `path` has a line of step ≥ `step` (at most 60 s).
    static func waitForLog(_ path: String, step: Int) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            // The newest step record (a finished log ends with a summary line, which has a "type" and no step).
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               let s = text.split(separator: "\n").dropLast(text.hasSuffix("\n") ? 0 : 1).reversed().lazy
                   .compactMap({ try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
                   .first(where: { $0["type"] == nil })?["step"] as? Int, s >= step { return }
            usleep(20_000)
        }
        throw CSGDTestFailure("\(path) did not reach step \(step)")
    }

    static let longRun = ["optimize", "--problem", "saddle:d=500", "--method", "alg1:sigma=0.01", "--compressor", "randomk:0.1",
                          "--lr", "0.05", "--steps", "100000000", "--log-every", "100", "--workers", "3", "--seed", "9"]

    /// With --checkpoint: SIGTERM (then SIGINT) stops the run at the step
    /// reached with a checkpoint there, one line, exit 0; resuming to step
    /// N + 150 gives the bits of an uninterrupted run of N + 150 steps.
    func testSignalWithCheckpointStopsResumably() throws {
        for (signal, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            let dir = try temporaryDirectory()
            let ckpt = dir + "/ckpt", log = dir + "/run.jsonl"
            let (p, err) = try Self.start(Self.longRun + ["--log", log, "--checkpoint", ckpt, "--checkpoint-every", "1000000000"])
            try Self.waitForLog(log, step: 300)
            kill(p.processIdentifier, signal)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .exit, stderr)
            XCTAssertEqual(p.terminationStatus, 0, stderr)
            let steps = CheckpointCLITests.completeSteps(ckpt)
            XCTAssertEqual(steps.count, 1, "\(steps): \(stderr)")
            let n = try XCTUnwrap(steps.last)
            XCTAssertEqual(stderr, "csgd: stopped by \(name) at step \(n); resume with --resume --checkpoint \(ckpt)\n")
            XCTAssertGreaterThan(n, 300)
            let logged = try Self.logSteps(log)
            XCTAssertEqual(logged, Array(stride(from: 0, to: logged.count * 100, by: 100)))
            var finish = Self.longRun
            finish[finish.firstIndex(of: "--steps")! + 1] = String(n + 150)
            let resumed = try Self.summary(try Self.csgd(finish + ["--json", "--log", log, "--checkpoint", ckpt, "--resume"]))
            let whole = try Self.summary(try Self.csgd(finish + ["--json"]))
            XCTAssertEqual(resumed["params_sha256"] as? String, whole["params_sha256"] as? String, "\(name) at step \(n)")
            XCTAssertEqual(resumed["steps"] as? Int, n + 150)
        }
    }

    /// Without --checkpoint: one line and exit status 128 + the signal; the
    /// log is whole lines.
    func testSignalWithoutCheckpointStopsWithItsStatus() throws {
        for (signal, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            let log = try temporaryDirectory() + "/run.jsonl"
            let (p, err) = try Self.start(Self.longRun + ["--log", log])
            try Self.waitForLog(log, step: 200)
            kill(p.processIdentifier, signal)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .exit, stderr)
            XCTAssertEqual(p.terminationStatus, 128 + signal, stderr)
            XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
            XCTAssertTrue(stderr.hasPrefix("csgd: stopped by \(name)"), stderr)
            XCTAssertGreaterThanOrEqual(try Self.logSteps(log).count, 3)
        }
    }

    /// Under mpirun, SIGTERM to every rank (what mpirun itself forwards):
    /// mpirun exits 0 with rank 0's line, and resuming under mpirun to step
    /// N + 150 gives the bits of the in-process run of N + 150 steps.
    func testSIGTERMUnderMPIRunStopsResumably() throws {
        #if !MPI
        throw XCTSkip("built without the MPI trait (run `swift test --traits MPI`)")
        #else
        guard let mpirun = MPIBackendTests.mpirunPath else { throw XCTSkip("mpirun is not installed (Debian: openmpi-bin)") }
        let dir = try temporaryDirectory()
        let ckpt = dir + "/ckpt", log = dir + "/run.jsonl"
        var run = Self.longRun
        run.removeSubrange(run.firstIndex(of: "--workers")!...run.firstIndex(of: "--workers")! + 1)
        let p = MPIBackendTests.mpirunProcess(mpirun, 2, run
            + ["--backend", "mpi", "--log", log, "--checkpoint", ckpt, "--checkpoint-every", "1000000000"])
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        try Self.waitForLog(log, step: 300)
        let ranks = Self.ranks(of: p.processIdentifier)
        XCTAssertEqual(ranks.count, 2)
        for r in ranks { kill(r, SIGTERM) }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        let n = try XCTUnwrap(CheckpointCLITests.completeSteps(ckpt).last, stderr)
        XCTAssertTrue(stderr.contains("csgd: stopped by SIGTERM at step \(n); resume with --resume --checkpoint \(ckpt)"), stderr)
        run[run.firstIndex(of: "--steps")! + 1] = String(n + 150)
        let resumed = try MPIBackendTests.mpirun(2, run + ["--json", "--backend", "mpi", "--log", log, "--checkpoint", ckpt, "--resume"])
        let whole = try Self.summary(try CLIRunner.run(run + ["--json", "--workers", "2"]))
        XCTAssertEqual(try Self.summary(resumed)["params_sha256"] as? String, whole["params_sha256"] as? String, "stopped at step \(n)")
        #endif
    }

    // MARK: - A rank killed under mpirun

    /// Seeded kill steps (SplitMix64) in [lo, hi).
    static func killSteps(count: Int, seed: UInt64, in range: Range<Int>) -> [Int] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return range.lowerBound + Int(z % UInt64(range.count))
        }
    }

    /// Whether a process exists and is not a zombie (dead, not yet reaped).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)...].first != "Z"
    }

    /// The pids of mpirun's `csgd` children.
    static func ranks(of mpirun: Int32) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == mpirun && stat.contains("(csgd)")
        }
    }

    /// Three trials of 3 ranks under mpirun: one rank (chosen by the seed)
    /// is SIGKILLed once the log passes a seeded step; mpirun and every rank
    /// exit within 10 s, mpirun non-zero; resuming the last checkpoint under
    /// mpirun ends with the bits of the uninterrupted in-process run.
    func testRankKilledUnderMPIRunResumesBitExactly() throws {
        #if !MPI
        throw XCTSkip("built without the MPI trait (run `swift test --traits MPI`)")
        #else
        guard let mpirun = MPIBackendTests.mpirunPath else { throw XCTSkip("mpirun is not installed (Debian: openmpi-bin)") }
        // Kills land in steps 150–850 of 3,000, so a run is still going when
        // its kill step is logged, however fast the machine.
        let steps = 3000
        let base = ["optimize", "--problem", "saddle:d=500", "--method", "alg1:sigma=0.01", "--compressor", "randomk:0.1",
                    "--lr", "0.05", "--steps", String(steps), "--log-every", "50", "--seed", "13", "--json"]
        let reference = try Self.summary(try CLIRunner.run(base + ["--workers", "3"]))["params_sha256"] as? String
        let kills = Self.killSteps(count: 3, seed: 2026, in: 150..<850)
        for (trial, k) in kills.enumerated() {
            let dir = try temporaryDirectory()
            let ckpt = dir + "/ckpt", log = dir + "/run.jsonl"
            let p = MPIBackendTests.mpirunProcess(mpirun, 3, base
                + ["--backend", "mpi", "--log", log, "--checkpoint", ckpt, "--checkpoint-every", "100"])
            p.standardOutput = FileHandle.nullDevice
            let errPath = dir + "/stderr"
            FileManager.default.createFile(atPath: errPath, contents: nil)
            p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
            try p.run()
            do {
                try Self.waitForLog(log, step: k)
            } catch {
                // Say what mpirun did: still running (slow or stuck) or ended, and what it printed.
                let said = (try? String(contentsOfFile: errPath, encoding: .utf8)).map { String($0.suffix(2000)) } ?? ""
                let state = p.isRunning ? "still running" : "ended with status \(p.terminationStatus)"
                if p.isRunning { p.terminate() }
                throw CSGDTestFailure("trial \(trial): \(error); mpirun \(state); its stderr: \(said)")
            }
            let ranks = Self.ranks(of: p.processIdentifier)
            XCTAssertEqual(ranks.count, 3, "trial \(trial)")
            let victim = ranks.sorted()[k % max(1, ranks.count)]
            kill(victim, SIGKILL)
            let killed = Date()
            while p.isRunning || ranks.contains(where: Self.isAlive), Date().timeIntervalSince(killed) < 10 { usleep(20_000) }
            let seconds = Date().timeIntervalSince(killed)
            let survivors = ranks.filter(Self.isAlive)
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
            XCTAssertLessThan(seconds, 10, "trial \(trial): mpirun still running")
            XCTAssertTrue(survivors.isEmpty, "trial \(trial): ranks \(survivors) outlived mpirun")
            XCTAssertNotEqual(p.terminationStatus, 0, "trial \(trial)")
            let last = try XCTUnwrap(CheckpointCLITests.completeSteps(ckpt).last, "trial \(trial): no checkpoint")
            let resumed = try MPIBackendTests.mpirun(3, base + ["--backend", "mpi", "--log", log, "--checkpoint", ckpt,
                                                                "--checkpoint-every", "100", "--resume"])
            XCTAssertEqual(try Self.summary(resumed)["params_sha256"] as? String, reference, "trial \(trial): killed at step ≥ \(k), resumed from \(last)")
            XCTAssertEqual(try Self.logSteps(log), Array(stride(from: 0, through: steps, by: 50)), "trial \(trial)")
        }
        #endif
    }

    // MARK: - Memory

    /// Resident memory (VmRSS, KiB) of a process.
    static func residentKiB(_ pid: Int32, _ field: String = "VmRSS") -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    /// 2·10⁴ steps of W = 8 in-process workers on the saddle: resident
    /// memory at step 1.9·10⁴ is within 1 MiB of step 10³ (the step loop
    /// allocates nothing that lives).
    func testMemoryStaysFlatOverTwentyThousandSteps() throws {
        let log = try temporaryDirectory() + "/run.jsonl"
        let (p, _) = try Self.start(["optimize", "--problem", "saddle:d=1000", "--method", "alg1:sigma=0.01", "--compressor", "randomk:0.1",
                                     "--lr", "0.05", "--steps", "20000", "--workers", "8", "--log-every", "1000", "--log", log])
        try Self.waitForLog(log, step: 1000)
        let early = try XCTUnwrap(Self.residentKiB(p.processIdentifier))
        try Self.waitForLog(log, step: 19000)
        let late = try XCTUnwrap(Self.residentKiB(p.processIdentifier))
        let peak = try XCTUnwrap(Self.residentKiB(p.processIdentifier, "VmHWM"))
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        print("VmRSS at step 1000: \(early) KiB, at 19000: \(late) KiB, VmHWM \(peak) KiB")
        XCTAssertLessThanOrEqual(late, early + 1024, "resident memory grew from \(early) KiB to \(late) KiB")
    }
}
