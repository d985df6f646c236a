import CSGDCore
import Foundation

/// Runs one `csgd` command line to completion. The runner gives it the
/// run's arguments plus `--log PATH --json`; it returns the process's
/// standard output (the one-line JSON summary) and its exit status, with
/// standard error kept in `stderr`.
public protocol RunLauncher: Sendable {
    func launch(arguments: [String], stdout: URL, stderr: URL) throws -> Int32
}

/// Launches the `csgd` executable as a child process.
public struct ProcessLauncher: RunLauncher {
    public let executable: URL

    public init(executable: URL) { self.executable = executable }

    /// This process's own executable (`/proc/self/exe`), for `csgd reproduce`.
    public static func current() throws -> ProcessLauncher {
        let path = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        return ProcessLauncher(executable: URL(fileURLWithPath: path))
    }

    public func launch(arguments: [String], stdout: URL, stderr: URL) throws -> Int32 {
        for url in [stdout, stderr] where !FileManager.default.createFile(atPath: url.path, contents: nil) {
            throw CSGDError("cannot create \(url.path)")
        }
        let out = try FileHandle(forWritingTo: stdout), err = try FileHandle(forWritingTo: stderr)
        defer { try? out.close(); try? err.close() }
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { throw CSGDError("cannot start \(executable.path): \(Files.describe(error))") }
        p.waitUntilExit()
        return p.terminationReason == .exit ? p.terminationStatus : 128 + p.terminationStatus
    }
}
