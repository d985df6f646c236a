import CSGDCore
import Distributed
import Foundation
import Optimization
import XCTest

/// `RunHeader`, the first line of a log: a method's options resolved by
/// reflection, the JSON round trip, and what a reader refuses.
final class RunHeaderTests: XCTestCase {
    func header(_ method: any Method, arguments: [String]? = nil) -> RunHeader {
        RunHeader(version: CSGDVersion.number, commit: "abcdef1", commitModified: false, command: "optimize",
                  arguments: arguments ?? ["optimize", "--problem", "saddle", "--method", method.text],
                  configuration: RunConfiguration(method: method, compressor: "randomk:0.1", eta: 0.05, seed: 3, workers: 2,
                                                  batch: method.batch, steps: 10, backend: "inproc", threads: 0, problem: "saddle:d=10"),
                  machine: RunMachine(cpu: "a CPU", cores: 2, instructionPath: "avx512", blasCore: "SkylakeX"))
    }

    /// Every option, the defaults the spec left out included; a payload as `case(k=v,…)`.
    func testMethodOptionsAreResolved() throws {
        let reset = try Methods.parse("alg1:r=0.5,reset=on,I=500,R=0.1,eta=0.2")
        XCTAssertEqual(RunConfiguration.options(of: reset), [
            "batch": "1", "eta": "0.2", "noise": "radius(0.5)", "variant": "arxiv", "reset": "on(I=500,R=0.1,F=0.0)",
            "theory": "false", "deferred_noise": "false",
        ])
        let sgd = try Methods.parse("sgd:batch=8")
        XCTAssertEqual(RunConfiguration.options(of: sgd), ["batch": "8", "eta": "none"])
        XCTAssertEqual(RunConfiguration.snakeCase("gThres"), "g_thres")
        XCTAssertEqual(RunConfiguration.snakeCase("I"), "I")
    }

    /// Encoded with `"type":"header"` and decoded to the same value; `kind(of:)` tells it from a record.
    func testRoundTripAndKind() throws {
        let h = header(try Methods.parse("alg1:sigma=0.01"))
        let data = try JSONEncoder().encode(h)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["type"] as? String, "header")
        XCTAssertEqual(Set(object.keys), ["type", "csgd_version", "git_commit", "git_modified", "command", "argv", "config", "machine"])
        XCTAssertEqual(try JSONDecoder().decode(RunHeader.self, from: data), h)
        XCTAssertEqual(RunHeader.kind(of: data), "header")
        XCTAssertNil(RunHeader.kind(of: Data(#"{"step":0,"loss":1}"#.utf8)))
        XCTAssertNil(RunHeader.kind(of: Data("not json".utf8)))
    }

    /// Another `type`, and an argv that is not the command's, do not decode.
    func testDamagedHeadersAreRefused() throws {
        let h = header(try Methods.parse("sgd"))
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: try JSONEncoder().encode(h)) as? [String: Any])
        object["type"] = "summary"
        XCTAssertThrowsError(try JSONDecoder().decode(RunHeader.self, from: try JSONSerialization.data(withJSONObject: object)))
        let other = header(try Methods.parse("sgd"), arguments: ["train", "--model", "mnist-ae"])
        XCTAssertThrowsError(try JSONDecoder().decode(RunHeader.self, from: try JSONEncoder().encode(other)))
    }

    func testCPUModelIsTheFirstModelName() {
        let text = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14 96-Core Processor\nprocessor\t: 1\nmodel name\t: other\n"
        XCTAssertEqual(CPUModel.parse(text), "AMD EPYC 9R14 96-Core Processor")
        XCTAssertEqual(CPUModel.parse("processor\t: 0\n"), "unknown CPU")
        XCTAssertEqual(CPUModel.parse("model name\t:\n"), "unknown CPU")
    }
}
