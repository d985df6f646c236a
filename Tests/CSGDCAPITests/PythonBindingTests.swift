import Foundation
import XCTest

/// Runs the Python binding's tests (python/tests/test_csgd.py) against the
/// C library and the csgd tool of this build, when python3 with numpy is
/// installed (skipped otherwise).
final class PythonBindingTests: XCTestCase {
    /// The build's products directory: where the test bundle, libcsgd_c.so and csgd lie.
    static var productsDirectory: URL {
        let bundle = Bundle(for: PythonBindingTests.self).bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent(), URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("libcsgd_c.so").path) }
            ?? bundle.deletingLastPathComponent()
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Output {
        var status: Int32
        var text: String
    }

    func run(_ executable: String, _ args: [String], environment: [String: String] = [:]) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [executable] + args
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        p.environment = env
        p.currentDirectoryURL = Self.repository
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, text: String(decoding: data, as: UTF8.self))
    }

    func testPythonBindingSuite() throws {
        guard let probe = try? run("python3", ["-c", "import numpy"]), probe.status == 0 else {
            throw XCTSkip("python3 with numpy is not installed")
        }
        let dir = Self.productsDirectory
        let library = dir.appendingPathComponent("libcsgd_c.so")
        let cli = dir.appendingPathComponent("csgd")
        XCTAssertTrue(FileManager.default.fileExists(atPath: library.path), "libcsgd_c.so is not in \(dir.path)")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: cli.path), "csgd is not in \(dir.path)")
        let script = Self.repository.appendingPathComponent("python/tests/test_csgd.py").path
        let out = try run("python3", [script, "-v"], environment: ["CSGD_LIBRARY": library.path, "CSGD_CLI": cli.path])
        XCTAssertEqual(out.status, 0, out.text)
        // Every test ran, none skipped (the tool and the library were both found).
        XCTAssertFalse(out.text.contains("skipped"), out.text)
        let agreement = out.text.split(separator: "\n").filter { $0.hasPrefix("test_bits_equal_csgd_compress ") }
        XCTAssertEqual(agreement.count, 1, out.text)
        XCTAssertTrue(agreement.first?.hasSuffix("... ok") ?? false, out.text)
    }
}
