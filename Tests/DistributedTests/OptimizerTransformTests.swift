import Communication
import Compression
import CSGDCore
import Distributed
import Foundation
import Optimization
import XCTest

/// f(x) = ½ Σ aᵢ xᵢ², whose gradient a ⊙ x is exact for every batch: the
/// optimizer transforms' iterates have closed forms to compare with.
final class DiagonalQuadratic: Objective, @unchecked Sendable {
    let a: [Float]
    let start: [Float]
    init(a: [Float], start: [Float]) { self.a = a; self.start = start }
    var dimension: Int { a.count }
    var name: String { "diagonal-quadratic" }
    var constants: ObjectiveConstants { ObjectiveConstants(L: Double(a.max()!)) }
    func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        (0..<a.count).reduce(0) { $0 + 0.5 * Double(a[$1]) * Double(x[$1]) * Double(x[$1]) }
    }
    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        fullGradient(at: x, into: g)
    }
    func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        for i in 0..<a.count { g[i] = a[i] * x[i] }
        return loss(at: x)
    }
    func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<a.count { out[i] = a[i] * v[i] }
    }
    func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<a.count { x[i] = start[i] }
    }
}

final class OptimizerTransformTests: XCTestCase {
    let quadratic = DiagonalQuadratic(a: [1, 0.5, 2, 0.1], start: [1, -2, 0.5, 3])

    /// Runs T steps of plain SGD (exact gradients, no compression) with
    /// `options` on W in-process ranks; returns x_T.
    func run(_ options: OptimizerOptions, steps: Int, eta: Double, workers: Int = 1, compressor: String = "none",
             method: String = "sgd") throws -> [Float] {
        var config = TrainerConfiguration(steps: steps, seed: 1, learningRate: eta, logEvery: 0)
        config.optimizer = options
        return try InProcessRun.runKeepingParameters(objective: quadratic, method: try Methods.parse(method),
                                                     compressor: try CompressorSpec.parse(compressor), workers: workers,
                                                     config: config).parameters
    }

    /// The closed forms, coordinate by coordinate in Double: x_{t+1} = x_t − η_t·d_t with
    /// g = a·x + λx, m ← βm + g, d = m (heavy ball) or g + βm (Nesterov).
    func reference(steps: Int, eta: (Int) -> Double, beta: Double = 0, nesterov: Bool = false, lambda: Double = 0) -> [Double] {
        var x = quadratic.start.map(Double.init), m = [Double](repeating: 0, count: x.count)
        for t in 0..<steps {
            for i in 0..<x.count {
                let g = Double(quadratic.a[i]) * x[i] + lambda * x[i]
                m[i] = beta * m[i] + g
                x[i] -= eta(t) * (nesterov ? g + beta * m[i] : (beta > 0 ? m[i] : g))
            }
        }
        return x
    }

    func assertClose(_ x: [Float], _ y: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(x.count, y.count, file: file, line: line)
        for i in 0..<x.count {
            XCTAssertEqual(Double(x[i]), y[i], accuracy: 1e-5 * max(1, abs(y[i])), "\(what), coordinate \(i)", file: file, line: line)
        }
    }

    func testHeavyBallNesterovAndWeightDecayMatchTheirRecurrences() throws {
        let T = 60, eta = 0.05
        assertClose(try run(OptimizerOptions(momentum: 0.9), steps: T, eta: eta), reference(steps: T, eta: { _ in eta }, beta: 0.9), "heavy ball")
        assertClose(try run(OptimizerOptions(momentum: 0.8, nesterov: true), steps: T, eta: eta),
                    reference(steps: T, eta: { _ in eta }, beta: 0.8, nesterov: true), "Nesterov")
        assertClose(try run(OptimizerOptions(weightDecay: 0.3), steps: T, eta: eta), reference(steps: T, eta: { _ in eta }, lambda: 0.3), "weight decay")
        assertClose(try run(OptimizerOptions(momentum: 0.5, weightDecay: 0.1), steps: T, eta: eta),
                    reference(steps: T, eta: { _ in eta }, beta: 0.5, lambda: 0.1), "both")
        // Momentum on a quadratic: heavy ball's fixed point is still 0, and it gets there faster than plain GD here.
        let plain = try run(OptimizerOptions(), steps: T, eta: eta), heavy = try run(OptimizerOptions(momentum: 0.9), steps: T, eta: eta)
        XCTAssertLessThan(abs(heavy[3]), abs(plain[3]))
    }

    func testSchedulesScaleTheStepSize() throws {
        let T = 40, eta = 0.1
        let step = try Schedule.parse("step:every=10,gamma=0.5", steps: T)
        XCTAssertEqual((0..<T).map { step.factor(step: $0) }, (0..<T).map { pow(0.5, Double($0 / 10)) })
        assertClose(try run(OptimizerOptions(schedule: step), steps: T, eta: eta), reference(steps: T, eta: { eta * pow(0.5, Double($0 / 10)) }), "step")
        let cosine = try Schedule.parse("cosine:warmup=5", steps: T)
        XCTAssertEqual(cosine.factor(step: 0), 0.2, accuracy: 1e-12)
        XCTAssertEqual(cosine.factor(step: 4), 1, accuracy: 1e-12)
        XCTAssertEqual(cosine.factor(step: 5), 1, accuracy: 1e-12)
        XCTAssertEqual(cosine.factor(step: 5 + 35 / 2), 0.5 * (1 + cos(Double.pi * 17 / 35)), accuracy: 1e-12)
        assertClose(try run(OptimizerOptions(momentum: 0.9, schedule: cosine), steps: T, eta: eta),
                    reference(steps: T, eta: { eta * cosine.factor(step: $0) }, beta: 0.9), "cosine with warm-up and momentum")
        for bad in ["step", "step:every=0", "step:every=5,gamma=2", "cosine:warmup=-1", "linear", "cosine:foo=1"] {
            XCTAssertThrowsError(try Schedule.parse(bad, steps: T), bad)
        }
    }

    /// With W ranks and a compressor, momentum sits after averaging: the
    /// same x_T on every W for a linear compressor of exact gradients, and
    /// the momentum buffer is part of a checkpoint (a resumed run ends where
    /// an uninterrupted one does, tested through the CLI elsewhere).
    func testMomentumComposesWithWorkersAndCompressors() throws {
        let options = OptimizerOptions(momentum: 0.9, nesterov: true, weightDecay: 0.01)
        let one = try run(options, steps: 30, eta: 0.05)
        XCTAssertEqual(try run(options, steps: 30, eta: 0.05, workers: 4), one)
        // TopK keeps the largest coordinates: a sparse update that momentum makes dense; it still converges.
        let topk = try run(options, steps: 400, eta: 0.05, workers: 2, compressor: "topk:2", method: "ef-sgd")
        XCTAssertLessThan(Kernels.sumSquares(topk.withUnsafeBufferPointer { $0 }), 1e-3)
        XCTAssertThrowsError(try run(OptimizerOptions(momentum: 0.9), steps: 3, eta: 0.05, method: "pagd"))
        XCTAssertThrowsError(try OptimizerOptions(momentum: 1).validate())
        XCTAssertThrowsError(try OptimizerOptions(nesterov: true).validate())
        XCTAssertThrowsError(try OptimizerOptions(weightDecay: -1).validate())
    }
    /// Momentum on each worker before compression: with the identity
    /// compressor and exact gradients the average of the workers' v_i is the
    /// averaged momentum, so x_T is heavy ball's closed form on every W; with
    /// error feedback and TopK it is another method, which still converges.
    func testWorkerMomentumIsHeavyBallWithoutCompression() throws {
        let T = 60, eta = 0.05
        let worker = OptimizerOptions(momentum: 0.9, momentumAt: .worker)
        for w in [1, 3] {
            assertClose(try run(worker, steps: T, eta: eta, workers: w), reference(steps: T, eta: { _ in eta }, beta: 0.9), "worker momentum, W = \(w)")
        }
        let topk = try run(worker, steps: 400, eta: 0.05, workers: 2, compressor: "topk:2", method: "ef-sgd")
        XCTAssertLessThan(Kernels.sumSquares(topk.withUnsafeBufferPointer { $0 }), 1e-3)
        XCTAssertNotEqual(topk, try run(OptimizerOptions(momentum: 0.9), steps: 400, eta: 0.05, workers: 2, compressor: "topk:2", method: "ef-sgd"))
        XCTAssertThrowsError(try OptimizerOptions(momentum: 0.9, nesterov: true, momentumAt: .worker).validate())
        XCTAssertEqual(worker.description, "worker-momentum=0.9")
    }
}
