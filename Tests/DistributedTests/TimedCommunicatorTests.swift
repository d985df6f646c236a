import Communication
import CSGDCore
import Distributed
import Foundation
import Optimization
import Problems
import XCTest

/// The timing decorator: bytes counted are the bytes passed (by the
/// direct-exchange model), what one rank sends the others receive, times are
/// non-negative and a gather body's time is compute, and a run's summary
/// splits its wall time into the two.
final class TimedCommunicatorTests: XCTestCase {
    /// Runs `body(rank, communicator)` on W threads joined by one fabric and
    /// returns the decorators after all have finished.
    func onRanks(_ w: Int, _ body: @escaping @Sendable (Int, TimedCommunicator) throws -> Void) throws -> [TimedCommunicator] {
        let fabric = InProcessFabric(size: w)
        let timers = (0..<w).map { TimedCommunicator(InProcessCommunicator(fabric: fabric, rank: $0)) }
        let failures = FailureList()
        let group = DispatchGroup()
        for r in 0..<w {
            let t = timers[r]
            group.enter()
            Thread {
                do { try body(r, t) } catch { failures.add("rank \(r): \(error)"); t.abort(reason: "\(error)") }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 20), .success)
        XCTAssertEqual(failures.all, [])
        return timers
    }

    func testBytesCountedAreTheBytesPassed() throws {
        let w = 3, n = 10
        let timers = try onRanks(w) { r, c in
            // A gather of 5·(r + 1) bytes, its lending form, an all-reduce of
            // n floats (slices 3, 3, 4) and a broadcast of 7 floats from rank 1.
            let mine = [UInt8](repeating: UInt8(r), count: 5 * (r + 1))
            let all = try c.allGather(mine)
            guard all.map(\.count) == [5, 10, 15] else { throw CSGDError("gathered \(all.map(\.count))") }
            try mine.withUnsafeBytes { raw in try c.allGather(raw) { _, _ in } }
            var v = [Float](repeating: Float(r + 1), count: n)
            try v.withUnsafeMutableBufferPointer { try c.allReduceSum($0) }
            guard v.allSatisfy({ $0 == 6 }) else { throw CSGDError("all-reduce gave \(v)") }
            var b = [Float](repeating: Float(r), count: 7)
            try b.withUnsafeMutableBufferPointer { try c.broadcast($0, root: 1) }
            try c.barrier()
        }
        for (r, t) in timers.enumerated() {
            let own = 5 * (r + 1), others = 30 - own
            let slice = n * (r + 1) / w - n * r / w
            let reduce = 4 * ((n - slice) + slice * (w - 1))
            let bcastSent = r == 1 ? 4 * 7 * (w - 1) : 0, bcastReceived = r == 1 ? 0 : 4 * 7
            XCTAssertEqual(t.bytesSent, 2 * own * (w - 1) + reduce + bcastSent, "rank \(r)")
            XCTAssertEqual(t.bytesReceived, 2 * others + reduce + bcastReceived, "rank \(r)")
            XCTAssertEqual(t.collectives, 5)
            XCTAssertGreaterThanOrEqual(t.communicationSeconds, 0)
        }
        // Every byte sent is received by someone.
        XCTAssertEqual(timers.map(\.bytesSent).reduce(0, +), timers.map(\.bytesReceived).reduce(0, +))
    }

    func testOneRankMovesNothingAndGatherBodiesAreCompute() throws {
        let c = TimedCommunicator(InProcessCommunicator(fabric: InProcessFabric(size: 1), rank: 0))
        let t0 = Clock.now()
        try [UInt8](repeating: 1, count: 100).withUnsafeBytes { raw in
            try c.allGather(raw) { _, view in
                XCTAssertEqual(view.count, 100)
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        var v = [Float](repeating: 1, count: 8)
        try v.withUnsafeMutableBufferPointer { try c.allReduceSum($0) }
        let wall = Clock.now() - t0
        XCTAssertEqual(c.bytesSent, 0)
        XCTAssertEqual(c.bytesReceived, 0)
        XCTAssertEqual(v, [Float](repeating: 1, count: 8))
        XCTAssertGreaterThanOrEqual(c.communicationSeconds, 0)
        XCTAssertLessThan(c.communicationSeconds, 0.04, "the 0.05 s spent decoding is not communication")
        XCTAssertGreaterThanOrEqual(wall, 0.05)
    }

    func testRunSummarySplitsWallTimeAndCountsEveryStep() throws {
        // sgd with no compressor: one all-reduce of d floats a step, plus a
        // two-Double gather per log record (steps 0, 10, 20 and the final one).
        let d = 40, w = 4, steps = 30
        let config = TrainerConfiguration(steps: steps, seed: 3, learningRate: 0.01, logEvery: 10)
        let lines = RecordList()
        let s = try InProcessRun.run(objective: try ProblemSpec.make("relu:d=\(d),n=400"), method: try MethodSpec.parse("sgd:batch=4"),
                                     compressor: nil, workers: w, config: config, onRecord: { lines.add($0) })
        let comm = try XCTUnwrap(s.communicationSeconds), compute = try XCTUnwrap(s.computeSeconds)
        XCTAssertGreaterThanOrEqual(comm, 0)
        XCTAssertGreaterThanOrEqual(compute, 0)
        XCTAssertEqual(comm + compute, s.wallSeconds, accuracy: 1e-9)
        let slice = d / w, records = steps / 10 + 1
        let expected = steps * 4 * ((d - slice) + slice * (w - 1)) + records * 16 * (w - 1)
        XCTAssertEqual(s.wireBytesSent, expected)
        XCTAssertEqual(s.wireBytesReceived, expected)
        // The JSON summary has the documented keys; log lines carry the running split.
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as? [String: Any])
        for k in ["communication_seconds", "compute_seconds", "wire_bytes_sent", "wire_bytes_received"] {
            XCTAssertNotNil(json[k], k)
        }
        let back = try JSONDecoder().decode(RunSummary.self, from: JSONEncoder().encode(s))
        XCTAssertEqual(back.wireBytesSent, expected)
        XCTAssertEqual(back.communicationSeconds, s.communicationSeconds)
        let sent = lines.all.compactMap { $0.metrics["wire_bytes_sent"] }
        XCTAssertEqual(sent.count, records)
        XCTAssertEqual(sent, sent.sorted())
        XCTAssertEqual(sent.first, Double(16 * (w - 1)), "step 0's record follows its own gather")
    }
}

/// Failures reported from rank threads.
private final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

/// Log records handed to `onRecord`.
private final class RecordList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [StepRecord] = []
    func add(_ r: StepRecord) { lock.lock(); items.append(r); lock.unlock() }
    var all: [StepRecord] { lock.lock(); defer { lock.unlock() }; return items }
}
