import XCTest
@testable import CSGDCore
import Compression
@testable import Optimization
@testable import Distributed

/// `alg1:…,noise=deferred`: with every coordinate sent every step it is the
/// eager noise up to rounding; with RandomK sending a quarter, the noise
/// reaching the iterate has the law of eager noise (the mean of ‖x_T‖² over
/// many seeds, against eager and against the closed form).
final class DeferredNoiseTests: XCTestCase {
    /// ∇F = 0 everywhere; f(x) = Σ x²: the iterate moves by noise alone and
    /// the final loss is ‖x_T‖².
    final class ZeroGradient: Objective, @unchecked Sendable {
        let dimension: Int
        var name: String { "zero-gradient:d=\(dimension)" }
        var constants: ObjectiveConstants { ObjectiveConstants() }
        init(dimension: Int) { self.dimension = dimension }
        func loss(at x: UnsafeBufferPointer<Float>) -> Double { x.reduce(0) { $0 + Double($1) * Double($1) } }
        func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into out: UnsafeMutableBufferPointer<Float>) -> Double {
            Kernels.zero(out)
            return loss(at: x)
        }
        func fullGradient(at x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) -> Double {
            gradient(at: x, batch: BatchKey(seed: 0, step: 0), into: out)
        }
        func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
            Kernels.zero(out)
        }
        func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) { Kernels.zero(x) }
    }

    func finalLoss(_ method: String, compressor: String, d: Int, steps: Int, seed: UInt64, workers: Int = 1) throws -> Double {
        let config = TrainerConfiguration(steps: steps, seed: seed, learningRate: 0.5, logEvery: 0)
        return try InProcessRun.run(objective: ZeroGradient(dimension: d), method: try Methods.parse(method),
                                    compressor: try CompressorSpec.parse(compressor), workers: workers, config: config).finalLoss
    }

    func testEveryCoordinateSentIsEagerNoiseUpToRounding() throws {
        for seed: UInt64 in [1, 2, 3] {
            let eager = try finalLoss("alg1:sigma=0.1", compressor: "randomk:1.0", d: 50, steps: 30, seed: seed)
            let deferred = try finalLoss("alg1:sigma=0.1,noise=deferred", compressor: "randomk:1.0", d: 50, steps: 30, seed: seed)
            XCTAssertGreaterThan(eager, 0)
            XCTAssertEqual(deferred, eager, accuracy: 1e-5 * eager, "seed \(seed)")
        }
    }

    /// d = 8, K = 2, T = 20, η = 0.5, σ = 0.1: coordinate j's noise of step t
    /// reaches x once j is sent at a step ≥ t, so E‖x_T‖² = η²σ²·d·Σ_t
    /// (1 − (3/4)^(T−t)) = η²σ²·8·(T − 3(1 − (3/4)^T)) = 0.340190…; 1,500
    /// seeds each: the standard error of a mean is about 1.3%, the tolerance
    /// 6% (about 4.5 standard errors).
    func testPartialSendingHasTheLawOfEagerNoise() throws {
        let t = 20.0, eta = 0.5, sigma = 0.1
        let expected = eta * eta * sigma * sigma * 8 * (t - 3 * (1 - pow(0.75, t)))
        for (method, workers) in [("alg1:sigma=0.1", 1), ("alg1:sigma=0.1,noise=deferred", 1), ("alg1:sigma=0.1,noise=deferred", 2)] {
            var sum = 0.0
            let n = 1500
            for seed in 0..<n { sum += try finalLoss(method, compressor: "randomk:0.25", d: 8, steps: 20, seed: UInt64(seed), workers: workers) }
            XCTAssertEqual(sum / Double(n), expected, accuracy: 0.06 * expected, "\(method) W=\(workers)")
        }
    }

    func testStepsAndDrawsAreDeterministic() throws {
        let a = try finalLoss("alg1:sigma=0.1,noise=deferred", compressor: "randomk:0.25", d: 64, steps: 40, seed: 9, workers: 3)
        let b = try finalLoss("alg1:sigma=0.1,noise=deferred", compressor: "randomk:0.25", d: 64, steps: 40, seed: 9, workers: 3)
        XCTAssertEqual(a.bitPattern, b.bitPattern)
    }

    func testBadCombinationsAreRefused() {
        XCTAssertThrowsError(try Methods.parse("alg1:sigma=0.1,noise=deferred,reset=on,I=5,R=1")) { e in
            XCTAssertTrue("\(e)".contains("noise=deferred needs reset=off"), "\(e)")
        }
        XCTAssertThrowsError(try Methods.parse("alg1:noise=deferred")) { e in XCTAssertTrue("\(e)".contains("needs noise"), "\(e)") }
        XCTAssertThrowsError(try Methods.parse("alg1:sigma=0.1,noise=later")) { e in XCTAssertTrue("\(e)".contains("noise = 'later' is not one of: eager, deferred"), "\(e)") }
        XCTAssertThrowsError(try finalLoss("alg1:sigma=0.1,noise=deferred", compressor: "topk:2", d: 8, steps: 2, seed: 0)) { e in
            XCTAssertTrue("\(e)".contains("needs compressor randomk"), "\(e)")
        }
    }
}
