import Communication
import Compression
import CSGDCore
import Foundation
@testable import Optimization
import XCTest

/// f(x) = Σ_i ½a_i x_i² + ¼b_i x_i⁴ on ℝᵈ, exact gradient and Hessian:
/// a quadratic (b = 0), a concave direction (a_i < 0, b_i = 0), or the strict
/// saddle −½x₁² + ¼x₁⁴ + ½Σx_i² (a = (−1, 1, …), b = (1, 0, …)).
final class DiagonalQuartic: Objective, @unchecked Sendable {
    let a: [Double], b: [Double]
    var dimension: Int { a.count }
    var name: String { "diagonal-quartic:d=\(a.count)" }
    var constants: ObjectiveConstants { ObjectiveConstants(L: 11, rho: 12) }

    init(a: [Double], b: [Double]? = nil) { self.a = a; self.b = b ?? a.map { _ in 0 } }

    func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        (0..<dimension).reduce(0.0) { s, i in
            let v = Double(x[i])
            return s + 0.5 * a[i] * v * v + 0.25 * b[i] * v * v * v * v
        }
    }

    func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        for i in 0..<dimension {
            let v = Double(x[i])
            g[i] = Float(a[i] * v + b[i] * v * v * v)
        }
        return loss(at: x)
    }

    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        fullGradient(at: x, into: g)
    }

    func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<dimension { out[i] = Float((a[i] + 3 * b[i] * Double(x[i]) * Double(x[i])) * Double(v[i])) }
    }

    func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) { Kernels.zero(x) }
}

/// Perturbed accelerated gradient descent (Jin, Netrapalli & Jordan 2017,
/// Algorithm 2): its parameters' closed forms, its options, the accelerated
/// step against a hand computation, both cases of negative-curvature
/// exploitation, and the escape from an exact saddle.
final class PAGDTests: XCTestCase {
    /// A chain run on one rank as the trainer runs it; returns the iterates x_0 … x_T.
    final class Run {
        let chain: TransformChain
        let x: FloatBuffer
        let grad: FloatBuffer
        let scratch: FloatBuffer
        let eta: Double
        var context: StepContext
        var trace: [[Float]]

        init(_ m: MethodChain, objective: any Objective, x0: [Float], seed: UInt64 = 1) {
            let d = objective.dimension
            chain = TransformChain(m.transforms, dimension: d, workers: 1)
            x = FloatBuffer(x0)
            grad = FloatBuffer(count: d)
            scratch = FloatBuffer(count: d)
            eta = m.eta
            let comm = InProcessCommunicator(fabric: InProcessFabric(size: 1), rank: 0)
            context = StepContext(objective: objective, communicator: comm, seed: seed, parameters: x.buffer, scratch: scratch.buffer)
            trace = [x0]
        }

        func steps(_ n: Int) throws {
            for _ in 0..<n {
                let t = trace.count - 1
                context.step = t
                let local = grad.buffer, eta = self.eta
                var g = StepState(local: local, stepSize: eta)
                XCTAssertEqual(try chain.step(&g, context: &context) { g in g = StepState(local: local, stepSize: eta) }, .proceed)
                trace.append(x.array)
            }
        }

        var accelerated: AcceleratedStep.State { (chain.links[4] as! TransformSlot<AcceleratedStep>).state }
        var perturbation: PerturbWhenFlat.State { (chain.links[3] as! TransformSlot<PerturbWhenFlat>).state }
    }

    func chain(_ p: PAGDParameters, d: Int) throws -> MethodChain {
        pagd(p, compressor: try CompressorSpec.none.make(dimension: d))
    }

    func testParametersFollowThePaper() throws {
        let (d, ell, rho, eps) = (10, 11.0, 12.0, 1e-3)
        let p = PAGDParameters.derive(d: d, ell: ell, rho: rho, eps: eps, c: 1, delta: 0.1, deltaF: 1)
        let kappa = ell / (rho * eps).squareRoot()
        let chi = log(Double(d) * ell / (rho * eps * 0.1))
        XCTAssertEqual(p.eta, 1 / 44)
        XCTAssertEqual(p.theta, 1 / (4 * kappa.squareRoot()), accuracy: 1e-15)
        XCTAssertEqual(p.gamma, p.theta * p.theta * 44, accuracy: 1e-15)
        // γ = θ²/η = ℓ/(4κ) = √(ρε)/4 and s = γ/(4ρ) = √(ε/ρ)/16.
        XCTAssertEqual(p.gamma, (rho * eps).squareRoot() / 4, accuracy: 1e-12)
        XCTAssertEqual(p.s, (eps / rho).squareRoot() / 16, accuracy: 1e-12)
        XCTAssertEqual(p.r, eps / 44 / pow(chi, 5), accuracy: 1e-20)
        XCTAssertEqual(p.tThres, Int((kappa.squareRoot() * chi).rounded(.up)))
        XCTAssertEqual(p.gThres, eps)
        // χ is at least 1; c enters r as c⁻⁸ and 𝒯 as c.
        let big = PAGDParameters.derive(d: 1, ell: 1, rho: 1, eps: 1, c: 2, delta: 1, deltaF: 1)
        XCTAssertEqual(big.r, 0.25 / 256, accuracy: 1e-15)
        XCTAssertEqual(big.tThres, 2)
        // A given η changes γ = θ²/η and so s; a given γ changes s only.
        let o = PAGDParameters.derive(d: d, ell: ell, rho: rho, eps: eps, c: 1, delta: 0.1, deltaF: 1, eta: 0.01, theta: 0.5)
        XCTAssertEqual(o.gamma, 25)
        XCTAssertEqual(o.s, 25 / 48)
        let g = PAGDParameters.derive(d: d, ell: ell, rho: rho, eps: eps, c: 1, delta: 0.1, deltaF: 1, gamma: 2, s: nil, r: 0.5, tThres: 7)
        XCTAssertEqual(g.s, 2 / 48)
        XCTAssertEqual(g.r, 0.5)
        XCTAssertEqual(g.tThres, 7)
        XCTAssertEqual(g.theta, p.theta)
    }

    func testOptionsAndErrors() throws {
        let m = try XCTUnwrap(try Methods.parse("pagd:eps=0.01,rho=2,theta=0.1,s=0.3,tthres=20,gthres=0.05") as? PAGD)
        XCTAssertEqual(m.inputs.eps, 0.01); XCTAssertEqual(m.inputs.rho, 2); XCTAssertEqual(m.theta, 0.1); XCTAssertEqual(m.s, 0.3)
        XCTAssertEqual(m.tThres, 20); XCTAssertEqual(m.gThres, 0.05)
        XCTAssertEqual(m.batch, 0, "the full gradient")
        XCTAssertEqual(m.prescribedCompressor, CompressorSpec.none)
        func error(_ text: String) -> String? {
            do { _ = try Methods.parse(text); return nil } catch { return (error as? CSGDError)?.message }
        }
        XCTAssertEqual(error("pagd:theta=2"), "method 'pagd': theta = 2 must be at most 1 (the momentum is 1 − θ)")
        XCTAssertEqual(error("pagd:s=0"), "method 'pagd': s = 0 must be positive")
        XCTAssertEqual(error("pagd:tthres=1.5"), "method 'pagd': tthres = '1.5' is not an integer")
        XCTAssertEqual(error("pagd:batch=4"),
                       "method 'pagd': option 'batch' is not known (allowed: ell, rho, eps, c, delta, deltaf, eta, theta, gamma, s, r, gthres, tthres)")
        // ℓ and ρ from the problem, ε from the run; η from the run's --lr when given.
        let c = try CompressorSpec.none.make(dimension: 2)
        let objective = DiagonalQuartic(a: [-1, 1], b: [1, 0])
        let chain = try Methods.parse("pagd").chain(compressor: c, objective: objective, context: MethodContext(epsilon: 1e-3))
        XCTAssertEqual(chain.eta, 1 / 44)
        XCTAssertEqual(chain.transforms.map { String(describing: type(of: $0)) },
                       ["StochasticGradient", "CompressMessage", "AverageMessages", "PerturbWhenFlat", "AcceleratedStep"])
        let step = try XCTUnwrap(chain.transforms[4] as? AcceleratedStep)
        let want = PAGDParameters.derive(d: 2, ell: 11, rho: 12, eps: 1e-3, c: 1, delta: 0.1, deltaF: 1)
        XCTAssertEqual(step.theta, want.theta); XCTAssertEqual(step.gamma, want.gamma); XCTAssertEqual(step.s, want.s)
        let lr = try Methods.parse("pagd").chain(compressor: c, objective: objective, context: MethodContext(learningRate: 0.01, epsilon: 1e-3))
        XCTAssertEqual(lr.eta, 0.01)
        XCTAssertEqual((lr.transforms[4] as? AcceleratedStep)?.gamma, want.theta * want.theta / 0.01)
        let noEps = try? Methods.parse("pagd").chain(compressor: c, objective: objective, context: MethodContext())
        XCTAssertNil(noEps, "ε is needed")
    }

    /// On a convex quadratic the exploitation test never holds, so every step
    /// is Nesterov's: y_t = x_t + (1 − θ)v_t, x_{t+1} = y_t − η∇f(y_t), v_{t+1} = x_{t+1} − x_t.
    func testAcceleratedStepIsTheMomentumUpdateOnAQuadratic() throws {
        let lambda = [1.0, 4.0, 0.25]
        let objective = DiagonalQuartic(a: lambda)
        let p = PAGDParameters(eta: 0.1, theta: 0.2, gamma: 0.05, s: 0.01, r: 0.1, gThres: 1e-9, tThres: 5)
        let run = Run(try chain(p, d: 3), objective: objective, x0: [1, -2, 3])
        try run.steps(12)
        var x = [1.0, -2.0, 3.0], v = [0.0, 0.0, 0.0]
        for t in 1...12 {
            let y = (0..<3).map { x[$0] + (1 - p.theta) * v[$0] }
            let next = (0..<3).map { y[$0] - p.eta * lambda[$0] * y[$0] }
            v = (0..<3).map { next[$0] - x[$0] }
            x = next
            for i in 0..<3 { XCTAssertEqual(Double(run.trace[t][i]), x[i], accuracy: 1e-5, "step \(t), coordinate \(i)") }
        }
        // Two steps by hand: x₁ = x₀ − η∇f(x₀) (v₀ = 0), then with momentum 0.8.
        XCTAssertEqual(run.trace[1], [0.9, -1.2, 2.925])
        XCTAssertEqual(Double(run.trace[2][0]), 0.9 + 0.8 * -0.1 - 0.1 * (0.9 + 0.8 * -0.1), accuracy: 1e-6)
        XCTAssertEqual(run.accelerated.momentumResets + run.accelerated.curvatureMoves, 0)
        XCTAssertEqual(run.perturbation.perturbations, 0, "the gradient never fell to the threshold")
    }

    /// Along a concave direction the test holds as soon as there is momentum:
    /// with ‖v_t‖ < s the iterate jumps by s along ±v_t (the lower f), with
    /// ‖v_t‖ ≥ s it stays; either way the momentum is reset.
    func testNegativeCurvatureExploitation() throws {
        let objective = DiagonalQuartic(a: [-1, 2])
        // v₁ points mostly along the concave e₁: its curvature (−1·10⁻⁶ + 2·4·10⁻⁸)/1.04·10⁻⁶ ≈ −0.92 ≤ −γ.
        let p = PAGDParameters(eta: 0.1, theta: 0.1, gamma: 0.5, s: 0.05, r: 0.1, gThres: 1e-9, tThres: 5)
        let run = Run(try chain(p, d: 2), objective: objective, x0: [0.01, 0.001])
        try run.steps(1)
        // Step 0: v₀ = 0, a gradient step: x₁ = (0.01·1.1, 0.001·0.8).
        XCTAssertEqual(run.trace[1][0], 0.011, accuracy: 1e-8)
        XCTAssertEqual(run.trace[1][1], 0.0008, accuracy: 1e-9)
        XCTAssertEqual(run.accelerated.momentumResets + run.accelerated.curvatureMoves, 0, "with v₀ = 0 the test is vacuous")
        try run.steps(1)
        // Step 1: v₁ = (0.001, −0.0002), ‖v₁‖ < s: x₂ = x₁ ± s·v₁/‖v₁‖, the sign with the lower f.
        let v1 = [0.001, -0.0002], nv = (v1[0] * v1[0] + v1[1] * v1[1]).squareRoot()
        let plus = [0.011 + 0.05 * v1[0] / nv, 0.0008 + 0.05 * v1[1] / nv]
        let minus = [0.011 - 0.05 * v1[0] / nv, 0.0008 - 0.05 * v1[1] / nv]
        func f(_ z: [Double]) -> Double { -0.5 * z[0] * z[0] + z[1] * z[1] }
        XCTAssertLessThan(f(plus), f(minus), "away from the saddle along +v₁")
        XCTAssertEqual(Double(run.trace[2][0]), plus[0], accuracy: 1e-6)
        XCTAssertEqual(Double(run.trace[2][1]), plus[1], accuracy: 1e-6)
        XCTAssertEqual(run.accelerated.curvatureMoves, 1)
        XCTAssertEqual(run.accelerated.momentumResets, 0)
        XCTAssertEqual(run.accelerated.v.array, [0, 0], "the momentum is reset")
        // Step 2 starts from rest: a plain gradient step.
        try run.steps(1)
        XCTAssertEqual(Double(run.trace[3][0]), Double(run.trace[2][0]) * 1.1, accuracy: 1e-6)
        XCTAssertEqual(Double(run.trace[3][1]), Double(run.trace[2][1]) * 0.8, accuracy: 1e-6)

        // With s at or below ‖v₁‖ the iterate stays at x₁ and the momentum is dropped.
        let q = PAGDParameters(eta: 0.1, theta: 0.1, gamma: 0.5, s: 1e-4, r: 0.1, gThres: 1e-9, tThres: 5)
        let stay = Run(try chain(q, d: 2), objective: objective, x0: [0.01, 0.001])
        try stay.steps(2)
        XCTAssertEqual(stay.trace[2], stay.trace[1])
        XCTAssertEqual(stay.accelerated.momentumResets, 1)
        XCTAssertEqual(stay.accelerated.curvatureMoves, 0)
        XCTAssertEqual(stay.accelerated.v.array, [0, 0])

        // The test needs curvature at or below −γ along x_t − y_t: with γ = 1.5 it never holds here,
        // nor with momentum along the convex e₂.
        let r = PAGDParameters(eta: 0.1, theta: 0.1, gamma: 1.5, s: 0.05, r: 0.1, gThres: 1e-9, tThres: 5)
        let plain = Run(try chain(r, d: 2), objective: objective, x0: [0.01, 0.001])
        try plain.steps(5)
        XCTAssertEqual(plain.accelerated.momentumResets + plain.accelerated.curvatureMoves, 0)
        let convex = Run(try chain(p, d: 2), objective: objective, x0: [0.001, 0.01])
        try convex.steps(3)
        XCTAssertEqual(convex.accelerated.momentumResets + convex.accelerated.curvatureMoves, 0)
    }

    /// From the exact saddle of −½x₁² + ¼x₁⁴ + ½Σx_i² (where gradient descent
    /// stays for ever) PAGD with the paper's parameters perturbs at step 0
    /// (a point within r), exploits the negative curvature on the way out and
    /// reaches a minimiser ±e₁.
    func testEscapesTheStrictSaddle() throws {
        let d = 5
        let objective = DiagonalQuartic(a: [-1] + Array(repeating: 1, count: d - 1), b: [1] + Array(repeating: 0, count: d - 1))
        let p = PAGDParameters.derive(d: d, ell: 11, rho: 12, eps: 1e-3, c: 1, delta: 0.1, deltaF: 1)
        for seed: UInt64 in [1, 2, 3] {
            let run = Run(try chain(p, d: d), objective: objective, x0: Array(repeating: 0, count: d), seed: seed)
            try run.steps(1)
            XCTAssertEqual(run.perturbation.perturbations, 1)
            XCTAssertEqual(run.perturbation.tNoise, 0)
            let moved = run.trace[1].map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            XCTAssertGreaterThan(moved, 0)
            XCTAssertLessThanOrEqual(moved, 2 * p.r, "a ball point and one short gradient step")
            try run.steps(999)
            let x = run.x.readOnly
            XCTAssertEqual(abs(Double(x[0])), 1, accuracy: 1e-3, "seed \(seed): at a minimiser ±e₁")
            XCTAssertEqual(objective.loss(at: x), -0.25, accuracy: 1e-6)
            XCTAssertGreaterThan(run.accelerated.curvatureMoves + run.accelerated.momentumResets, 0, "the exploitation branch ran")
            // Near the minimiser ‖∇f‖ ≤ ε again: a perturbation every 𝒯 steps there.
            XCTAssertLessThanOrEqual(run.perturbation.perturbations, 1 + 1000 / (p.tThres + 1), "at most one perturbation in 𝒯 + 1 steps")
        }
    }
}
