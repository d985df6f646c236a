import Foundation
import XCTest
@testable import Reproduce

/// The report as a browser shows it: headless Chromium renders a page made
/// from made-up runs; the page is not blank, every plot is there and the
/// console stays silent (the page has no scripts: any console line is a fault).
final class ReportRenderingTests: XCTestCase {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs Chromium headless on `page` with extra arguments; returns its stdout and stderr.
    func chromium(_ arguments: [String], page: URL, profile: URL) throws -> (String, String) {
        let exe = try XCTUnwrap(Self.chromium)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)",
                       "--enable-logging=stderr", "--v=0"] + arguments + [page.absoluteString]
        let out = profile.appendingPathComponent("out.txt"), err = profile.appendingPathComponent("err.txt")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return (try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    func testChromiumRendersEveryPlotWithoutConsoleErrors() throws {
        guard Self.chromium != nil else {
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("chromium is missing: scripts/setup installs it") }
            throw XCTSkip("chromium is not installed (scripts/setup installs it)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-render-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        // Two experiments' worth of made-up relu-rate data, written as reproduce would.
        let data = ExperimentData(results: (1...2).flatMap { s in
            [ReluRateTests.run("SGD", seed: s) { pow(0.9, Double($0)) },
             ReluRateTests.run("QSGD b=7", seed: s) { pow(0.92, Double($0)) }]
        }, failures: [])
        let expDir = out.appendingPathComponent("relu-rate")
        let analysis = try ReluRate().analyze(data, options: ExperimentOptions(quick: true), into: expDir)
        let summary = ExperimentSummary(name: "relu-rate", title: ReluRate().title, source: ReluRate().source, claim: ReluRate().claim,
                                        options: ExperimentOptions(quick: true), command: "csgd reproduce relu-rate --quick", runs: 4,
                                        failedRuns: 0, runSeconds: 4, wallSeconds: 2,
                                        machine: MachineInfo(cpu: "test CPU", cores: 2, instructionPath: "portable", date: "2026-01-01 00:00 UTC"),
                                        analysis: analysis)
        let encoder = JSONEncoder()
        try encoder.encode(summary).write(to: expDir.appendingPathComponent("summary.json"))
        let reproducer = Reproducer(output: out, launcher: ProcessLauncher(executable: URL(fileURLWithPath: "/bin/false")),
                                    jobs: 1, resume: true, instructionPath: "portable")
        try reproducer.writeReport()
        let page = out.appendingPathComponent("report.html")
        let blank = dir.appendingPathComponent("blank.html")
        try Data("<!DOCTYPE html><html><body></body></html>".utf8).write(to: blank)

        let profile = dir.appendingPathComponent("profile")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        let (dom, log) = try chromium(["--dump-dom"], page: page, profile: profile)
        XCTAssertEqual(dom.components(separatedBy: "<svg").count - 1, analysis.plots.count, "every plot inlined and parsed")
        XCTAssertGreaterThan(analysis.plots.count, 0)
        XCTAssertTrue(dom.contains("Planted ReLU"), "the page's text is in the DOM")
        let console = log.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        XCTAssertEqual(console, [], "console output: \(console)")

        // A screenshot of the report carries far more than one of a blank page.
        let shot = dir.appendingPathComponent("report.png"), blankShot = dir.appendingPathComponent("blank.png")
        _ = try chromium(["--screenshot=\(shot.path)", "--window-size=1200,1600"], page: page, profile: profile)
        _ = try chromium(["--screenshot=\(blankShot.path)", "--window-size=1200,1600"], page: blank, profile: profile)
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int)
        let blankSize = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: blankShot.path)[.size] as? Int)
        XCTAssertGreaterThan(size, 5 * blankSize, "report \(size) bytes against a blank page's \(blankSize)")
    }
}
