import Foundation
import XCTest

/// `csgd optimize --checkpoint DIR --checkpoint-every N [--resume]` end to
/// end: a run SIGKILLed after a checkpoint picked by a fixed seed and
/// resumed ends with the parameters, bit counts and log of a run never
/// stopped (W = 1 and 3, alg1 + randomk and ef-sgd + topk; W = 4 alg1 +
/// sign, the two-stage exchange; under mpirun -np 2 and 3 when the MPI trait
/// is built); bad flags, another run's checkpoint,
/// a corrupt file and an empty directory are one-line errors with exit
/// status 2; a diverging run exits 3 and keeps its last good checkpoint.
final class CheckpointCLITests: XCTestCase {
    var directories: [String] = []

    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(atPath: d) }
        directories = []
    }

    func temporaryDirectory() throws -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-ckpt-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        directories.append(p)
        return p
    }

    static let every = 50
    static let steps = 1500

    func arguments(method: String, compressor: String, workers: Int?, steps: Int = CheckpointCLITests.steps, seed: Int = 11) -> [String] {
        ["optimize", "--problem", "phase-retrieval:d=100,n=500", "--method", method, "--compressor", compressor,
         "--steps", String(steps), "--lr", "0.005", "--seed", String(seed), "--log-every", "100", "--json"]
            + (workers.map { ["--workers", String($0)] } ?? [])
    }

    func summary(_ r: CLIRunner.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last, "no output; stderr: \(r.stderr)", file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], file: file, line: line)
    }

    /// The steps of the complete checkpoints in `dir` (those with a MANIFEST).
    static func completeSteps(_ dir: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("step-"), let t = Int(name.dropFirst(5)),
                  FileManager.default.fileExists(atPath: "\(dir)/\(name)/MANIFEST") else { return nil }
            return t
        }.sorted()
    }

    /// The log's lines without the wall clock (and any timing key).
    static func logLines(_ path: String) throws -> [String] {
        let keys = ["step", "loss", "grad_norm", "stochastic_grad_norm", "update_norm", "error_norm", "resets", "upload_bits", "download_bits", "wire_bytes_sent"]
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { line in
            let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            // The records only: a header names its own command line, a summary its wall time.
            guard obj["type"] == nil else { return nil }
            return keys.map { "\($0)=\(obj[$0] ?? "nil")" }.joined(separator: " ")
        }
    }

    /// The checkpoint step after which a run is killed, from a fixed seed
    /// (SplitMix64): a multiple of N in [3, ⅔·T/N]·N.
    static func killTarget(steps: Int, seed: UInt64) -> Int {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let last = max(4, 2 * steps / (3 * every))
        return every * (3 + Int(z % UInt64(last - 2)))
    }

    /// The directory of checkpoint step t inside `dir`.
    static func stepDirectory(_ dir: String, _ t: Int) -> String { dir + "/" + String(format: "step-%010d", t) }

    /// Named pipes in place of the temporary files the ranks write their
    /// checkpoint of step t through: a rank opening one to write blocks
    /// until a reader comes, which none does, so the run holds there, after
    /// the checkpoint before t is complete. Returns the pipes' paths.
    static func holdAtCheckpoint(_ dir: String, step t: Int, ranks: Int) throws -> [String] {
        let step = stepDirectory(dir, t)
        try FileManager.default.createDirectory(atPath: step, withIntermediateDirectories: true)
        return try (0..<ranks).map { r in
            let path = step + "/.rank-\(r).ckpt.tmp"
            guard mkfifo(path, 0o644) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
            return path
        }
    }

    /// Starts `executable args` with its output in files under `dir`.
    static func start(_ executable: URL, _ args: [String], environment: [String: String]? = nil, outputIn dir: String) throws -> Process {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        if let environment { p.environment = environment }
        _ = FileManager.default.createFile(atPath: dir + "/killed.out", contents: nil)
        _ = FileManager.default.createFile(atPath: dir + "/killed.err", contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: dir + "/killed.out")
        p.standardError = FileHandle(forWritingAtPath: dir + "/killed.err")
        try p.run()
        return p
    }

    /// Waits until `dir` holds a complete checkpoint at `target` or later;
    /// false when `process` ends first or a minute passes.
    static func waitForCheckpoint(_ dir: String, atLeast target: Int, while process: Process) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let t = completeSteps(dir).last, t >= target { return true }
            if !process.isRunning { return false }
            usleep(2000)
        }
        return false
    }

    /// Uninterrupted run, a run SIGKILLed after a checkpoint picked by
    /// `killSeed`, then `--resume`: the same params_sha256, bit counts,
    /// resets and log. The killed run is held while it writes the next
    /// checkpoint (`holdAtCheckpoint`), so the kill always lands between the
    /// two and the newest complete checkpoint is the picked one.
    func assertKillAndResume(method: String, compressor: String, workers: Int, steps: Int = CheckpointCLITests.steps, mpi: Bool = false,
                             extra: [String] = [], killSeed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try temporaryDirectory()
        let checkpoints = dir + "/ckpt"
        let base = arguments(method: method, compressor: compressor, workers: mpi ? nil : workers, steps: steps) + (mpi ? ["--backend", "mpi"] : []) + extra
        let runToEnd: ([String]) throws -> CLIRunner.Result = { args in
            mpi ? try MPIBackendTests.mpirun(workers, args) : try CLIRunner.run(args)
        }
        let reference = try summary(try runToEnd(base + ["--log", dir + "/reference.jsonl"]), file: file, line: line)

        let target = Self.killTarget(steps: steps, seed: killSeed)
        let what = "\(method) \(compressor) W=\(workers)\(mpi ? " (mpirun)" : "")"
        print("CheckpointCLITests: \(what): SIGKILL after the checkpoint at step \(target) (seed \(killSeed))")
        let pipes = try Self.holdAtCheckpoint(checkpoints, step: target + Self.every, ranks: workers)
        let withCheckpoints = base + ["--checkpoint", checkpoints, "--checkpoint-every", String(Self.every), "--log", dir + "/run.jsonl"]
        let process: Process
        if mpi {
            var env = ProcessInfo.processInfo.environment
            env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
            process = try Self.start(URL(fileURLWithPath: try XCTUnwrap(MPIBackendTests.mpirunPath)),
                                     ["-np", String(workers), "--oversubscribe", CLIRunner.executable.path] + withCheckpoints,
                                     environment: env, outputIn: dir)
        } else {
            process = try Self.start(CLIRunner.executable, withCheckpoints, outputIn: dir)
        }
        let reached = Self.waitForCheckpoint(checkpoints, atLeast: target, while: process)
        if mpi {
            // Kill every rank (rank 0 first); mpirun then ends.
            let ranks = MPIBackendTests.rankProcesses()
            XCTAssertFalse(ranks.isEmpty, "\(what): no rank process found to kill", file: file, line: line)
            for r in ranks.keys.sorted() { kill(ranks[r]!, SIGKILL) }
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            // mpirun itself gets SIGTERM (it then ends what is left of its job).
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        } else {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: dir + "/killed.err", encoding: .utf8)) ?? ""
        XCTAssertTrue(reached, "\(what): no checkpoint at step \(target) (status \(process.terminationStatus)): \(stderr)", file: file, line: line)
        if !mpi {
            XCTAssertEqual(process.terminationReason, .uncaughtSignal, "\(what): the run ended before it was killed", file: file, line: line)
            XCTAssertEqual(process.terminationStatus, SIGKILL, file: file, line: line)
        } else {
            XCTAssertNotEqual(process.terminationStatus, 0, "\(what): mpirun finished before the kill", file: file, line: line)
        }
        let kept = try XCTUnwrap(Self.completeSteps(checkpoints).last, file: file, line: line)
        print("CheckpointCLITests: \(what): killed; newest complete checkpoint at step \(kept)")
        XCTAssertEqual(kept, target, "\(what): held at the next checkpoint", file: file, line: line)
        // The resumed run writes that checkpoint itself (its unfinished directory stays).
        for p in pipes { XCTAssertEqual(unlink(p), 0, p, file: file, line: line) }

        let resumed = try summary(try runToEnd(withCheckpoints + ["--resume"]), file: file, line: line)
        // The traffic totals too: the checkpoint carries the interrupted part's.
        for key in ["params_sha256", "upload_bits_per_worker", "download_bits_per_worker", "resets", "steps", "final_loss",
                    "wire_bytes_sent", "wire_bytes_received"] {
            XCTAssertEqual("\(resumed[key] ?? "nil")", "\(reference[key] ?? "nil")", "\(key) for \(what)", file: file, line: line)
        }
        XCTAssertEqual(try Self.logLines(dir + "/run.jsonl"), try Self.logLines(dir + "/reference.jsonl"),
                       "\(what): the resumed log continues the interrupted one", file: file, line: line)
    }

    func testKillAndResumeAlg1RandomKOneWorker() throws {
        try assertKillAndResume(method: "alg1:sigma=0.01,batch=8", compressor: "randomk:0.1", workers: 1, killSeed: 1)
    }

    func testKillAndResumeAlg1RandomKThreeWorkers() throws {
        try assertKillAndResume(method: "alg1:sigma=0.01,batch=8", compressor: "randomk:0.1", workers: 3, killSeed: 2)
    }

    func testKillAndResumeEFSGDTopKOneWorker() throws {
        try assertKillAndResume(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 1, killSeed: 3)
    }

    func testKillAndResumeEFSGDTopKThreeWorkers() throws {
        try assertKillAndResume(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 3, killSeed: 4)
    }

    /// W = 4 with sign through the two-stage exchange, whose owners' error
    /// memory is in the checkpoint.
    func testKillAndResumeTwoStageExchangeFourWorkers() throws {
        try assertKillAndResume(method: "alg1:sigma=0.01,batch=8", compressor: "sign", workers: 4, steps: 600,
                                extra: ["--collective", "scatter"], killSeed: 6)
    }

    /// The two-stage exchange under mpirun -np 3 (MPI_Alltoallv, then the owners' all-gather).
    func testKillAndResumeTwoStageExchangeUnderMPIRun() throws {
        #if !MPI
        throw XCTSkip("built without the MPI trait (run `swift test --traits MPI`)")
        #else
        if MPIBackendTests.mpirunPath == nil { throw XCTSkip("mpirun is not installed (Debian: openmpi-bin)") }
        try assertKillAndResume(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 3, steps: 600, mpi: true,
                                extra: ["--collective", "scatter"], killSeed: 7)
        #endif
    }

    func testKillAndResumeUnderMPIRun() throws {
        #if !MPI
        throw XCTSkip("built without the MPI trait (run `swift test --traits MPI`)")
        #else
        if MPIBackendTests.mpirunPath == nil { throw XCTSkip("mpirun is not installed (Debian: openmpi-bin)") }
        try assertKillAndResume(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 600, mpi: true, killSeed: 5)
        #endif
    }

    // MARK: bad input

    func assertOneLineError(_ r: CLIRunner.Result, contains text: String, status: Int32 = 2, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(text), "expected '\(text)' in: \(r.stderr)", file: file, line: line)
    }

    func testBadFlagsAreOneLineErrors() throws {
        let dir = try temporaryDirectory()
        let base = arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 1, steps: 20)
        assertOneLineError(try CLIRunner.run(base + ["--checkpoint-every", "10"]), contains: "--checkpoint-every 10 needs --checkpoint DIR")
        assertOneLineError(try CLIRunner.run(base + ["--resume"]), contains: "--resume needs --checkpoint DIR")
        assertOneLineError(try CLIRunner.run(base + ["--checkpoint", dir + "/a", "--checkpoint-every", "0"]), contains: "--checkpoint-every 0 must be at least 1")
        assertOneLineError(try CLIRunner.run(base + ["--checkpoint", dir + "/a", "--checkpoint-every=-4"]), contains: "--checkpoint-every -4 must be at least 1")
        assertOneLineError(try CLIRunner.run(base + ["--checkpoint", dir + "/empty", "--resume"]),
                           contains: "--resume: no complete checkpoint in '\(dir)/empty'")
    }

    func testOtherRunsCorruptFilesAndOccupiedDirectoriesAreRefused() throws {
        let dir = try temporaryDirectory() + "/ckpt"
        let flags = ["--checkpoint", dir, "--checkpoint-every", "50"]
        let base = arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 120)
        XCTAssertEqual(try CLIRunner.run(base + flags).status, 0)
        // The interval checkpoint at 100 is pruned by the final one at the last step, 120.
        XCTAssertEqual(Self.completeSteps(dir), [120])
        let step = dir + "/step-0000000120"
        // Another run given in full: the recorded command line names the first differing option.
        assertOneLineError(try CLIRunner.run(arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 120, seed: 12) + flags + ["--resume"]),
                           contains: "--seed 12 differs from the run recorded in '\(dir)/COMMAND' (--seed 11)")
        // Without it (a directory of an older csgd), the checkpoint's header: each differing setting is named.
        XCTAssertEqual(unlink(dir + "/COMMAND"), 0)
        for (args, text) in [
            (arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 120, seed: 12), "written with seed 11, this run has 12"),
            (arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 3, steps: 120), "written with workers W = 2, this run has W = 3"),
            (arguments(method: "alg1:sigma=0.01,batch=8", compressor: "topk:0.1", workers: 2, steps: 120), "written with method 'ef-sgd:batch=8'"),
            (arguments(method: "ef-sgd:batch=8", compressor: "randomk:0.1", workers: 2, steps: 120), "written with compressor 'topk:10'"),
            (["optimize", "--problem", "phase-retrieval:d=50,n=500", "--method", "ef-sgd:batch=8", "--compressor", "topk:0.1",
              "--steps", "120", "--lr", "0.005", "--seed", "11", "--workers", "2"], "written with objective 'phase-retrieval:d=100,"),
        ] {
            assertOneLineError(try CLIRunner.run(args + flags + ["--resume"]), contains: "cannot resume from '\(step)': it was \(text)")
        }
        // Without --resume, a directory that holds a checkpoint is refused (never mixed, never wiped).
        assertOneLineError(try CLIRunner.run(base + flags), contains: "already holds a checkpoint (step 120)")
        // A flipped bit, then a truncation: an error naming the file, never a fresh start.
        let rank1 = step + "/rank-1.ckpt"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: rank1))
        bytes[bytes.count / 3] ^= 0x04
        try bytes.write(to: URL(fileURLWithPath: rank1))
        assertOneLineError(try CLIRunner.run(base + flags + ["--resume"]), contains: "checkpoint '\(rank1)' is corrupt")
        bytes[bytes.count / 3] ^= 0x04
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: rank1))
        assertOneLineError(try CLIRunner.run(base + flags + ["--resume"]), contains: "checkpoint '\(rank1)' is truncated")
        // Repaired, it resumes and finishes.
        try bytes.write(to: URL(fileURLWithPath: rank1))
        XCTAssertEqual(try summary(try CLIRunner.run(base + flags + ["--resume"]))["steps"] as? Int, 120)
    }

    /// Step numbers are 64-bit. A step directory past 2³² without a MANIFEST
    /// is an incomplete checkpoint, ignored (not an alias of its step mod
    /// 2³², which made the good checkpoint look corrupt); a junk MANIFEST of
    /// such a step is the newest checkpoint and is refused naming its file,
    /// never skipped in silence.
    func testStepNumbersPast32BitsAreTheirOwn() throws {
        let dir = try temporaryDirectory() + "/ckpt"
        let flags = ["--checkpoint", dir, "--checkpoint-every", "50"]
        let base = arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 1, steps: 120)
        XCTAssertEqual(try CLIRunner.run(base + flags).status, 0)
        XCTAssertEqual(Self.completeSteps(dir), [120])
        try FileManager.default.createDirectory(atPath: dir + "/step-4294967416", withIntermediateDirectories: false)  // 2³² + 120
        XCTAssertEqual(try summary(try CLIRunner.run(base + flags + ["--resume"]))["steps"] as? Int, 120)
        let junk = dir + "/step-9999999999"
        try FileManager.default.createDirectory(atPath: junk, withIntermediateDirectories: false)
        try Data("junk\n".utf8).write(to: URL(fileURLWithPath: junk + "/MANIFEST"))
        assertOneLineError(try CLIRunner.run(base + flags + ["--resume"]), contains: "'\(junk)/MANIFEST'")
        assertOneLineError(try CLIRunner.run(base + flags), contains: "already holds a checkpoint (step 9999999999)")
    }

    /// A worker's momentum buffer (`--momentum-at worker`, one a rank) is in
    /// its rank's checkpoint file: stopped at step 100 and resumed, the run
    /// ends with the uninterrupted run's bits.
    func testWorkerMomentumResumesBitForBit() throws {
        let dir = try temporaryDirectory() + "/ckpt"
        let extra = ["--momentum", "0.9", "--momentum-at", "worker"]
        let full = try summary(try CLIRunner.run(arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 200) + extra))
        _ = try summary(try CLIRunner.run(arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 100) + extra
            + ["--checkpoint", dir, "--checkpoint-every", "50"]))
        let resumed = try summary(try CLIRunner.run(["optimize", "--steps", "200", "--checkpoint", dir, "--resume"]))
        XCTAssertEqual(resumed["params_sha256"] as? String, full["params_sha256"] as? String)
        let update = try summary(try CLIRunner.run(arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 200)
            + ["--momentum", "0.9"]))
        XCTAssertNotEqual(update["params_sha256"] as? String, full["params_sha256"] as? String, "the placement changes the run")
    }

    /// Momentum's buffer and the schedule's position are in the checkpoint:
    /// stopped at step 150 (its final checkpoint) and resumed, a run with Nesterov momentum, weight
    /// decay and a step schedule ends with the uninterrupted run's bits; a
    /// resume with another momentum is refused.
    func testMomentumRunsResumeBitForBit() throws {
        let dir = try temporaryDirectory() + "/ckpt"
        let extra = ["--momentum", "0.9", "--nesterov", "--weight-decay", "0.001", "--schedule", "step:every=100,gamma=0.5"]
        let full = try summary(try CLIRunner.run(arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 300) + extra))
        let part = arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 150) + extra
        _ = try summary(try CLIRunner.run(part + ["--checkpoint", dir, "--checkpoint-every", "50"]))
        XCTAssertEqual(Self.completeSteps(dir).last, 150)
        let rest = arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 300) + extra + ["--checkpoint", dir, "--resume"]
        let resumed = try summary(try CLIRunner.run(rest))
        XCTAssertEqual(resumed["params_sha256"] as? String, full["params_sha256"] as? String)
        let other = arguments(method: "ef-sgd:batch=8", compressor: "topk:0.1", workers: 2, steps: 300)
            + ["--momentum", "0.5", "--checkpoint", dir, "--resume"]
        assertOneLineError(try CLIRunner.run(other), contains: "--momentum 0.5 differs from the run recorded in '\(dir)/COMMAND' (--momentum 0.9)")
    }

    /// `--resume --checkpoint DIR` needs nothing else: the fresh run kept its
    /// command line in DIR/COMMAND. A longer --steps continues it to the bits
    /// of a run never stopped; another value of an option it had, an option
    /// it did not have, or the other command is refused in one line.
    func testResumeNeedsOnlyTheCheckpointDirectory() throws {
        let base = try temporaryDirectory(), dir = base + "/ckpt"
        let run = ["optimize", "--problem", "phase-retrieval:d=50,n=400", "--method", "ef-sgd:batch=8", "--compressor", "topk:0.1",
                   "--workers", "2", "--lr", "0.005", "--seed", "3", "--json"]
        let whole = try summary(try CLIRunner.run(run + ["--steps", "200"]))
        _ = try summary(try CLIRunner.run(run + ["--steps", "100", "--checkpoint", dir, "--checkpoint-every", "30"]))
        XCTAssertEqual(Self.completeSteps(dir), [100])
        let recorded = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/COMMAND"))) as? [String])
        XCTAssertEqual(recorded, run + ["--steps", "100", "--checkpoint", dir, "--checkpoint-every", "30"])
        let resumed = try summary(try CLIRunner.run(["optimize", "--resume", "--checkpoint", dir, "--steps", "200", "--json"]))
        XCTAssertEqual(resumed["params_sha256"] as? String, whole["params_sha256"] as? String)
        XCTAssertEqual(resumed["steps"] as? Int, 200)
        // The same value in another spelling is the same value.
        XCTAssertEqual(try CLIRunner.run(["optimize", "--resume", "--checkpoint", dir, "--steps", "200", "--lr", "5e-3"]).status, 0)
        assertOneLineError(try CLIRunner.run(["optimize", "--resume", "--checkpoint", dir, "--lr", "0.01"]),
                           contains: "--lr 0.01 differs from the run recorded in '\(dir)/COMMAND' (--lr 0.005)")
        assertOneLineError(try CLIRunner.run(["optimize", "--resume", "--checkpoint", dir, "--momentum", "0.9"]),
                           contains: "--momentum 0.9 was not given to the run recorded in '\(dir)/COMMAND'")
        assertOneLineError(try CLIRunner.run(["train", "--resume", "--checkpoint", dir]),
                           contains: "holds a run of `csgd optimize`: resume it with that command")
        try Data("not json".utf8).write(to: URL(fileURLWithPath: dir + "/COMMAND"))
        assertOneLineError(try CLIRunner.run(["optimize", "--resume", "--checkpoint", dir]), contains: "COMMAND' is corrupt")
    }

    /// A run that diverges before its first checkpoint leaves no checkpoint
    /// directory behind when it made it, and leaves one it was given as it was.
    func testRunEndingWithoutACheckpointRemovesTheDirectoryItMade() throws {
        let base = try temporaryDirectory(), dir = base + "/ckpt"
        let diverge = ["optimize", "--problem", "phase-retrieval:d=20,n=200", "--method", "sgd:batch=4", "--lr", "1e30",
                       "--steps", "500", "--checkpoint", dir, "--checkpoint-every", "100"]
        let r = try CLIRunner.run(diverge)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("non-finite iterate"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "the diverged run left \(dir)")
        // A directory that existed before the run is the user's: it stays (empty).
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        XCTAssertEqual(try CLIRunner.run(diverge).status, 3)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }, [])
    }

    func testDivergingRunExitsThreeAndKeepsItsLastGoodCheckpoint() throws {
        let dir = try temporaryDirectory() + "/ckpt", log = try temporaryDirectory() + "/run.jsonl"
        let r = try CLIRunner.run(["optimize", "--problem", "phase-retrieval:d=20,n=200", "--method", "sgd:batch=4", "--lr", "3",
                                   "--steps", "500", "--checkpoint", dir, "--checkpoint-every", "2", "--log", log, "--log-every", "1"])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("non-finite iterate") && r.stderr.contains("last good checkpoint"), r.stderr)
        let kept = try XCTUnwrap(Self.completeSteps(dir).last)
        XCTAssertTrue(r.stderr.contains("(step \(kept))"), r.stderr)
        // The log keeps every step up to the one that stopped the run, the
        // non-finite numbers of the last lines as null (JSON has no NaN).
        let stopped = try XCTUnwrap(r.stderr.firstMatch(of: #/at step (\d+)/#).flatMap { Int($0.1) })
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0)) }
            .filter { $0["type"] == nil }
        XCTAssertEqual(records.compactMap { $0["step"] as? Int }, Array(0...stopped))
        for record in records {
            for (key, value) in record where !(value is String) {
                XCTAssertTrue(value is NSNull || (value as? Double)?.isFinite == true, "\(key): \(value)")
            }
        }
        // It is whole and finite: resuming it up to its own step reports a finite loss.
        let back = try CLIRunner.run(["optimize", "--problem", "phase-retrieval:d=20,n=200", "--method", "sgd:batch=4", "--lr", "3",
                                      "--steps", String(kept), "--checkpoint", dir, "--resume", "--json"])
        let s = try summary(back)
        XCTAssertEqual(s["steps"] as? Int, kept)
        XCTAssertTrue((s["final_loss"] as? Double)?.isFinite == true, back.stdout)
    }

    /// Two runs on one checkpoint directory at once: the second is refused
    /// in one line naming the first's process (it used to die mid-run on a
    /// rename); once the first has ended, the directory can be used again.
    func testASecondRunOnALockedDirectoryIsRefused() throws {
        let dir = try temporaryDirectory() + "/ckpt"
        let args = ["optimize", "--problem", "saddle:d=10,noise=0.1", "--method", "sgd", "--lr", "0.01", "--log-every", "1000000",
                    "--checkpoint", dir, "--checkpoint-every", "1000000"]
        let first = Process()
        first.executableURL = CLIRunner.executable
        first.arguments = args + ["--steps", "1000000000"]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer { if first.isRunning { first.terminate() }; first.waitUntilExit() }
        // The lock file names the first run's process once it holds the lock.
        let lock = dir + "/.lock"
        let deadline = Date().addingTimeInterval(20)
        while (try? String(contentsOfFile: lock, encoding: .utf8))?.contains("\(first.processIdentifier)") != true {
            XCTAssertLessThan(Date(), deadline, "the first run never took the lock")
            if Date() >= deadline { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let second = try CLIRunner.run(args + ["--steps", "10"])
        XCTAssertEqual(second.status, 2, second.stderr)
        XCTAssertEqual(second.stderr.split(separator: "\n").count, 1, second.stderr)
        XCTAssertTrue(second.stderr.contains("is in use by another run (process \(first.processIdentifier))"), second.stderr)
        XCTAssertTrue(first.isRunning, "the refused run must not disturb the first")
        // SIGKILL: a SIGTERM would leave a checkpoint of the step reached (StopSignal).
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let third = try CLIRunner.run(args + ["--steps", "10"])
        XCTAssertEqual(third.status, 0, third.stderr)
    }
}
