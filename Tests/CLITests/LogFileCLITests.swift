import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Where `csgd` writes: `--log` opens the path it is given and writes into
/// it (a character device stays a device, a FIFO a FIFO, a symbolic link is
/// followed, never replaced); a write that fails (a full device, for the
/// log or for standard output) is one line naming the file and the OS error,
/// and a non-zero exit, never a crash; a refused run leaves an earlier log as
/// it was.
final class LogFileCLITests: XCTestCase {
    var directories: [String] = []

    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(atPath: d) }
        directories = []
    }

    func temporaryDirectory() throws -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-log-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        directories.append(p)
        return p
    }

    static let run = ["optimize", "--problem", "saddle", "--method", "sgd", "--lr", "0.1", "--steps", "300", "--log-every", "10", "--json"]

    /// A character device at `path` like /dev/`major`,`minor` (made with mknod; needs root).
    func makeDevice(_ path: String, major: Int, minor: Int) throws {
        guard getuid() == 0 else { throw XCTSkip("mknod needs root") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/mknod")
        p.arguments = [path, "c", String(major), String(minor)]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "mknod \(path)")
    }

    func fileType(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
    }

    func assertOneLine(_ r: CLIRunner.Result, status: Int32, contains texts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("csgd: error: ") && r.stderr.hasSuffix("\n"), r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "not one line: \(r.stderr)", file: file, line: line)
        for t in texts { XCTAssertTrue(r.stderr.contains(t), "expected '\(t)' in: \(r.stderr)", file: file, line: line) }
    }

    func testLogIntoACharacterDeviceLeavesTheDevice() throws {
        let dev = try temporaryDirectory() + "/null"
        try makeDevice(dev, major: 1, minor: 3)
        let r = try CLIRunner.run(Self.run + ["--log", dev])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(fileType(dev), S_IFCHR, "the device was replaced")
    }

    func testLogIntoAFIFOIsReadFromIt() throws {
        let fifo = try temporaryDirectory() + "/log.fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        final class Box: @unchecked Sendable { var data = Data() }
        let read = Box(), done = DispatchSemaphore(value: 0)
        // Opening a FIFO for reading waits for its writer: csgd, if it opens this FIFO.
        Thread {
            if let h = FileHandle(forReadingAtPath: fifo) { read.data = h.readDataToEndOfFile() }
            done.signal()
        }.start()
        let r = try CLIRunner.run(Self.run + ["--log", fifo])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(fileType(fifo), S_IFIFO, "the FIFO was replaced")
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "nothing wrote into the FIFO")
        let lines = String(decoding: read.data, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 33, "the header, one line every 10 of 300 steps and the last, the summary")
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("{\"") && $0.hasSuffix("}") })
    }

    func testLogThroughASymbolicLinkWritesItsTarget() throws {
        let dir = try temporaryDirectory()
        let target = dir + "/target.jsonl", link = dir + "/link.jsonl"
        try Data("old\nlines\n".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let r = try CLIRunner.run(Self.run + ["--log", link])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(fileType(link), S_IFLNK, "the link was replaced")
        let lines = try String(contentsOfFile: target, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 33, "a fresh run empties the target, then writes its lines (header, 31 records, summary)")
        XCTAssertTrue(lines.first?.hasPrefix("{\"") == true)
    }

    /// A full device (a copy of /dev/full) as the log: one line naming the
    /// log and the OS error, exit 1, no crash and no summary.
    func testAFullLogIsOneLineAndExitOne() throws {
        let full = try temporaryDirectory() + "/full.jsonl"
        try makeDevice(full, major: 1, minor: 7)
        let r = try CLIRunner.run(Self.run + ["--log", full])
        assertOneLine(r, status: 1, contains: ["cannot write the log '\(full)'", "No space left on device"])
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(fileType(full), S_IFCHR)
    }

    /// A log that fills up in the middle of a line (a file-size limit of
    /// 4096 bytes, with SIGXFSZ ignored so that the write fails with EFBIG
    /// after a partial write): one line, exit 1, and the log cut back to its
    /// last whole line.
    func testALogThatFillsMidLineEndsOnAWholeLine() throws {
        let log = try temporaryDirectory() + "/run.jsonl"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        let args = (Self.run.dropLast() + ["--log-every", "1", "--log", log]).map { "'\($0)'" }.joined(separator: " ")
        p.arguments = ["-c", "trap '' XFSZ; ulimit -f 8; exec '\(CLIRunner.executable.path)' \(args)"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let r = CLIRunner.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
        assertOneLine(r, status: 1, contains: ["cannot write the log '\(log)'", "File too large"])
        XCTAssertEqual(r.stdout, "")
        let data = try Data(contentsOf: URL(fileURLWithPath: log))
        XCTAssertGreaterThan(data.count, 0)
        XCTAssertLessThanOrEqual(data.count, 4096)
        XCTAssertEqual(data.last, UInt8(ascii: "\n"), "the log ends in a partial line")
        for line in data.split(separator: UInt8(ascii: "\n")) {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line)), "not a whole JSON line: \(String(decoding: line, as: UTF8.self))")
        }
    }

    /// Runs csgd with standard output on /dev/full.
    func runIntoFullStandardOutput(_ args: [String]) throws -> CLIRunner.Result {
        let p = Process()
        p.executableURL = CLIRunner.executable
        p.arguments = args
        p.standardOutput = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))
        let err = Pipe()
        p.standardError = err
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIRunner.Result(status: p.terminationStatus, stdout: "", stderr: String(decoding: e, as: UTF8.self))
    }

    /// A summary that cannot be written (standard output on a full device)
    /// is a failed run: one line and exit 1, as JSON or as a table, from
    /// `optimize`, `train` and a command that prints a table.
    func testAFullStandardOutputIsOneLineAndExitOne() throws {
        let train = ["train", "--model", "mlp:784-10", "--dataset", "synthetic:n=100", "--steps", "2"]
        for args in [Self.run, Array(Self.run.dropLast()), train, train + ["--json"], ["compress", "--dim", "1000", "--trials", "2"]] {
            assertOneLine(try runIntoFullStandardOutput(args), status: 1, contains: ["cannot write standard output: No space left on device"])
        }
    }

    /// An error line that cannot be written (standard error on /dev/full)
    /// does not crash: the exit status is the error's, 2 for bad input and
    /// 1 for a log that cannot be written.
    func testAFullStandardErrorKeepsTheExitStatus() throws {
        let full = try temporaryDirectory() + "/full.jsonl"
        try makeDevice(full, major: 1, minor: 7)
        for (args, status) in [(["compress", "--dim", "0"], Int32(2)), (Self.run + ["--log", full], 1)] {
            let p = Process()
            p.executableURL = CLIRunner.executable
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, status, "\(args)")
            XCTAssertEqual(p.terminationReason, .exit, "\(args)")
        }
    }

    /// A run refused with exit 2 leaves the log of an earlier run as it
    /// was: another run's checkpoint given to --resume, and a run refused
    /// for its checkpoint directory.
    func testARefusedRunLeavesTheLog() throws {
        let dir = try temporaryDirectory()
        let log = dir + "/run.jsonl", ckpt = dir + "/ckpt"
        let flags = ["--checkpoint", ckpt, "--checkpoint-every", "100", "--log", log]
        XCTAssertEqual(try CLIRunner.run(Self.run + flags).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: log))
        XCTAssertFalse(before.isEmpty)
        // Another seed: refused from the run's recorded command line (its seed was the default) ...
        assertOneLine(try CLIRunner.run(Self.run + ["--seed", "5"] + flags + ["--resume"]), status: 2,
                      contains: ["--seed 5 was not given to the run recorded in"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: log)), before, "the refused resume changed the log")
        // ... and, without that line (a directory of an older csgd), from the checkpoint's header.
        XCTAssertEqual(unlink(ckpt + "/COMMAND"), 0)
        assertOneLine(try CLIRunner.run(Self.run + ["--seed", "5"] + flags + ["--resume"]), status: 2,
                      contains: ["cannot resume from", "written with seed 0, this run has 5"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: log)), before, "the refused resume changed the log")
        // Without --resume, the directory holding a checkpoint is refused.
        assertOneLine(try CLIRunner.run(Self.run + flags), status: 2, contains: ["already holds a checkpoint"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: log)), before, "the refused run changed the log")
        // The matching resume keeps the lines before its checkpoint and appends the rest.
        let resumed = try CLIRunner.run(Self.run + flags + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("{\"") && $0.hasSuffix("}") })
        XCTAssertEqual(lines.filter { !$0.contains("\"type\":") }.count, 31)
        // A header before each run's first record, the summary at the end.
        XCTAssertEqual(lines.filter { $0.contains("\"type\":\"header\"") }.count, 2)
        XCTAssertTrue(lines.last!.contains("\"type\":\"summary\""))
    }
}
