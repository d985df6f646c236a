import XCTest
import CSGDCore
import Optimization
import Problems

final class TensorDecompositionTests: XCTestCase {
    let spec = "tensor-decomposition:d=6,k=4"

    func reference(_ p: TensorDecomposition) -> ([Double]) -> Double {
        let d = p.dimension, k = p.componentCount, a = p.components.map(Double.init)
        return { u in
            let q = u.reduce(0) { $0 + $1 * $1 }
            var t = 0.0
            for i in 0..<k {
                var c = 0.0
                for s in 0..<d { c += a[i * d + s] * u[s] }
                t += c * c * c * c
            }
            return q * q * q / 6 - t / 4
        }
    }

    func component(_ p: TensorDecomposition, _ i: Int) -> [Float] { Array(p.components[(i * 6) ..< (i * 6 + 6)]) }

    func testComponentsAreOrthonormal() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? TensorDecomposition)
        for i in 0..<4 { for j in 0..<4 {
            let dot = zip(component(p, i), component(p, j)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-6)
        } }
        XCTAssertEqual(try XCTUnwrap(try ProblemSpec.make("tensor-decomposition:d=7") as? TensorDecomposition).componentCount, 7)
    }

    func testGradientAndHessian() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? TensorDecomposition)
        assertDerivativesAtTestPoints(p, sigma: 0.5, directionSeed: 30, h: 2e-3, reference: reference(p))
    }

    func testMinimisersAndSaddles() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? TensorDecomposition)
        for i in 0..<4 {
            for sign: Float in [1, -1] {
                let a = component(p, i).map { sign * $0 }
                let ev = try assertMinimiser(p, at: a, value: -1.0 / 12, gradientTolerance: 1e-5, lossAccuracy: 1e-6, relativeErrorAccuracy: 1e-3)
                XCTAssertEqual(ev[0], 1, accuracy: 1e-5)
                XCTAssertEqual(ev[5], 2, accuracy: 1e-5)
            }
        }
        XCTAssertEqual(p.optimalValue, -1.0 / 12)
        for s in 2...4 {
            let u = p.saddlePoint(size: s)
            XCTAssertLessThan(norm(p.fullGradient(u).g), 1e-6)
            XCTAssertEqual(p.loss(u), -1 / (12 * pow(Double(s), 3)), accuracy: 1e-7)
            XCTAssertEqual(eigenvalues(p.denseHessian(u), n: 6)[0], -2 / Double(s * s), accuracy: 1e-5)
        }
        let start = try ProblemSpec.make(spec + ",start=saddle,s=3").start(seed: 1)
        XCTAssertEqual(start, p.saddlePoint(size: 3))
        let zero = [Float](repeating: 0, count: 6)
        XCTAssertEqual(try ProblemSpec.make(spec + ",start=zero").start(seed: 1), zero)
        XCTAssertEqual(norm(p.denseHessian(zero)), 0, "the origin is a degenerate critical point")
        // The constants bound the Hessian on ‖u‖² ≤ 3/2.
        for seed: UInt64 in 1...5 {
            var u = testVector(6, seed: seed)
            let scale = Float((1.5 / norm(u) / norm(u)).squareRoot())
            u = u.map { $0 * scale }
            XCTAssertLessThanOrEqual(eigenvalues(p.denseHessian(u), n: 6).map(abs).max()!, p.constants.L!)
        }
    }

    func testOracle() throws {
        try assertExactGradientOracle(spec, at: testVector(6, seed: 4, sigma: 0.5))
    }
}
