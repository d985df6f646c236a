import CSGDCore
import Datasets
import Foundation
import Optimization
import XCTest
@testable import NeuralNet

/// The network as an Objective: keyed, epoch-shuffled batches from each
/// worker's shard; reproducible gradients; the fixed-batch loss, full
/// gradient and finite-difference HVP; concurrent use from several threads.
final class NetworkObjectiveTests: XCTestCase {
    let shape = TensorShape(1, 4, 4)

    func makeObjective(spec: String = "mlp:16-8-3", shards: [[Int32]]? = nil, batch: Int = 4, parallelism: Int = 1) throws -> NetworkObjective {
        let model = try ModelSpec.parse(spec).build(input: shape, classes: 3)
        let data = TestData.dataset(shape, count: 40, classes: 3, seed: 7)
        let s = shards ?? [Array(0..<20), Array(20..<40)]
        return try NetworkObjective(model: model, data: data, shards: s, batchSize: batch, evaluation: data,
                                    evaluationIndices: Array(0..<16), parallelism: parallelism)
    }

    func gradient(_ f: NetworkObjective, _ x: [Float], _ key: BatchKey) -> ([Float], Double) {
        var g = [Float](repeating: .nan, count: f.dimension)
        let l = x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { f.gradient(at: xp, batch: key, into: $0) } }
        return (g, l)
    }

    func initial(_ f: NetworkObjective, seed: UInt64 = 1) -> [Float] {
        var x = [Float](repeating: 0, count: f.dimension)
        x.withUnsafeMutableBufferPointer { f.initialPoint(seed: seed, into: $0) }
        return x
    }

    func testSameKeySameBitsAndDifferentKeysDiffer() throws {
        let f = try makeObjective()
        let x = initial(f)
        let k = BatchKey(seed: 3, step: 5, worker: 1, workers: 2)
        let (a, la) = gradient(f, x, k)
        let (b, lb) = gradient(f, x, k)
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern))
        XCTAssertEqual(la.bitPattern, lb.bitPattern)
        XCTAssertFalse(a.contains { !$0.isFinite })
        XCTAssertNotEqual(gradient(f, x, BatchKey(seed: 3, step: 6, worker: 1, workers: 2)).0, a)
        XCTAssertNotEqual(gradient(f, x, BatchKey(seed: 4, step: 5, worker: 1, workers: 2)).0, a)
    }

    func testWorkersDrawFromTheirOwnShards() throws {
        let f = try makeObjective()
        for w in 0..<2 {
            for t in 0..<12 {
                let idx = f.batchIndices(BatchKey(seed: 1, step: UInt64(t), worker: w, workers: 2))
                XCTAssertEqual(idx.count, 4)
                XCTAssertTrue(idx.allSatisfy { f.shards[w].contains($0) }, "worker \(w) step \(t): \(idx)")
            }
        }
    }

    func testEpochsVisitEveryShardSampleOnce() throws {
        // Shard of 7, batch 3: positions straddle epochs; each epoch is a permutation of the shard.
        let shard: [Int32] = [3, 9, 14, 15, 22, 30, 31]
        let f = try makeObjective(shards: [shard], batch: 3)
        var stream: [Int32] = []
        for t in 0..<7 { stream += f.batchIndices(BatchKey(seed: 11, step: UInt64(t), worker: 0, workers: 1)) }
        XCTAssertEqual(stream.count, 21)
        for e in 0..<3 {
            XCTAssertEqual(stream[(7 * e)..<(7 * e + 7)].sorted(), shard, "epoch \(e)")
        }
        XCTAssertNotEqual(Array(stream[0..<7]), Array(stream[7..<14]), "epochs are shuffled differently")
        XCTAssertNotEqual(Array(stream[0..<7]), shard, "epoch 0 is shuffled")
        // The permutation is a pure function of its key.
        let key = RandomKey(seed: 2, step: 0, worker: 0, purpose: .shuffle)
        XCTAssertEqual(EpochShuffler.permutation(count: 50, key: key), EpochShuffler.permutation(count: 50, key: key))
        XCTAssertEqual(EpochShuffler.permutation(count: 50, key: key).sorted(), (0..<50).map(Int32.init))
    }

    func testGradientMatchesLossOnTheFixedBatch() throws {
        let f = try makeObjective(spec: "mlp:16-8-3,act=tanh")
        let x = initial(f)
        var g = [Float](repeating: 0, count: f.dimension)
        let l = x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { f.fullGradient(at: xp, into: $0) } }
        XCTAssertEqual(l, x.withUnsafeBufferPointer { f.loss(at: $0) }, accuracy: 1e-12)
        // Directional derivative along a random v against central differences of the loss.
        let v = TestData.uniform(f.dimension, seed: 9)
        let h: Float = 1e-2
        let plus = zip(x, v).map { $0 + h * $1 }, minus = zip(x, v).map { $0 - h * $1 }
        let num = (plus.withUnsafeBufferPointer { f.loss(at: $0) } - minus.withUnsafeBufferPointer { f.loss(at: $0) }) / (2 * Double(h))
        let ana = zip(g, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(num, ana, accuracy: 1e-3 * max(1, abs(ana)))
    }

    func testHessianVectorProductMatchesFiniteDifferences() throws {
        let f = try makeObjective(spec: "mlp:16-6-3,act=tanh")
        let x = initial(f)
        let v = TestData.uniform(f.dimension, seed: 21), u = TestData.uniform(f.dimension, seed: 22)
        func hvp(_ w: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: f.dimension)
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer { f.hessianVectorProduct(at: xp, wp, into: $0) } } }
            return out
        }
        func grad(_ y: [Float]) -> [Float] {
            var g = [Float](repeating: 0, count: f.dimension)
            _ = y.withUnsafeBufferPointer { yp in g.withUnsafeMutableBufferPointer { f.fullGradient(at: yp, into: $0) } }
            return g
        }
        let hv = hvp(v), hu = hvp(u)
        // Central difference with a 5× larger step, computed here.
        let vn = sqrt(v.reduce(0.0) { $0 + Double($1 * $1) })
        let xn = sqrt(x.reduce(0.0) { $0 + Double($1 * $1) })
        let h = 5e-3 * max(1, xn) / vn
        let gp = grad(zip(x, v).map { $0 + Float(h) * $1 }), gm = grad(zip(x, v).map { $0 - Float(h) * $1 })
        let expected = zip(gp, gm).map { (Double($0) - Double($1)) / (2 * h) }
        var err = 0.0, norm = 0.0
        for i in 0..<hv.count { err += pow(Double(hv[i]) - expected[i], 2); norm += expected[i] * expected[i] }
        XCTAssertGreaterThan(norm, 0)
        XCTAssertLessThan(sqrt(err / norm), 0.02, "relative error of Hv")
        // Symmetry: uᵀHv = vᵀHu.
        let uHv = zip(u, hv).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let vHu = zip(v, hu).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(uHv, vHu, accuracy: 0.02 * max(abs(uHv), 1e-3))
    }

    func testConcurrentCallsGiveSerialBits() throws {
        let f = try makeObjective(spec: "mlp:16-8-3,dropout=0.25")
        let x = initial(f)
        let keys = (0..<16).map { BatchKey(seed: 5, step: UInt64($0 / 2), worker: $0 % 2, workers: 2) }
        let serial = keys.map { gradient(f, x, $0).0 }
        let results = ResultsBox(count: keys.count)
        let group = DispatchGroup()
        for t in 0..<2 {
            group.enter()
            let thread = Thread {
                for i in stride(from: t, to: keys.count, by: 2) {
                    var g = [Float](repeating: .nan, count: f.dimension)
                    _ = x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { f.gradient(at: xp, batch: keys[i], into: $0) } }
                    results.set(i, g)
                }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        for i in 0..<keys.count { XCTAssertEqual(results.get(i).map(\.bitPattern), serial[i].map(\.bitPattern), "key \(i)") }
    }

    func testSplitBatchAgreesWithWholeBatch() throws {
        let one = try makeObjective(spec: "mlp:16-8-3,dropout=0.25", batch: 6)
        let two = try makeObjective(spec: "mlp:16-8-3,dropout=0.25", batch: 6, parallelism: 2)
        let x = initial(one)
        let k = BatchKey(seed: 8, step: 2, worker: 0, workers: 2)
        let (a, la) = gradient(one, x, k), (b, lb) = gradient(two, x, k)
        XCTAssertEqual(la, lb, accuracy: 1e-6)
        for i in 0..<a.count { XCTAssertEqual(a[i], b[i], accuracy: 1e-5 * max(1, abs(a[i]))) }
    }

    func testEvaluationReportsAccuracyAndCalibratesBatchNorm() throws {
        let f = try makeObjective()
        let x = initial(f)
        let e = x.withUnsafeBufferPointer { f.evaluate(at: $0, on: f.data) }
        XCTAssertEqual(e.samples, 40)
        XCTAssertNotNil(e.accuracy)
        XCTAssertTrue((0...1).contains(e.accuracy!))
        let r = try ModelSpec.parse("resnet:8,width=2").build(input: shape, classes: 3)
        let data = f.data
        let g = try NetworkObjective(model: r, data: data, shards: [Array(0..<40)], batchSize: 8, evaluation: data)
        let xr = r.initialParameters(seed: 1)
        let state = xr.withUnsafeBufferPointer { r.calibrateStatistics(parameters: $0, data: data, indices: Array(0..<16), batchSize: 8) }
        XCTAssertNotEqual(state, r.initialState())
        let er = xr.withUnsafeBufferPointer { g.evaluate(at: $0, on: data, indices: Array(0..<10)) }
        XCTAssertEqual(er.samples, 10)
        XCTAssertTrue(er.loss.isFinite)
        let ae = try ModelSpec.parse("mnist-ae").build(input: TensorShape(1, 28, 28), classes: 10)
        let aeData = TestData.dataset(TensorShape(1, 28, 28), count: 3, classes: 10, seed: 1)
        let ea = ae.initialParameters(seed: 1).withUnsafeBufferPointer { ae.evaluate(parameters: $0, data: aeData) }
        XCTAssertNil(ea.accuracy)
        XCTAssertGreaterThan(ea.loss, 0)
    }

    func testBadConstructionThrows() throws {
        let model = try ModelSpec.parse("mlp:16-8-3").build(input: shape, classes: 3)
        let data = TestData.dataset(shape, count: 10, classes: 3, seed: 1)
        let other = TestData.dataset(TensorShape(1, 5, 5), count: 10, classes: 3, seed: 1)
        XCTAssertThrowsError(try NetworkObjective(model: model, data: other, shards: [[0]], batchSize: 2, evaluation: data))
        XCTAssertThrowsError(try NetworkObjective(model: model, data: data, shards: [[0], []], batchSize: 2, evaluation: data))
        XCTAssertThrowsError(try NetworkObjective(model: model, data: data, shards: [[0, 10]], batchSize: 2, evaluation: data))
        XCTAssertThrowsError(try NetworkObjective(model: model, data: data, shards: [[0]], batchSize: 0, evaluation: data))
        let many = TestData.dataset(shape, count: 10, classes: 5, seed: 2)
        XCTAssertThrowsError(try NetworkObjective(model: model, data: many, shards: [[0]], batchSize: 2, evaluation: data)) { e in
            XCTAssertFalse(String(describing: e).contains("\n"))
        }
    }

    /// The fixed batch's parts, summed by `accumulate` in part order, give
    /// `fullGradient`'s loss and gradient bit for bit (16 samples in parts
    /// of 5: 5, 5, 5 and 1).
    func testFixedBatchPartsSumToTheFullGradient() throws {
        let model = try ModelSpec.parse("mlp:16-8-3").build(input: shape, classes: 3)
        let data = TestData.dataset(shape, count: 40, classes: 3, seed: 7)
        let f = try NetworkObjective(model: model, data: data, shards: [Array(0..<40)], batchSize: 4, evaluation: data,
                                     evaluationIndices: Array(0..<16), evaluationChunk: 5)
        XCTAssertEqual(f.fixedBatchPartCount, 4)
        let x = initial(f)
        var whole = [Float](repeating: .nan, count: f.dimension)
        let loss = x.withUnsafeBufferPointer { xp in whole.withUnsafeMutableBufferPointer { f.fullGradient(at: xp, into: $0) } }
        let parts = (0..<4).map { _ in FloatBuffer(count: f.dimension) }
        let terms = (0..<4).map { c in x.withUnsafeBufferPointer { f.fixedBatchPart(c, at: $0, into: parts[c].pointer) } }
        let weights: [Double] = terms.map(\.weight)
        XCTAssertEqual(weights, [5.0 / 16, 5.0 / 16, 5.0 / 16, 1.0 / 16])
        let g = FloatBuffer(count: f.dimension)
        var lent: [(loss: Double, weight: Double, gradient: UnsafePointer<Float>)] = []
        for c in 0..<4 { lent.append((terms[c].loss, terms[c].weight, UnsafePointer(parts[c].pointer))) }
        let summed = f.accumulate(lent, into: g.pointer)
        XCTAssertEqual(summed.bitPattern, loss.bitPattern)
        XCTAssertEqual(g.array.map(\.bitPattern), whole.map(\.bitPattern))
        XCTAssertGreaterThan(Kernels.norm2(g.readOnly), 0)
    }
}

/// Per-index results written from several threads.
final class ResultsBox: @unchecked Sendable {
    private var values: [[Float]]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: [], count: count) }
    func set(_ i: Int, _ v: [Float]) { lock.lock(); values[i] = v; lock.unlock() }
    func get(_ i: Int) -> [Float] { lock.lock(); defer { lock.unlock() }; return values[i] }

}
