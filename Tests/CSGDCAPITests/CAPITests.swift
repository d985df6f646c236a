import CSGDCAPI
import Communication
import Compression
import CSGDCore
import Foundation
import Optimization
import Problems
import XCTest

/// The C ABI: its error-feedback step against the library's `ErrorFeedback`
/// transform, and the Python binding's tests (python/tests/test_csgd.py) run
/// against the C library and the csgd tool of this build when python3 with
/// numpy is installed (skipped otherwise; the DDP hook's tests also need torch).
final class CAPITests: XCTestCase {
    /// The build's products directory: where the test bundle, libcsgd_c.so and csgd lie.
    static var productsDirectory: URL {
        let bundle = Bundle(for: CAPITests.self).bundleURL
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
        // scripts/setup --no-build installs NumPy in the virtual environment .build/python; else python3 on PATH may have it.
        let venv = Self.repository.appendingPathComponent(".build/python/bin/python3").path
        let python = FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
        guard let probe = try? run(python, ["-c", "import numpy"]), probe.status == 0 else {
            throw XCTSkip("python3 with numpy is not installed (scripts/setup --no-build installs it in .build/python)")
        }
        let dir = Self.productsDirectory
        let library = dir.appendingPathComponent("libcsgd_c.so")
        let cli = dir.appendingPathComponent("csgd")
        XCTAssertTrue(FileManager.default.fileExists(atPath: library.path), "libcsgd_c.so is not in \(dir.path)")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: cli.path), "csgd is not in \(dir.path)")
        let script = Self.repository.appendingPathComponent("python/tests/test_csgd.py").path
        let out = try run(python, [script, "-v"], environment: ["CSGD_LIBRARY": library.path, "CSGD_CLI": cli.path, "PYTHONDONTWRITEBYTECODE": "1"])
        XCTAssertEqual(out.status, 0, out.text)
        // Every test ran (the tool and the library were both found) but
        // the DDP hook's, which need torch.
        let skipped = out.text.split(separator: "\n").filter { $0.contains(" ... skipped") }
        XCTAssertTrue(skipped.allSatisfy { $0.hasSuffix("skipped 'torch is not installed'") }, out.text)
        let agreement = out.text.split(separator: "\n").filter { $0.hasPrefix("test_bits_equal_csgd_compress ") }
        XCTAssertEqual(agreement.count, 1, out.text)
        XCTAssertTrue(agreement.first?.hasSuffix("... ok") ?? false, out.text)
    }

    /// The NUL-terminated message in an error buffer.
    func message(_ err: [CChar]) -> String {
        String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// csgd_ef_step leaves the same memory e, bit for bit, as `ErrorFeedback`
    /// on rank `worker` of a run at that step (whole 1024-float blocks and a
    /// tail, with and without the perturbation); the message's bytes are its
    /// bits rounded up (the message itself is checked by the Python suite).
    func testErrorFeedbackStepEqualsTheLibrarys() throws {
        let d = 3000, seed: UInt64 = 17, worker = 2
        var saddle = StrictSaddle.Options()
        saddle.d = d
        let objective = try StrictSaddle(saddle)
        let comm = InProcessCommunicator(fabric: InProcessFabric(size: 3), rank: worker)
        for spec in ["topk:0.01", "randomk:0.02", "qsgd:7", "sign"] {
            for sigma: Float in [0, 0.3] {
                let compressor = try CompressorSpec.parse(spec).make(dimension: d)
                let transform = ErrorFeedback(compressor, noise: sigma)
                var state = transform.initialState(dimension: d, workers: 3)
                let x = FloatBuffer(count: d), scratch = FloatBuffer(count: d), grad = FloatBuffer(count: d)
                var context = StepContext(objective: objective, communicator: comm, seed: seed, parameters: x.buffer, scratch: scratch.buffer)

                var handle: OpaquePointer?
                var err = [CChar](repeating: 0, count: 256)
                XCTAssertEqual(csgd_ef_create(spec, Int64(d), sigma, &handle, &err, err.count), 0)
                defer { csgd_ef_destroy(handle) }
                var maxBytes = 0
                XCTAssertEqual(csgd_ef_max_bytes(handle, &maxBytes, &err, err.count), 0)
                var out = [UInt8](repeating: 0, count: maxBytes)
                let ours = FloatBuffer(count: d)
                for step in 0..<3 {
                    RandomFill.gaussian(RandomKey(seed: 99, step: UInt64(step), purpose: RandomPurpose(rawValue: 200)), sigma: 1, into: grad.buffer)
                    context.step = step
                    var g = StepState(local: grad.buffer, stepSize: 0.1)
                    XCTAssertEqual(try transform.update(&g, state: &state, context: &context), .proceed)

                    var nbytes = 0, nbits: Int64 = 0
                    XCTAssertEqual(csgd_ef_step(handle, grad.pointer, Int64(d), seed, UInt64(step), UInt32(worker),
                                                &out, out.count, &nbytes, &nbits, &err, err.count), 0, message(err))
                    XCTAssertEqual(csgd_ef_get_memory(handle, ours.pointer, Int64(d), &err, err.count), 0)
                    let differ = (0..<d).filter { ours.pointer[$0].bitPattern != state.memory.pointer[$0].bitPattern }
                    XCTAssertEqual(differ.count, 0, "\(spec) σ = \(sigma) step \(step): first at \(differ.first ?? -1)")
                    XCTAssertEqual(nbytes, (Int(nbits) + 7) / 8)
                }
            }
        }
    }
}
