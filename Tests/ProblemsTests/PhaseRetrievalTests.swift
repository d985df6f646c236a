import XCTest
import CSGDCore
import Optimization
import Problems

final class PhaseRetrievalTests: XCTestCase {
    let spec = "phase-retrieval:d=5,n=90"

    /// f(x) = (1/(4n))·Σᵢ (⟨aᵢ,x⟩² − yᵢ)².
    func reference(_ p: PhaseRetrieval) -> ([Double]) -> Double {
        meanSquaredResidual(rows: p.measurements, labels: p.labels, divisor: 4) { z, y in z * z - y }
    }

    /// Per-sample gradient (z² − y)z·a in Double.
    func sampleGradient(_ p: PhaseRetrieval, _ i: Int, _ x: [Float]) -> [Double] {
        let d = p.dimension
        let z = rowDot(p.measurements, i, x)
        let c = (z * z - Double(p.labels[i])) * z
        return (0..<d).map { c * Double(p.measurements[i * d + $0]) }
    }

    func testData() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? PhaseRetrieval)
        XCTAssertEqual(norm(p.planted), 1, accuracy: 1e-6)
        for i in 0..<p.sampleCount {
            let z = rowDot(p.measurements, i, p.planted)
            XCTAssertEqual(Double(p.labels[i]), z * z, accuracy: 1e-5 * max(1, z * z))
        }
    }

    func testGradientAndHessian() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? PhaseRetrieval)
        assertDerivativesAtTestPoints(p, sigma: 0.6, directionSeed: 20, h: 1e-2, reference: reference(p))
    }

    func testMinimisersAndOrigin() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? PhaseRetrieval)
        for sign: Float in [1, -1] {
            let x = p.planted.map { sign * $0 }
            let ev = try assertMinimiser(p, at: x, value: 0, gradientTolerance: 1e-5, lossAccuracy: 1e-10, relativeErrorAccuracy: 1e-6)
            XCTAssertGreaterThan(ev[0], 0.1, "strictly convex at ±x*")
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
        assertBatchesStayInShards(samples: 90, steps: 60, size: 4, seed: 2, coverage: 25, indices: p.sampleIndices) { key, batch in
            let (g, f) = p.stochasticGradient(x, key)
            var expect = [Double](repeating: 0, count: 5)
            var loss = 0.0
            for i in batch {
                let gi = sampleGradient(p, i, x)
                for t in 0..<5 { expect[t] += gi[t] / 4 }
                let z = rowDot(p.measurements, i, x)
                loss += (z * z - Double(p.labels[i])) * (z * z - Double(p.labels[i])) / 16
            }
            XCTAssertLessThanOrEqual(difference(g, expect), 1e-5 * max(1, norm(expect)))
            XCTAssertEqual(f, loss, accuracy: 1e-5 * max(1, loss))
        }
        XCTAssertEqual(p.sampleIndices(batch: BatchKey(seed: 2, step: 0)).count, 1, "default batch size 1")
        assertUnbiased(p, at: x, steps: 1500, workers: 3, size: 2)
        try assertDeterministic(spec, at: x, size: 3)
        try assertDeterministic(spec + ",noise=0.1", at: x, size: 3)
    }
}
