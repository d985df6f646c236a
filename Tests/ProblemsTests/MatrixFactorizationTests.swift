import XCTest
import CSGDCore
import Optimization
import Problems

final class MatrixFactorizationTests: XCTestCase {
    let spec = "matrix-factorization:n=6,r=2"

    func reference(_ p: MatrixFactorization) -> ([Double]) -> Double {
        let n = p.options.n, r = p.options.r, m = p.target.map(Double.init)
        return { u in
            var s = 0.0
            for i in 0..<n { for j in 0..<n {
                var t = -m[i * n + j]
                for a in 0..<r { t += u[i * r + a] * u[j * r + a] }
                s += t * t
            } }
            return s / 4
        }
    }

    func testPlantedTarget() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? MatrixFactorization)
        XCTAssertEqual(p.dimension, 12)
        // M = U*U*ᵀ, symmetric, and its spectral norm is λ_max(M) by LAPACK.
        let ev = eigenvalues(p.target.map(Double.init), n: 6)
        XCTAssertEqual(ev.last!, p.targetSpectralNorm, accuracy: 1e-5 * p.targetSpectralNorm)
        XCTAssertEqual(ev.filter { abs($0) > 1e-5 }.count, 2, "rank r")
        XCTAssertEqual(p.constants.L!, 13 * p.targetSpectralNorm, accuracy: 1e-9)
        let other = try XCTUnwrap(try ProblemSpec.make(spec + ",seed=2") as? MatrixFactorization)
        XCTAssertNotEqual(p.planted, other.planted)
    }

    func testGradientAndHessian() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? MatrixFactorization)
        assertDerivativesAtTestPoints(p, sigma: 0.5, directionSeed: 50, h: 1e-2, reference: reference(p))
    }

    func testMinimisersAndSaddle() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? MatrixFactorization)
        let u = p.planted
        let ev = try assertMinimiser(p, at: u, value: 0, gradientTolerance: 1e-5, lossAccuracy: 1e-10, relativeErrorAccuracy: 1e-5)
        XCTAssertGreaterThan(ev[0], -1e-5, "PSD at the minimiser")
        XCTAssertEqual(ev.filter { abs($0) < 1e-5 }.count, 1, "r(r−1)/2 = 1 rotation direction")
        // U*·O (a rotation) is a minimiser too.
        let c = Float(cos(0.3)), s = Float(sin(0.3))
        var rotated = u
        for i in 0..<6 {
            rotated[i * 2] = c * u[i * 2] - s * u[i * 2 + 1]
            rotated[i * 2 + 1] = s * u[i * 2] + c * u[i * 2 + 1]
        }
        XCTAssertEqual(try XCTUnwrap(p.relError(rotated)), 0, accuracy: 1e-5)
        XCTAssertLessThan(norm(p.fullGradient(rotated).g), 1e-5)
        // The origin: zero gradient, λ_min = −‖M‖_op, relative error 1.
        let zero = [Float](repeating: 0, count: 12)
        XCTAssertEqual(norm(p.fullGradient(zero).g), 0)
        XCTAssertEqual(eigenvalues(p.denseHessian(zero), n: 12)[0], -p.targetSpectralNorm, accuracy: 1e-5)
        XCTAssertEqual(try XCTUnwrap(p.relError(zero)), 1, accuracy: 1e-6)
        // Starts.
        let z = try ProblemSpec.make(spec + ",start=zero").start(seed: 3)
        XCTAssertEqual(z, zero)
        let r = p.start(seed: 3)
        XCTAssertEqual(norm(r), 0.01 * (2.0).squareRoot(), accuracy: 0.01)
    }

    func testOracle() throws {
        try assertExactGradientOracle(spec, at: testVector(12, seed: 4, sigma: 0.5))
    }
}
