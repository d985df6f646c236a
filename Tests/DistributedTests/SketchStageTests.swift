import Communication
import Compression
import CSGDCore
import Foundation
@testable import Optimization
import Problems
import XCTest
@testable import Distributed

/// sketch-topk's two-round protocol (Sketched-SGD): the ranks' tables are
/// summed, every rank selects the same K indices from the sum, the K exact
/// values are summed, each rank's error memory loses its own values there,
/// and the bits are the two all-reduces'. With W = 1 it is the compressor's
/// own message, as before.
final class SketchStageTests: XCTestCase {
    /// What one rank holds after one step.
    struct Outcome {
        var dense: [Float]
        var sparse: [Float]
        var error: [Float]
        var indices: [UInt32]
        /// compress, then average's (upload, download), then averageSparse's.
        var bits: [Int]
    }

    /// One step of compress (with the exchange), error feedback's subtraction
    /// and both averages, on this rank's vector v.
    static func step(_ c: SketchTopK, _ v: [Float], key: RandomKey, comm: Communicator) throws -> Outcome {
        let d = c.dimension
        let stage = makeMessageExchange(c)
        let e = FloatBuffer(v)
        let sent = try stage.compress(e.readOnly, key: key, communicator: comm)
        stage.subtractMessage(from: e.buffer)
        let dense = FloatBuffer(count: d)
        let (up, down) = try stage.average(into: dense.buffer, key: key, communicator: comm)
        guard let cap = stage.sparseCapacity(workers: comm.size) else { throw CSGDError("sketch-topk must give a sparse update") }
        let out = SparseUpdate(capacity: cap), zeroed = FloatBuffer(count: d)
        let (up2, down2) = try stage.averageSparse(into: out, zeroed: zeroed.buffer, key: key, communicator: comm)
        var scattered = [Float](repeating: 0, count: d)
        for j in 0..<out.count { scattered[Int(out.indices[j])] = out.values[j] }
        return Outcome(dense: Array(dense.readOnly), sparse: scattered, error: Array(e.readOnly),
                       indices: Array(UnsafeBufferPointer(start: out.indices, count: out.count)), bits: [sent, up, down, up2, down2])
    }

    /// The protocol computed independently: the ranks' tables summed in rank
    /// order (as the all-reduce does), S = top K of the sum's estimates, and
    /// (1/W)·Σ v[S] at S.
    static func reference(_ c: SketchTopK, _ vs: [[Float]], key: RandomKey) -> (indices: [UInt32], update: [Float]) {
        var sum = [Float](repeating: 0, count: c.rows * c.cols), t = sum
        for (r, v) in vs.enumerated() {
            v.withUnsafeBufferPointer { x in t.withUnsafeMutableBufferPointer { c.sketch(x, key: key, into: $0) } }
            for i in sum.indices { sum[i] = r == 0 ? t[i] : sum[i] + t[i] }
        }
        var m = c.makeMessage()
        sum.withUnsafeBufferPointer { c.select(fromTable: $0, key: key, into: &m) }
        var update = [Float](repeating: 0, count: c.dimension)
        for i in m.pairs.indices.map(Int.init) {
            var s = vs[0][i]
            for v in vs.dropFirst() { s += v[i] }
            update[i] = s * (1 / Float(vs.count))
        }
        return (m.pairs.indices, update)
    }

    static func key(rank r: Int) -> RandomKey { RandomKey(seed: 11, step: 4, worker: UInt32(r), purpose: .quantization) }

    func testEveryRankAppliesTheSummedSketchSelection() throws {
        let d = 2000, w = 3
        let c = SketchTopK(dimension: d, k: 20, rows: 5, cols: 80)
        let vs: [[Float]] = (0..<w).map { r in
            let b = FloatBuffer(count: d)
            RandomFill.gaussian(RandomKey(seed: 3, step: UInt64(r), purpose: .test), sigma: 1, into: b.buffer)
            return Array(b.readOnly)
        }
        let outcomes = try onRanks(w) { r, comm in try Self.step(c, vs[r], key: Self.key(rank: r), comm: comm) }
        let ref = Self.reference(c, vs, key: Self.key(rank: 0))
        XCTAssertEqual(ref.indices.count, 20)
        let bits = 32 * (5 * 80 + 20)
        for (r, o) in outcomes.enumerated() {
            XCTAssertEqual(o.indices, ref.indices, "rank \(r): S")
            XCTAssertEqual(o.dense.map(\.bitPattern), ref.update.map(\.bitPattern), "rank \(r): dense update")
            XCTAssertEqual(o.sparse.map(\.bitPattern), ref.update.map(\.bitPattern), "rank \(r): sparse update")
            var kept = vs[r]
            for i in ref.indices { kept[Int(i)] = 0 }
            XCTAssertEqual(o.error.map(\.bitPattern), kept.map(\.bitPattern), "rank \(r): e = v with S zeroed")
            XCTAssertEqual(o.bits, [bits, bits, bits, bits, bits], "rank \(r): 32·R·C + 32·K each way")
        }
        // The update is not any single rank's own selection.
        for r in 0..<w {
            var own = c.makeMessage()
            vs[r].withUnsafeBufferPointer { c.compress($0, key: Self.key(rank: r), into: &own) }
            XCTAssertNotEqual(own.pairs.indices, ref.indices, "rank \(r) alone")
        }
    }

    /// Each rank has its own 20 spikes of 16 and shares 20 coordinates of 10
    /// with the others: alone it would pick its spikes, the sum (30 against
    /// 16) picks the shared ones. Integer data: every sum is exact.
    func testSummedSketchFindsTheCommonHeavyHitters() throws {
        let d = 2000, w = 3, k = 20
        let c = SketchTopK(dimension: d, k: k, rows: 5, cols: 400)
        let common = (0..<k).map { UInt32(100 * $0 + 10) }
        let vs: [[Float]] = (0..<w).map { r in
            var v = [Float](repeating: 0, count: d)
            for i in common { v[Int(i)] = 10 }
            for j in 0..<k { v[100 * j + 40 + 20 * r] = 16 }
            return v
        }
        // The planted coordinates are distinct.
        XCTAssertEqual(vs.map { $0.filter { $0 != 0 }.count }, [2 * k, 2 * k, 2 * k])
        let outcomes = try onRanks(w) { r, comm in try Self.step(c, vs[r], key: Self.key(rank: r), comm: comm) }
        for r in 0..<w {
            var own = c.makeMessage()
            vs[r].withUnsafeBufferPointer { c.compress($0, key: Self.key(rank: r), into: &own) }
            XCTAssertEqual(own.pairs.indices.map { vs[r][Int($0)] }, [Float](repeating: 16, count: k), "rank \(r) alone picks its spikes")
            let o = outcomes[r]
            XCTAssertEqual(o.indices, common, "rank \(r)")
            XCTAssertEqual(common.map { o.sparse[Int($0)] }, [Float](repeating: 30 * (1 / Float(3)), count: k))
            XCTAssertEqual(o.sparse, o.dense)
            // The error memory keeps the rank's own spikes and drops the common part.
            XCTAssertEqual(o.error.filter { $0 != 0 }, [Float](repeating: 16, count: k), "rank \(r)")
            XCTAssertTrue(common.allSatisfy { o.error[Int($0)] == 0 })
        }
    }

    /// W = 1: the message of `SketchTopK.compress` on the own table, the same
    /// bits as the former all-gather stage over several steps of error
    /// feedback, and nothing downloaded.
    func testOneRankMatchesTheCompressorsOwnMessage() throws {
        let d = 2000
        let c = SketchTopK(dimension: d, k: 20, rows: 5, cols: 80)
        let comm = InProcessCommunicator(fabric: InProcessFabric(size: 1), rank: 0)
        let before = TypedMessageExchange(c), stage = makeMessageExchange(c)
        let eBefore = FloatBuffer(count: d), e = FloatBuffer(count: d)
        let avgBefore = FloatBuffer(count: d), dense = FloatBuffer(count: d), zeroed = FloatBuffer(count: d)
        let out = SparseUpdate(capacity: try XCTUnwrap(stage.sparseCapacity(workers: 1)))
        for t in 0..<5 {
            let g = RandomKey(seed: 9, step: UInt64(t), purpose: .test)
            RandomFill.gaussian(g, sigma: 1, into: eBefore.buffer, accumulate: true)
            RandomFill.gaussian(g, sigma: 1, into: e.buffer, accumulate: true)
            let key = RandomKey(seed: 2, step: UInt64(t), worker: 0, purpose: .quantization)
            let a = before.compress(eBefore.readOnly, key: key)
            let b = try stage.compress(e.readOnly, key: key, communicator: comm)
            XCTAssertEqual(a, b)
            before.subtractMessage(from: eBefore.buffer)
            stage.subtractMessage(from: e.buffer)
            XCTAssertEqual(Array(e.readOnly).map(\.bitPattern), Array(eBefore.readOnly).map(\.bitPattern), "step \(t): e")
            let bitsBefore = try before.average(into: avgBefore.buffer, key: key, communicator: comm)
            XCTAssertEqual(try stage.average(into: dense.buffer, key: key, communicator: comm).0, bitsBefore.0)
            XCTAssertEqual(try stage.average(into: dense.buffer, key: key, communicator: comm).1, 0)
            XCTAssertEqual(Array(dense.readOnly).map(\.bitPattern), Array(avgBefore.readOnly).map(\.bitPattern), "step \(t): update")
            let sparseBits = try stage.averageSparse(into: out, zeroed: zeroed.buffer, key: key, communicator: comm)
            XCTAssertEqual(sparseBits.0, bitsBefore.0)
            XCTAssertEqual(sparseBits.1, 0)
            XCTAssertEqual(out.count, 20)
            var scattered = [Float](repeating: 0, count: d)
            for j in 0..<out.count { scattered[Int(out.indices[j])] = out.values[j] }
            XCTAssertEqual(scattered.map(\.bitPattern), Array(avgBefore.readOnly).map(\.bitPattern), "step \(t): the pairs hold the whole update")
        }
    }

    /// Averaging a message made without the exchange over W = 3 is a thrown
    /// mismatch, not a silent wrong update.
    func testAveragingWithoutTheExchangeThrows() throws {
        let d = 200
        let c = SketchTopK(dimension: d, k: 5, rows: 3, cols: 20)
        let outcomes = try onRanks(3) { r, comm in
            let stage = makeMessageExchange(c)
            let v = FloatBuffer(count: d)
            RandomFill.gaussian(RandomKey(seed: 1, step: UInt64(r), purpose: .test), sigma: 1, into: v.buffer)
            _ = stage.compress(v.readOnly, key: Self.key(rank: r))
            let out = SparseUpdate(capacity: 5), zeroed = FloatBuffer(count: d)
            var thrown = 0
            do { _ = try stage.averageSparse(into: out, zeroed: zeroed.buffer, key: Self.key(rank: r), communicator: comm) } catch { thrown += 1 }
            do { _ = try stage.average(into: zeroed.buffer, key: Self.key(rank: r), communicator: comm) } catch { thrown += 1 }
            return Outcome(dense: [], sparse: [], error: [], indices: [], bits: [thrown])
        }
        XCTAssertEqual(outcomes.map(\.bits), [[2], [2], [2]])
    }

    /// Whole runs: upload and download are 32·R·C + 32·K a step with W = 3
    /// (0 download with W = 1), and the run is reproducible.
    func testRunBitsAreTheTwoAllReduces() throws {
        func run(workers: Int, method: String) throws -> RunSummary {
            let config = TrainerConfiguration(steps: 30, seed: 4, learningRate: 0.01, logEvery: 100, epsilon: nil, certifyEvery: 0)
            return try InProcessRun.run(objective: try ProblemSpec.make("phase-retrieval:d=20,n=200"), method: try Methods.parse(method),
                                        compressor: try CompressorSpec.parse("sketch-topk:4,rows=3,cols=5"), workers: workers, config: config)
        }
        let bits = 32 * (3 * 5 + 4)
        for method in ["alg1:sigma=0.01,batch=4", "sgd:batch=4"] {
            let a = try run(workers: 3, method: method), b = try run(workers: 3, method: method)
            XCTAssertEqual(a.uploadBitsPerWorker, 30 * bits, method)
            XCTAssertEqual(a.downloadBitsPerWorker, 30 * bits, method)
            XCTAssertEqual(a.paramsSHA256, b.paramsSHA256, method)
            let one = try run(workers: 1, method: method)
            XCTAssertEqual(one.uploadBitsPerWorker, 30 * bits, method)
            XCTAssertEqual(one.downloadBitsPerWorker, 0, method)
        }
    }
}
