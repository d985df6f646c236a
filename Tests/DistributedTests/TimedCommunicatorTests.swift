import Communication
import CSGDCore
import Distributed
import Foundation
import Optimization
import Problems
import XCTest

/// The timing decorator: bytes counted are the bytes passed (by the
/// direct-exchange model), what one rank sends the others receive, waiting
/// inside a collective for a slower rank is communication while a gather
/// body's time is compute, and a run's summary splits rank 0's wall time
/// into the two.
final class TimedCommunicatorTests: XCTestCase {
    /// Runs `body(rank, timed)` on W rank threads (`onRanks`), each rank's
    /// communicator wrapped in a `TimedCommunicator`; returns the decorators.
    /// The ranks pass an untimed barrier first, so the timed part starts
    /// together however late a thread was started.
    func timedRanks(_ w: Int, _ body: @escaping @Sendable (Int, TimedCommunicator) throws -> Void) throws -> [TimedCommunicator] {
        try onRanks(w) { r, comm in
            let timed = TimedCommunicator(comm)
            try comm.barrier()
            try body(r, timed)
            return timed
        }
    }

    func testBytesCountedAreTheBytesPassed() throws {
        let w = 3, n = 10
        let timers = try timedRanks(w) { r, c in
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
        }
        // Every byte sent is received by someone.
        XCTAssertEqual(timers.map(\.bytesSent).reduce(0, +), timers.map(\.bytesReceived).reduce(0, +))
    }

    func testOneRankMovesNothingAndGatherBodiesAreCompute() throws {
        let c = TimedCommunicator(InProcessCommunicator(fabric: InProcessFabric(size: 1), rank: 0))
        let decoding = 0.3
        var senders: [Int] = []
        try [UInt8](repeating: 1, count: 100).withUnsafeBytes { raw in
            try c.allGather(raw) { r, view in
                senders.append(r)
                XCTAssertEqual(view.count, 100)
                Thread.sleep(forTimeInterval: decoding)
            }
        }
        var v = [Float](repeating: 1, count: 8)
        try v.withUnsafeMutableBufferPointer { try c.allReduceSum($0) }
        XCTAssertEqual(senders, [0], "one rank's gather hands its own message to the body once")
        XCTAssertEqual(c.bytesSent, 0)
        XCTAssertEqual(c.bytesReceived, 0)
        XCTAssertEqual(c.collectives, 2)
        XCTAssertEqual(v, [Float](repeating: 1, count: 8))
        XCTAssertLessThan(c.communicationSeconds, decoding / 2, "the \(decoding) s spent decoding is not communication")
    }

    /// Rank 1 arrives late at an all-reduce: rank 0's wait is communication,
    /// rank 1's own time there stays small. Then rank 0 decodes slowly inside
    /// a gather body: that time is rank 0's compute, and rank 1's wait for
    /// rank 0 at the end of the gather is rank 1's communication.
    func testWaitingForASlowerRankIsCommunicationAndDecodingIsNot() throws {
        let delay = 0.4
        let times = try onRanks(2) { r, comm -> (late: Double, slowDecoder: Double) in
            let c = TimedCommunicator(comm)
            try comm.barrier()   // untimed: the timed part starts together
            if r == 1 { Thread.sleep(forTimeInterval: delay) }
            var v = [Float](repeating: Float(r), count: 8)
            try v.withUnsafeMutableBufferPointer { try c.allReduceSum($0) }
            guard v.allSatisfy({ $0 == 1 }) else { throw CSGDError("all-reduce gave \(v)") }
            let late = c.communicationSeconds
            try comm.barrier()
            try [UInt8](repeating: UInt8(r), count: 10).withUnsafeBytes { raw in
                try c.allGather(raw) { from, _ in
                    if r == 0 && from == 1 { Thread.sleep(forTimeInterval: delay) }
                }
            }
            return (late, c.communicationSeconds - late)
        }
        XCTAssertGreaterThan(times[0].late, delay / 2, "rank 0 waited \(delay) s in the all-reduce for rank 1")
        XCTAssertLessThan(times[1].late, times[0].late / 4, "the late rank hardly waits: \(times)")
        XCTAssertGreaterThan(times[1].slowDecoder, delay / 2, "rank 1 waited \(delay) s at the gather's end for rank 0")
        XCTAssertLessThan(times[0].slowDecoder, times[1].slowDecoder / 4, "rank 0's decoding is its compute: \(times)")
    }

    func testRunSummarySplitsWallTimeAndCountsEveryStep() throws {
        // sgd with no compressor: one all-reduce of d floats a step, plus a
        // four-Double all-reduce per log record (steps 0, 10, 20 and the
        // final one: ‖e‖, ‖∇F_i‖, and rank 0's f and ‖∇f‖).
        // One worker pauses in every gradient: when it is rank 0, the pauses
        // are rank 0's compute; when it is another rank, rank 0 spends them
        // waiting in the all-reduce, as communication.
        let d = 40, w = 4, steps = 30, pause = 0.01
        func run(slowWorker: Int, onRecord: (@Sendable (StepRecord) -> Void)? = nil) throws -> RunSummary {
            let config = TrainerConfiguration(steps: steps, seed: 3, learningRate: 0.01, logEvery: 10)
            let objective = SlowWorker(try ProblemSpec.make("relu:d=\(d),n=400"), worker: slowWorker, pause: pause)
            return try InProcessRun.run(objective: objective, method: try Methods.parse("sgd:batch=4"),
                                        compressor: nil, workers: w, config: config, onRecord: onRecord)
        }
        let paused = Double(steps) * pause
        let lines = RecordList()
        let s = try run(slowWorker: 1, onRecord: { lines.add($0) })
        let comm = try XCTUnwrap(s.communicationSeconds), compute = try XCTUnwrap(s.computeSeconds)
        XCTAssertGreaterThan(comm, paused / 2, "rank 0 waited for rank 1's \(paused) s of pauses")
        XCTAssertLessThan(compute, comm, "rank 0's own work is small next to its waiting")
        XCTAssertEqual(comm + compute, s.wallSeconds, accuracy: 1e-9)
        let own = try run(slowWorker: 0)
        let ownComm = try XCTUnwrap(own.communicationSeconds), ownCompute = try XCTUnwrap(own.computeSeconds)
        XCTAssertGreaterThan(ownCompute, paused / 2, "rank 0's own \(paused) s of pauses are compute")
        XCTAssertLessThan(ownComm, ownCompute, "the others wait for rank 0, not rank 0 for them")
        XCTAssertEqual(ownComm + ownCompute, own.wallSeconds, accuracy: 1e-9)
        let slice = d / w, records = steps / 10 + 1
        let expected = steps * 4 * ((d - slice) + slice * (w - 1)) + records * 32 * (w - 1)
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
        XCTAssertEqual(sent.first, Double(32 * (w - 1)), "step 0's record follows its own all-reduce")
    }
}

/// Pauses worker `worker`'s every stochastic gradient by `pause` seconds.
private final class SlowWorker: ObjectiveWrapper, @unchecked Sendable {
    let inner: any Objective
    let worker: Int
    let pause: Double
    init(_ inner: any Objective, worker: Int, pause: Double) { self.inner = inner; self.worker = worker; self.pause = pause }
    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        if batch.worker == worker { Thread.sleep(forTimeInterval: pause) }
        return inner.gradient(at: x, batch: batch, into: g)
    }
}

/// Log records handed to `onRecord`.
private final class RecordList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [StepRecord] = []
    func add(_ r: StepRecord) { lock.lock(); items.append(r); lock.unlock() }
    var all: [StepRecord] { lock.lock(); defer { lock.unlock() }; return items }
}
