import XCTest
import CSGDCore
import Optimization
import Problems

final class PlantedReLUTests: XCTestCase {
    let spec = "relu:d=6,n=240"

    /// f(w) = (1/(2n))·Σⱼ (ReLU(⟨xⱼ,w⟩) − yⱼ)².
    func reference(_ p: PlantedReLU) -> ([Double]) -> Double {
        meanSquaredResidual(rows: p.features, labels: p.labels, divisor: 2) { z, y in max(0, z) - y }
    }

    /// True when no sample's pre-activation ⟨xⱼ,w⟩ changes sign within w ± h·v
    /// (then the loss is quadratic there and finite differences are exact up to rounding).
    func noKinkWithin(_ p: PlantedReLU, _ w: [Float], _ v: [Double]) -> Bool {
        let d = p.dimension
        for j in 0..<p.sampleCount {
            var z = 0.0, dz = 0.0
            for t in 0..<d { z += Double(p.features[j * d + t]) * Double(w[t]); dz += abs(Double(p.features[j * d + t]) * v[t]) }
            if abs(z) <= 2 * dz { return false }
        }
        return true
    }

    /// A point near w* with residuals on both sides.
    func probe(_ p: PlantedReLU, seed: UInt64) -> [Float] {
        zip(p.planted, testVector(p.dimension, seed: seed, sigma: 60)).map { $0 + $1 }
    }

    func testPlantedModel() throws {
        let p = try XCTUnwrap(try ProblemSpec.make("relu:d=4000,n=8") as? PlantedReLU)
        let w = p.planted.map(Double.init)
        let mean = w.reduce(0, +) / Double(w.count)
        let variance = w.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(w.count - 1)
        XCTAssertEqual(mean, 200, accuracy: 0.15)
        XCTAssertEqual(variance, 3, accuracy: 0.4, "N(200, 3): 3 is the variance")
        let q = try XCTUnwrap(try ProblemSpec.make(spec) as? PlantedReLU)
        for j in 0..<q.sampleCount {
            let z = rowDot(q.features, j, q.planted)
            XCTAssertEqual(Double(q.labels[j]), max(0, z), accuracy: 1e-4 * max(1, abs(z)))
        }
        let x = q.features.map(Double.init)
        let xm = x.reduce(0, +) / Double(x.count), xv = x.reduce(0) { $0 + ($1 - xm) * ($1 - xm) } / Double(x.count)
        XCTAssertEqual(xm, 0, accuracy: 0.1); XCTAssertEqual(xv, 1, accuracy: 0.1)
    }

    func testGradientAndHessian() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? PlantedReLU)
        var checked = 0
        for seed: UInt64 in 1...12 where checked < 3 {
            let w = probe(p, seed: seed), v = testVector(6, seed: seed + 40)
            let h: Float = 0.05, fdSteps = w.map { 1e-6 * max(1, abs(Double($0))) }
            // Finite differences are only valid away from the kinks.
            guard noKinkWithin(p, w, v.map { Double(h) * Double($0) }), noKinkWithin(p, w, fdSteps) else { continue }
            assertGradientMatchesFiniteDifferences(p, at: w, reference: reference(p), h: 1e-6)
            assertHessianConsistent(p, at: w, direction: v, h: h)
            checked += 1
        }
        XCTAssertEqual(checked, 3, "enough kink-free probes")
    }

    func testMinimiser() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? PlantedReLU)
        let w = p.planted
        let ev = try assertMinimiser(p, at: w, value: 0, gradientTolerance: 1e-3, lossAccuracy: 1e-6, relativeErrorAccuracy: 0)
        XCTAssertGreaterThan(ev[0], 0.1, "PSD (here definite) at w*")
        for s in 0..<10 {
            let g = p.stochasticGradient(w, BatchKey(seed: 4, step: UInt64(s), size: 5)).g
            XCTAssertLessThan(norm(g), 1e-3, "every sample is fitted at w*")
        }
    }

    func testShardsAndOracle() throws {
        let p = try XCTUnwrap(try ProblemSpec.make(spec) as? PlantedReLU)
        let w = probe(p, seed: 7)
        let d = 6
        assertBatchesStayInShards(samples: 240, steps: 50, size: 5, seed: 8, coverage: 70, indices: p.sampleIndices) { key, batch in
            var expect = [Double](repeating: 0, count: d)
            for j in batch {
                let z = rowDot(p.features, j, w)
                if z > 0 { for t in 0..<d { expect[t] += (z - Double(p.labels[j])) * Double(p.features[j * d + t]) / 5 } }
            }
            XCTAssertLessThanOrEqual(difference(p.stochasticGradient(w, key).g, expect), 1e-5 * max(1, norm(expect)))
        }
        assertUnbiased(p, at: w, steps: 1500, workers: 3, size: 4)
        try assertDeterministic(spec, at: w, size: 4)
        try assertDeterministic(spec + ",noise=2", at: w, size: 1)
    }

    func testStepSizesOfSeed003() throws {
        let p = try ProblemSpec.make("relu:d=1000,n=10")
        XCTAssertEqual(p.suggestedStepSize(batch: 800), 0.8)
        XCTAssertEqual(p.suggestedStepSize(batch: 0), 0.001)
        XCTAssertEqual(PlantedReLU.qsgdStepSize(batch: 800, bits: 7, dimension: 1000), 800.0 * 7 / 9000, accuracy: 1e-15)
        XCTAssertEqual(PlantedReLU.theoryStepSize(batch: 16, dimension: 100), 3 / (4 * (56.25 + 1.5625)), accuracy: 1e-15)
        XCTAssertEqual(PlantedReLU.theoryContraction(batch: 16, dimension: 100), 1 - 9 / (16 * (56.25 + 1.5625)), accuracy: 1e-15)
        // m = n: Remark 3.6's full-gradient rate; with QSGD levels → ∞ the QSGD rate's extra factor → 1.
        XCTAssertEqual(PlantedReLU.qsgdTheoryContraction(batch: 16, levels: 1 << 30, dimension: 100),
                       1 - 9 / (16 * ((56.25 + 1.5625) + 1.5625)), accuracy: 1e-6)
    }

    func testStartsAndConvergence() throws {
        let random = try XCTUnwrap(try ProblemSpec.make("relu:d=20,n=2000") as? PlantedReLU)
        let w0 = random.start(seed: 3)
        XCTAssertEqual(try XCTUnwrap(random.relError(w0)), 1, accuracy: 0.05, "a N(0, I) start is far from w*")
        XCTAssertNotEqual(w0, random.start(seed: 4))
        let gradient = try XCTUnwrap(try ProblemSpec.make("relu:d=20,n=2000,init=gradient") as? PlantedReLU)
        let g0 = gradient.start(seed: 3)
        XCTAssertEqual(g0, gradient.start(seed: 99), "one gradient step from 0 does not depend on the seed")
        // w₀ = (2/n)Σ yⱼxⱼ, computed here in Double.
        var expect = [Double](repeating: 0, count: 20)
        for j in 0..<2000 { for t in 0..<20 { expect[t] += 2 / 2000 * Double(gradient.labels[j]) * Double(gradient.features[j * 20 + t]) } }
        XCTAssertLessThanOrEqual(difference(g0, expect), 1e-4 * norm(expect))
        let e0 = try XCTUnwrap(gradient.relError(g0))
        XCTAssertLessThan(e0, 0.35, "√(2d/n) ≈ 0.14")
        // SGD with Kalan et al.'s η = m/d reaches their success criterion (relative error < 1e−3).
        let p = try XCTUnwrap(try ProblemSpec.make("relu:d=20,n=400,init=gradient") as? PlantedReLU)
        var w = p.start(seed: 1)
        let m = 4, eta = Float(try XCTUnwrap(p.suggestedStepSize(batch: m)))
        for t in 0..<1500 {
            let g = p.stochasticGradient(w, BatchKey(seed: 11, step: UInt64(t), size: m)).g
            for i in 0..<20 { w[i] -= eta * g[i] }
        }
        XCTAssertLessThan(try XCTUnwrap(p.relError(w)), 1e-3)
    }
}
