import Distributed
import Foundation
import XCTest
@testable import Reproduce

/// relu-netbench reads scripts/netbench's result files: `not run` without
/// them (naming the command), each verdict from made-up files, and the
/// files of a real scenario (a) run (Fixtures/relu-netbench, made as root).
final class ReluNetbenchTests: XCTestCase {
    func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-netbench-\(UUID().uuidString)").appendingPathComponent("relu-netbench")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        return dir
    }

    /// Writes one netbench result file (the fields `run_method` writes).
    func write(_ dir: URL, rate: String, method: String, rep: Int = 1, wall: Double, comm: Double, scenario: String = "a",
               workers: Int = 4, topology: String? = nil) throws {
        let data = dir.appendingPathComponent(ReluNetbench.dataDirectory)
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let id = "\(scenario)-\(rate)-w\(workers)-\(topology ?? "")-\(method.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "(", with: "_").replacingOccurrences(of: ")", with: "_")).\(rep)"
        let json = """
            {"scenario":"\(scenario)","rate":"\(rate)","workers":\(workers),\(topology.map { "\"topology\":\"\($0)\"," } ?? "")"method":"\(method)","steps":300,"wall_seconds":\(wall),\
            "communication_seconds":\(comm),"compute_seconds":\(wall - comm),"wire_bytes_sent":1000000,"link_bytes":4000000,\
            "mpirun_seconds":\(wall + 1),"initial_loss":3.7e7,"final_loss":2.3e6,"upload_bits_per_worker":38400000}
            """
        try Data(json.utf8).write(to: data.appendingPathComponent("\(id).json"))
        // netbench also leaves logs beside the summaries; they are not results.
        try Data("{\"step\":0,\"loss\":1}\n".utf8).write(to: data.appendingPathComponent("\(id).jsonl"))
    }

    func analyze(_ dir: URL) throws -> ExperimentAnalysis {
        XCTAssertEqual(try ReluNetbench().runs(ExperimentOptions(quick: true)).count, 0, "it runs nothing itself")
        return try ReluNetbench().analyze(ExperimentData(results: [], failures: []), options: ExperimentOptions(quick: true), into: dir)
    }

    func testWithoutDataItIsNotRunAndSaysHowToMakeIt() throws {
        let dir = try directory()
        let a = try analyze(dir)
        XCTAssertEqual(a.verdict.kind, .notRun)
        XCTAssertTrue(a.verdict.reason.contains("sudo scripts/netbench --scenario a --rate 100mbit,20mbit --repeat 3 --out \(dir.path)/netbench"), a.verdict.reason)
        XCTAssertTrue(a.verdict.reason.contains("csgd report \(dir.deletingLastPathComponent().path)"), a.verdict.reason)
        XCTAssertEqual(a.verdict.rule, ReluNetbench.rule)
        // Only an unshaped link, or another scenario: still not run.
        try write(dir, rate: "none", method: "sgd (float64)", wall: 1.2, comm: 0.8)
        try write(dir, rate: "none", method: "qsgd-sgd:bits=8", wall: 0.9, comm: 0.5)
        try write(dir, rate: "100mbit", method: "sgd (float32)", wall: 180, comm: 170, scenario: "b")
        XCTAssertEqual(try analyze(dir).verdict.kind, .notRun)
    }

    func testRunsOfSeveralTopologiesAndRankCountsKeepTheHubsWithTheMostRanks() throws {
        let dir = try directory()
        for (w, slow) in [(4, 1.0), (8, 3.0)] {
            try write(dir, rate: "20mbit", method: "sgd (float64)", wall: 50 * slow, comm: 49 * slow, workers: w, topology: "hub")
            try write(dir, rate: "20mbit", method: "qsgd-sgd:bits=8", wall: 7 * slow, comm: 6 * slow, workers: w, topology: "hub")
        }
        // Faster runs on per-host links are not mixed in with the hub's.
        try write(dir, rate: "20mbit", method: "sgd (float64)", wall: 5, comm: 4, workers: 16, topology: "hosts")
        try write(dir, rate: "20mbit", method: "qsgd-sgd:bits=8", wall: 4, comm: 3, workers: 16, topology: "hosts")
        let kept = try ReluNetbench.load(dir.appendingPathComponent(ReluNetbench.dataDirectory))
        XCTAssertEqual(kept.map(\.workers), [8, 8])
        XCTAssertEqual(kept.map(\.wallSeconds), [150, 21])
        // Only per-host runs: those are kept.
        let hosts = try directory()
        try write(hosts, rate: "20mbit", method: "qsgd-sgd:bits=8", wall: 4, comm: 3, workers: 16, topology: "hosts")
        XCTAssertEqual(try ReluNetbench.load(hosts.appendingPathComponent(ReluNetbench.dataDirectory)).map(\.topology), ["hosts"])
    }

    func testThinLinkSpeedUpHolds() throws {
        let dir = try directory()
        for (rate, f) in [("none", 0.1), ("100mbit", 0.25), ("20mbit", 1.0)] {
            try write(dir, rate: rate, method: "sgd (float32)", wall: 0.6 + 12 * f, comm: 12 * f)
            try write(dir, rate: rate, method: "sgd (float64)", wall: 0.6 + 49 * f, comm: 49 * f)
            try write(dir, rate: rate, method: "qsgd-sgd:bits=8", wall: 0.6 + 6 * f, comm: 6 * f)
        }
        // A slower repeat is ignored (netbench keeps the fastest).
        try write(dir, rate: "20mbit", method: "qsgd-sgd:bits=8", rep: 2, wall: 60, comm: 59)
        let a = try analyze(dir)
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertEqual(try XCTUnwrap(a.figures["speed-up"]), 49.6 / 6.6, accuracy: 1e-9, "judged at the thinnest link, 20mbit")
        XCTAssertEqual(a.tables[0].rows.count, 9 + 2, "every rate and method, then the paper's two rows")
        XCTAssertEqual(a.tables[0].rows.first?[0], "none")
        XCTAssertEqual(a.plots.map(\.file), ["time-split.svg"])
        let svg = try String(contentsOf: dir.appendingPathComponent("time-split.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("paper (EC2, 40 workers), QSGD int8"))
        XCTAssertTrue(svg.contains("fill=\"#0072B2\"") && svg.contains("fill=\"#D55E00\""), "computation blue, communication vermillion")
        XCTAssertFalse(svg.contains("##"))
    }

    func testSpeedUpWithoutDominantCommunicationIsPartly() throws {
        let dir = try directory()
        // 3× faster, but SGD spends only 40% of its time communicating and QSGD computes half as long.
        try write(dir, rate: "100mbit", method: "sgd (float64)", wall: 10, comm: 4)
        try write(dir, rate: "100mbit", method: "qsgd-sgd:bits=8", wall: 10.0 / 3, comm: 0.5)
        let a = try analyze(dir)
        XCTAssertEqual(a.verdict.kind, .partly, a.verdict.reason)
    }

    func testNoSpeedUpDiffers() throws {
        let dir = try directory()
        try write(dir, rate: "100mbit", method: "sgd (float64)", wall: 2.8, comm: 2.2)
        try write(dir, rate: "100mbit", method: "qsgd-sgd:bits=8", wall: 1.8, comm: 1.2)
        let a = try analyze(dir)
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)
    }

    func testFloat32BaselineWhenNoFloat64Run() throws {
        let dir = try directory()
        try write(dir, rate: "10mbit", method: "sgd (float32)", wall: 24.7, comm: 24.1)
        try write(dir, rate: "10mbit", method: "qsgd-sgd:bits=8", wall: 12.5, comm: 12.0)
        let a = try analyze(dir)
        XCTAssertEqual(a.verdict.kind, .differs, a.verdict.reason)   // 1.98×, just under twice as fast
        XCTAssertTrue(a.notes.contains { $0.contains("No float64 run") })
    }

    /// The files of a real run (Fixtures/NetbenchFixture.swift): at 20 Mbit/s the float64 run
    /// spends 99% of its 49.5 s communicating, int8 takes 6.5 s.
    func testRealNetbenchRunHolds() throws {
        let dir = try directory()
        let data = dir.appendingPathComponent(ReluNetbench.dataDirectory)
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for f in NetbenchFixture.files { try Data(f.json.utf8).write(to: data.appendingPathComponent(f.name)) }
        let results = try ReluNetbench.load(data)
        XCTAssertEqual(results.map { "\($0.rate) \($0.method)" },
                       ["100mbit sgd (float32)", "100mbit sgd (float64)", "100mbit qsgd-sgd:bits=8",
                        "20mbit sgd (float32)", "20mbit sgd (float64)", "20mbit qsgd-sgd:bits=8"])
        let a = try analyze(dir)
        XCTAssertEqual(a.verdict.kind, .holds, a.verdict.reason)
        XCTAssertEqual(try XCTUnwrap(a.figures["speed-up"]), 49.51 / 6.54, accuracy: 0.01)
        XCTAssertTrue(a.ours.contains("20mbit"), a.ours)
    }

    func testRates() {
        XCTAssertEqual(ReluNetbench.bitsPerSecond("100mbit"), 1e8)
        XCTAssertEqual(ReluNetbench.bitsPerSecond("500kbps"), 4e6)
        XCTAssertEqual(ReluNetbench.bitsPerSecond("1.5gbit"), 1.5e9)
        XCTAssertNil(ReluNetbench.bitsPerSecond("none"))
    }

    func testAFileThatIsNotAResultIsAnError() throws {
        let dir = try directory()
        let data = dir.appendingPathComponent(ReluNetbench.dataDirectory)
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try Data("{\"scenario\":\"a\",\"rate\":\"100mbit\"}".utf8).write(to: data.appendingPathComponent("a-broken.json"))
        XCTAssertThrowsError(try analyze(dir)) { e in
            XCTAssertTrue(String(describing: e).contains("a-broken.json: not a netbench result"), String(describing: e))
        }
    }
}
