import XCTest
import CSGDCore
import Optimization
import Problems

final class PhaseRetrievalTests: XCTestCase {
    let spec = "phase-retrieval:d=5,n=90"

    func reference(_ p: PhaseRetrieval) -> ([Double]) -> Double {
        let d = p.dimension, n = p.sampleCount, a = p.measurements.map(Double.init), y = p.labels.map(Double.init)
        return { x in
            var s = 0.0
            for i in 0..<n {
                var z = 0.0
                for t in 0..<d { z += a[i * d + t] * x[t] }
                s += (z * z - y[i]) * (z * z - y[i])
            }
            return s / (4 * Double(n))
        }
    }

    /// Per-sample gradient (z² − y)z·a in Double.
    func sampleGradient(_ p: PhaseRetrieval, _ i: Int, _ x: [Float]) -> [Double] {
        let d = p.dimension
        var z = 0.0
        for t in 0..<d { z += Double(p.measurements[i * d + t]) * Double(x[t]) }
        let c = (z * z - Double(p.labels[i])) * z
        return (0..<d).map { c * Double(p.measurements[i * d + $0]) }
    }

    func testData() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? PhaseRetrieval)
        XCTAssertEqual(norm(p.planted), 1, accuracy: 1e-6)
        for i in 0..<p.sampleCount {
            var z = 0.0
            for t in 0..<5 { z += Double(p.measurements[i * 5 + t]) * Double(p.planted[t]) }
            XCTAssertEqual(Double(p.labels[i]), z * z, accuracy: 1e-5 * max(1, z * z))
        }
    }

    func testGradientAndHessian() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? PhaseRetrieval)
        for seed: UInt64 in 1...3 {
            let x = testVector(5, seed: seed, sigma: 0.6)
            assertGradientMatchesFiniteDifferences(p, at: x, reference: reference(p))
            assertHessianConsistent(p, at: x, direction: testVector(5, seed: seed + 20), h: 1e-2)
        }
    }

    func testMinimisersAndOrigin() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? PhaseRetrieval)
        for sign: Float in [1, -1] {
            let x = p.planted.map { sign * $0 }
            XCTAssertLessThan(norm(p.fullGradient(x).g), 1e-5)
            XCTAssertEqual(p.loss(x), 0, accuracy: 1e-10)
            XCTAssertGreaterThan(eigenvalues(p.denseHessian(x), n: 5)[0], 0.1, "strictly convex at ±x*")
            XCTAssertEqual(try XCTUnwrap(p.relError(x)), 0, accuracy: 1e-6)
        }
        let zero = [Float](repeating: 0, count: 5)
        XCTAssertEqual(norm(p.fullGradient(zero).g), 0)
        XCTAssertLessThan(eigenvalues(p.denseHessian(zero), n: 5).last!, 0, "only negative curvature at 0")
        for s in 0..<20 {
            XCTAssertEqual(norm(p.stochasticGradient(zero, BatchKey(seed: 1, step: UInt64(s), size: 3)).g), 0)
        }
        XCTAssertEqual(try ProblemSpec.make(spec + ",start=zero").start(seed: 1), zero)
        XCTAssertEqual(norm(p.start(seed: 1)), 0.1, accuracy: 0.08)
    }

    func testShardsAndOracle() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? PhaseRetrieval)
        let x = testVector(5, seed: 9, sigma: 0.6)
        for w in 0..<3 {
            let shard = (w * 30) ..< (w * 30 + 30)
            var seen = Set<Int>()
            for s in 0..<60 {
                let key = BatchKey(seed: 2, step: UInt64(s), worker: w, workers: 3, size: 4)
                let idx = p.sampleIndices(batch: key)
                XCTAssertEqual(idx.count, 4)
                XCTAssertTrue(idx.allSatisfy { shard.contains($0) }, "worker \(w) drew \(idx) outside \(shard)")
                seen.formUnion(idx)
                let (g, f) = p.stochasticGradient(x, key)
                var expect = [Double](repeating: 0, count: 5)
                var loss = 0.0
                for i in idx {
                    let gi = sampleGradient(p, i, x)
                    for t in 0..<5 { expect[t] += gi[t] / 4 }
                    var z = 0.0
                    for t in 0..<5 { z += Double(p.measurements[i * 5 + t]) * Double(x[t]) }
                    loss += (z * z - Double(p.labels[i])) * (z * z - Double(p.labels[i])) / 16
                }
                XCTAssertLessThanOrEqual(difference(g, expect), 1e-5 * max(1, norm(expect)))
                XCTAssertEqual(f, loss, accuracy: 1e-5 * max(1, loss))
            }
            XCTAssertGreaterThan(seen.count, 25, "the batches cover worker \(w)'s shard")
        }
        XCTAssertEqual(p.sampleIndices(batch: BatchKey(seed: 2, step: 0)).count, 1, "default batch size 1")
        assertUnbiased(p, at: x, steps: 1500, workers: 3, size: 2)
        try assertDeterministic(spec, at: x, size: 3)
        try assertDeterministic(spec + ",noise=0.1", at: x, size: 3)
    }
}
