import CSGDCore
import Optimization
import Problems
import XCTest

/// The strict saddle's `noise-e1=σ₁`: stochastic gradients ∇f(x) + σ₁ζe₁
/// (the correlated negative curvature setting of Daneshmand et al. 2018):
/// unbiased, variance σ₁² on the first coordinate only whatever d,
/// independent of the isotropic `noise=`, and the spec's canonical name.
final class StrictSaddleNoiseE1Tests: XCTestCase {
    func testNoiseOnlyAlongE1WithVarianceIndependentOfD() throws {
        for d in [3, 200] {
            let p = try ProblemSpec.make("saddle:d=\(d),noise-e1=0.5")
            let zero = [Float](repeating: 0, count: d)
            var sum = 0.0, ss = 0.0
            let n = 4000
            for s in 0..<n {
                let g = p.stochasticGradient(zero, BatchKey(seed: 7, step: UInt64(s))).g
                XCTAssertEqual(Array(g.dropFirst()), [Float](repeating: 0, count: d - 1), "only the first coordinate is noisy")
                sum += Double(g[0]); ss += Double(g[0]) * Double(g[0])
            }
            // Mean 0 (standard error 0.5/√4000 ≈ 0.008) and standard deviation 0.5 (±0.006).
            XCTAssertEqual(sum / Double(n), 0, accuracy: 0.03, "d=\(d)")
            XCTAssertEqual((ss / Double(n)).squareRoot(), 0.5, accuracy: 0.025, "d=\(d)")
            XCTAssertEqual(try XCTUnwrap(p.constants.sigma), 0.5, accuracy: 1e-12)
        }
        // The same draws in every dimension (the e₁ noise does not depend on d).
        let a = try ProblemSpec.make("saddle:d=3,noise-e1=0.5").stochasticGradient([0, 0, 0], BatchKey(seed: 1, step: 9)).g[0]
        let b = try ProblemSpec.make("saddle:d=50,noise-e1=0.5").stochasticGradient([Float](repeating: 0, count: 50), BatchKey(seed: 1, step: 9)).g[0]
        XCTAssertEqual(a.bitPattern, b.bitPattern)
        XCTAssertNotEqual(a, 0)
    }

    func testWithIsotropicNoiseAndAwayFromTheSaddle() throws {
        let p = try ProblemSpec.make("saddle:d=4,noise=0.1,noise-e1=0.3")
        let iso = try ProblemSpec.make("saddle:d=4,noise=0.1")
        XCTAssertEqual(try XCTUnwrap(p.constants.sigma), (4 * 0.01 + 0.09).squareRoot(), accuracy: 1e-12)
        let x: [Float] = [0.5, -0.2, 0.1, 0.3]
        let full = p.fullGradient(x).g
        var extra = 0.0
        for s in 0..<2000 {
            let key = BatchKey(seed: 2, step: UInt64(s))
            let g = p.stochasticGradient(x, key).g, h = iso.stochasticGradient(x, key).g
            // The isotropic draws are unchanged; e₁ gets σ₁ζ on top.
            XCTAssertEqual(Array(g.dropFirst()).map(\.bitPattern), Array(h.dropFirst()).map(\.bitPattern))
            extra += (Double(g[0]) - Double(h[0])) * (Double(g[0]) - Double(h[0]))
        }
        XCTAssertEqual((extra / 2000).squareRoot(), 0.3, accuracy: 0.02)
        XCTAssertEqual(p.loss(x), iso.loss(x))
        XCTAssertEqual(full, iso.fullGradient(x).g, "the full gradient is exact")
        try assertDeterministic("saddle:d=4,noise=0.1,noise-e1=0.3", at: x)
    }

    func testSpecSpelling() throws {
        XCTAssertEqual(try ProblemSpec.parse("saddle:d=3,noise-e1=0.25").description,
                       "saddle:d=3,gamma=1,start=saddle,scale=1,noise=0,noise-e1=0.25,seed=1")
        XCTAssertEqual(try ProblemSpec.parse("saddle:d=3").description, "saddle:d=3,gamma=1,start=saddle,scale=1,noise=0,seed=1",
                       "without noise-e1 the name is the one it always was")
        let round = try ProblemSpec.parse("saddle:d=3,noise-e1=0.25")
        XCTAssertEqual(try ProblemSpec.parse(round.description), round)
        XCTAssertThrowsError(try ProblemSpec.parse("saddle:noise-e1=-1")) { e in
            XCTAssertEqual((e as? CSGDError)?.message, "problem 'saddle': noise-e1 = -1 must be non-negative")
        }
    }
}
