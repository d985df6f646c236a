import XCTest
import CSGDCore
import Optimization
import Problems

final class StrictSaddleTests: XCTestCase {
    let gamma = 0.7

    func reference(_ x: [Double]) -> Double {
        -gamma / 2 * x[0] * x[0] + x[0] * x[0] * x[0] * x[0] / 4 + 0.5 * x.dropFirst().reduce(0) { $0 + $1 * $1 }
    }

    func testGradientAndHessian() throws {
        let p = try ProblemSpec.make("saddle:d=5,gamma=0.7")
        for seed: UInt64 in 1...3 {
            let x = testVector(5, seed: seed)
            assertGradientMatchesFiniteDifferences(p, at: x, reference: reference)
            assertHessianConsistent(p, at: x, direction: testVector(5, seed: seed + 100), h: 1e-2)
        }
    }

    func testSaddleAtOriginAndMinima() throws {
        let p = try XCTUnwrap(try ProblemSpec.make("saddle:d=5,gamma=0.7") as? StrictSaddle)
        let zero = p.start(seed: 42)
        XCTAssertEqual(zero, [Float](repeating: 0, count: 5), "default start is exactly the saddle")
        XCTAssertEqual(p.stochasticGradient(zero, BatchKey(seed: 1, step: 3)).g, zero, "noise-free oracle is zero at the saddle")
        let ev = eigenvalues(p.denseHessian(zero), n: 5)
        XCTAssertEqual(ev[0], -gamma, accuracy: 1e-12)
        XCTAssertEqual(ev[1], 1, accuracy: 1e-12)
        // The same from HVPs only.
        var fromHVP = [Double](repeating: 0, count: 25)
        for j in 0..<5 {
            var e = [Float](repeating: 0, count: 5); e[j] = 1
            let col = p.hvp(zero, e)
            for i in 0..<5 { fromHVP[i * 5 + j] = Double(col[i]) }
        }
        XCTAssertEqual(eigenvalues(fromHVP, n: 5)[0], -gamma, accuracy: 1e-6)
        XCTAssertEqual(p.optimalValue, -gamma * gamma / 4)
        for sign: Float in [1, -1] {
            var m = [Float](repeating: 0, count: 5); m[0] = sign * Float(gamma.squareRoot())
            XCTAssertLessThan(norm(p.fullGradient(m).g), 1e-6)
            XCTAssertEqual(p.loss(m), -gamma * gamma / 4, accuracy: 1e-6)
            let mev = eigenvalues(p.denseHessian(m), n: 5)
            XCTAssertEqual(mev[0], 1, accuracy: 1e-6)
            XCTAssertEqual(mev[4], 2 * gamma, accuracy: 1e-5)
            XCTAssertEqual(try XCTUnwrap(p.relError(m)), 0, accuracy: 1e-6)
        }
        XCTAssertEqual(try XCTUnwrap(p.relError(zero)), 1, accuracy: 1e-12)
        XCTAssertEqual(p.constants.L, max(11 * gamma, 1))
        XCTAssertEqual(try XCTUnwrap(p.constants.rho), 12 * gamma.squareRoot(), accuracy: 1e-12)
        // L bounds the Hessian on the stated region |x₁| ≤ 2√γ.
        var edge = [Float](repeating: 0, count: 5); edge[0] = Float(2 * gamma.squareRoot())
        XCTAssertLessThanOrEqual(eigenvalues(p.denseHessian(edge), n: 5).map(abs).max()!, p.constants.L! * (1 + 1e-6))
    }

    func testRandomStartAndNoisyOracle() throws {
        let p = try ProblemSpec.make("saddle:d=5,gamma=0.7,start=random,scale=0.5,noise=0.3")
        let a = p.start(seed: 1), b = p.start(seed: 1), c = p.start(seed: 2)
        XCTAssertEqual(a, b); XCTAssertNotEqual(a, c)
        XCTAssertGreaterThan(norm(a), 0)
        XCTAssertEqual(try XCTUnwrap(p.constants.sigma), 0.3 * 5.0.squareRoot(), accuracy: 1e-12)
        let x = testVector(5, seed: 8)
        assertUnbiased(p, at: x, steps: 2000)
        // Per-coordinate noise level.
        let full = p.fullGradient(x).g
        var ss = 0.0
        for s in 0..<400 {
            let g = p.stochasticGradient(x, BatchKey(seed: 3, step: UInt64(s))).g
            for i in 0..<5 { ss += (Double(g[i]) - Double(full[i])) * (Double(g[i]) - Double(full[i])) }
        }
        XCTAssertEqual((ss / 2000).squareRoot(), 0.3, accuracy: 0.03)
        try assertDeterministic("saddle:d=5,gamma=0.7,noise=0.3", at: x)
    }
}
