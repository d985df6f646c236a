import Foundation
import XCTest

/// `--backend mpi` under a real `mpirun` on loopback: the same bits as the
/// in-process backend, one-line errors for misuse, and no hang when a rank
/// dies. These run when the package is built with the MPI trait
/// (`swift test --traits MPI`, as README's test command does).
final class MPIBackendTests: XCTestCase {
    static let mpirunPath = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs mpirun with Open MPI's run-as-root permission (CI runs as root).
    static func mpirun(_ ranks: Int, _ args: [String], timeout: TimeInterval = 120) throws -> CLIRunner.Result {
        let p = mpirunProcess(try XCTUnwrap(Self.mpirunPath), ranks, args)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        return CLIRunner.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// `mpirun -np RANKS --oversubscribe csgd ARGS`, not yet started, with
    /// Open MPI's run-as-root permission in its environment.
    static func mpirunProcess(_ mpirun: String, _ ranks: Int, _ args: [String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun)
        p.arguments = ["-np", String(ranks), "--oversubscribe", CLIRunner.executable.path] + args
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        p.environment = env
        return p
    }

    func summary(_ r: CLIRunner.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last, "no output; stderr: \(r.stderr)", file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], file: file, line: line)
    }

    func requireMPI() throws {
        #if !MPI
        throw XCTSkip("built without the MPI trait (run `swift test --traits MPI`)")
        #endif
        if Self.mpirunPath == nil { throw XCTSkip("mpirun is not installed (Debian: openmpi-bin)") }
    }

    let run = ["optimize", "--problem", "phase-retrieval:d=40", "--method", "alg1:sigma=0.01", "--lr", "0.01",
               "--steps", "150", "--seed", "3", "--json"]

    /// The same seed and W give the same final parameters and the same bit
    /// counts under mpirun as with W in-process workers, for an all-reduced
    /// (randomk), an all-gathered sparse (topk) and a quantised (qsgd) message.
    func testMPIMatchesInProcessBitForBit() throws {
        try requireMPI()
        for w in [2, 4] {
            for c in ["randomk:0.1", "topk:0.1", "qsgd:15"] {
                let inproc = try summary(try CLIRunner.run(run + ["--compressor", c, "--workers", String(w)]))
                let mpi = try summary(try Self.mpirun(w, run + ["--compressor", c, "--backend", "mpi"]))
                for key in ["params_sha256", "upload_bits_per_worker", "download_bits_per_worker", "steps"] {
                    XCTAssertEqual("\(inproc[key] ?? "nil")", "\(mpi[key] ?? "nil")", "\(key) for \(c), W=\(w)")
                }
            }
        }
    }

    /// The two-stage exchange (an MPI_Alltoallv of the workers' blocks, the
    /// owners' all-gather) gives the in-process bits at W = 2 and 3, and so
    /// does the all-gather it replaces.
    func testTwoStageExchangeUnderMPIMatchesInProcess() throws {
        try requireMPI()
        for (w, collective) in [(2, "scatter"), (3, "scatter"), (3, "allgather")] {
            for c in ["topk:0.1", "sign", "qsgd:15"] {
                let args = run + ["--compressor", c, "--collective", collective]
                let inproc = try summary(try CLIRunner.run(args + ["--workers", String(w)]))
                let mpi = try summary(try Self.mpirun(w, args + ["--backend", "mpi"]))
                for key in ["params_sha256", "upload_bits_per_worker", "download_bits_per_worker", "steps", "wire_bytes_received"] {
                    XCTAssertEqual("\(inproc[key] ?? "nil")", "\(mpi[key] ?? "nil")", "\(key) for \(c), W=\(w), \(collective)")
                }
            }
        }
        // Without error feedback (qsgd-sgd; sgd with fp64): the owners keep no memory.
        var plain = run
        plain[plain.firstIndex(of: "alg1:sigma=0.01")!] = "qsgd-sgd:bits=8"
        var fp64 = run
        fp64[fp64.firstIndex(of: "alg1:sigma=0.01")!] = "sgd"
        for (w, args) in [(3, plain), (3, fp64 + ["--compressor", "fp64"])] {
            let inproc = try summary(try CLIRunner.run(args + ["--collective", "scatter", "--workers", String(w)]))
            let mpi = try summary(try Self.mpirun(w, args + ["--collective", "scatter", "--backend", "mpi"]))
            for key in ["params_sha256", "upload_bits_per_worker", "download_bits_per_worker", "steps", "wire_bytes_received"] {
                XCTAssertEqual("\(inproc[key] ?? "nil")", "\(mpi[key] ?? "nil")", "\(key) for \(args[4]), W=\(w), scatter")
            }
        }
    }

    /// sketch-topk's two all-reduces (tables, then the K values at the
    /// indices chosen from the summed table) give the in-process bits.
    func testSketchTopKUnderMPIMatchesInProcess() throws {
        try requireMPI()
        let c = "sketch-topk:0.1"
        let inproc = try summary(try CLIRunner.run(run + ["--compressor", c, "--backend", "inproc", "--workers", "2"]))
        let mpi = try summary(try Self.mpirun(2, run + ["--compressor", c, "--backend", "mpi"]))
        for key in ["params_sha256", "upload_bits_per_worker", "download_bits_per_worker", "steps"] {
            XCTAssertEqual("\(inproc[key] ?? "nil")", "\(mpi[key] ?? "nil")", "\(key) for \(c)")
        }
    }

    /// Deferred noise (drawn for the coordinates RandomK sends, after the
    /// all-reduce, on every rank alike) gives the in-process bits.
    func testDeferredNoiseUnderMPIMatchesInProcess() throws {
        try requireMPI()
        var r = run
        r[r.firstIndex(of: "alg1:sigma=0.01")!] = "alg1:sigma=0.01,noise=deferred"
        let inproc = try summary(try CLIRunner.run(r + ["--compressor", "randomk:0.1", "--backend", "inproc", "--workers", "2"]))
        let mpi = try summary(try Self.mpirun(2, r + ["--compressor", "randomk:0.1", "--backend", "mpi"]))
        for key in ["params_sha256", "upload_bits_per_worker", "download_bits_per_worker", "steps"] {
            XCTAssertEqual("\(inproc[key] ?? "nil")", "\(mpi[key] ?? "nil")", "\(key) with deferred noise")
        }
    }

    /// `csgd train` under mpirun, each rank holding only its shard, gives the
    /// in-process run's final parameters and bit counts.
    func testTrainUnderMPIMatchesInProcess() throws {
        try requireMPI()
        let train = ["train", "--model", "mlp:64-16-4", "--dataset", "synthetic:n=400,classes=4,shape=1x8x8", "--batch", "8",
                     "--steps", "25", "--method", "alg1:sigma=0.001", "--seed", "2", "--json"]
        for c in ["randomk:0.1", "topk:0.05"] {
            let inproc = try summary(try CLIRunner.run(train + ["--compressor", c, "--workers", "2"]))
            let mpi = try summary(try Self.mpirun(2, train + ["--compressor", c, "--backend", "mpi"]))
            for key in ["params_sha256", "upload_bits_per_worker", "download_bits_per_worker", "train_loss"] {
                XCTAssertEqual("\(inproc[key] ?? "nil")", "\(mpi[key] ?? "nil")", "\(key) for \(c)")
            }
        }
    }

    /// Only rank 0 prints the summary.
    func testOnlyRankZeroReports() throws {
        try requireMPI()
        let r = try Self.mpirun(3, run + ["--compressor", "randomk:0.1", "--backend", "mpi"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, r.stdout)
    }

    func testWorkersMustMatchMPIRun() throws {
        try requireMPI()
        let r = try Self.mpirun(2, run + ["--backend", "mpi", "--workers", "3"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--workers 3 differs from mpirun's -np 2"), r.stderr)
    }

    /// Bad input under mpirun is found by every rank (they read the same
    /// command line): rank 0 says it in one line, every rank exits 2.
    func testBadInputIsReportedOnceUnderMPIRun() throws {
        try requireMPI()
        for bad in [run + ["--backend", "mpi", "--lr", "nan"], ["optimize", "--problem", "nope", "--backend", "mpi"],
                    ["optimize", "--no-such-option"]] {
            let r = try Self.mpirun(3, bad)
            XCTAssertNotEqual(r.status, 0, bad.joined(separator: " "))
            let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("csgd: error:") }
            XCTAssertEqual(lines.count, 1, "\(bad.joined(separator: " ")): \(r.stderr)")
        }
    }

    /// Started by mpirun, `optimize` and `train` use the MPI backend and
    /// mpirun's W without being told: the same bits as W in-process workers.
    func testMPIRunNeedsNoBackendFlag() throws {
        try requireMPI()
        let inproc = try summary(try CLIRunner.run(run + ["--compressor", "randomk:0.1", "--workers", "3"]))
        let r = try Self.mpirun(3, run + ["--compressor", "randomk:0.1"])
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, r.stdout)
        let mpi = try summary(r)
        XCTAssertEqual("\(mpi["params_sha256"] ?? "nil")", "\(inproc["params_sha256"] ?? "nil")")
        let train = ["train", "--model", "mlp:784-10", "--dataset", "synthetic:n=120", "--steps", "5", "--json"]
        let t1 = try summary(try CLIRunner.run(train + ["--workers", "2"]))
        let t2 = try summary(try Self.mpirun(2, train))
        XCTAssertEqual("\(t2["params_sha256"] ?? "nil")", "\(t1["params_sha256"] ?? "nil")")
    }

    /// `--backend inproc` under mpirun would run the whole job in every process: refused, once.
    func testInprocUnderMPIRunIsRefused() throws {
        try requireMPI()
        let r = try Self.mpirun(2, run + ["--backend", "inproc"])
        XCTAssertNotEqual(r.status, 0)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("csgd: error:") }
        XCTAssertEqual(lines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("--backend inproc under mpirun"), r.stderr)
    }

    func testMPIBackendNeedsMPIRun() throws {
        let r = try CLIRunner.run(run + ["--backend", "mpi"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        #if MPI
        XCTAssertTrue(r.stderr.contains("must be launched by mpirun"), r.stderr)
        #else
        XCTAssertTrue(r.stderr.contains("built without Open MPI"), r.stderr)
        #endif
    }

    /// SIGKILL one rank mid-run: mpirun ends the others and exits non-zero
    /// within 10 s, naming the lost rank.
    func testLostRankStopsEveryoneQuickly() throws {
        try requireMPI()
        let long = ["optimize", "--problem", "phase-retrieval:d=100", "--method", "alg1:sigma=0.001", "--lr", "0.001",
                    "--compressor", "topk:0.1", "--steps", "100000000", "--backend", "mpi", "--json"]
        let done = expectation(description: "mpirun returned")
        let box = ResultBox()
        DispatchQueue.global().async {
            box.result = try? Self.mpirun(3, long, timeout: 60)
            done.fulfill()
        }
        // Find rank 1 by its environment and kill it once all three ranks run.
        var victim: Int32?
        let start = Date()
        while victim == nil, Date().timeIntervalSince(start) < 30 {
            Thread.sleep(forTimeInterval: 0.5)
            victim = Self.rankProcesses()[1]
            if Self.rankProcesses().count < 3 { victim = nil }
        }
        let pid = try XCTUnwrap(victim, "rank 1 never started")
        Thread.sleep(forTimeInterval: 0.5)
        let killedAt = Date()
        kill(pid, SIGKILL)
        wait(for: [done], timeout: 30)
        let elapsed = Date().timeIntervalSince(killedAt)
        let r = try XCTUnwrap(box.result)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertLessThan(elapsed, 10, "the other ranks took \(elapsed) s to stop")
        XCTAssertTrue(r.stderr.contains("rank 1"), r.stderr)
    }

    final class ResultBox: @unchecked Sendable { var result: CLIRunner.Result? }

    /// csgd processes launched by mpirun, by rank (from OMPI_COMM_WORLD_RANK).
    static func rankProcesses() -> [Int: Int32] {
        var out: [Int: Int32] = [:]
        let exe = CLIRunner.executable.resolvingSymlinksInPath().path
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return out }
        for p in pids {
            guard let pid = Int32(p),
                  let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p)/exe"),
                  link == exe,
                  let env = FileManager.default.contents(atPath: "/proc/\(p)/environ") else { continue }
            for entry in env.split(separator: 0) {
                let s = String(decoding: entry, as: UTF8.self)
                if s.hasPrefix("OMPI_COMM_WORLD_RANK="), let r = Int(s.dropFirst(21)) { out[r] = pid }
            }
        }
        return out
    }
}
