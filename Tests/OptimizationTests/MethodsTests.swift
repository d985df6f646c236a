import Compression
import CSGDCore
import Optimization
import XCTest

/// The methods: the registry, each method's typed options as parsed from
/// every spelling the docs use, their errors, what they prescribe, and the
/// builders' chains.
final class MethodsTests: XCTestCase {
    func parse<M: Method>(_ text: String, as: M.Type) throws -> M {
        try XCTUnwrap(try Methods.parse(text) as? M, text)
    }

    func assertError(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Methods.parse(text), text, file: file, line: line) { e in
            XCTAssertEqual((e as? CSGDError)?.message, expected, file: file, line: line)
        }
    }

    func names(_ chain: MethodChain) -> [String] { chain.transforms.map { String(describing: type(of: $0)) } }

    func testRegistry() throws {
        XCTAssertEqual(Methods.names, ["alg1", "sgd", "ef-sgd", "psgd", "pgd", "pagd", "cnc", "qsgd-sgd"])
        XCTAssertEqual(Methods.perturbedNames, ["alg1", "psgd"])
        for (text, name) in [("alg1", "alg1"), ("SGD", "sgd"), (" ef-sgd ", "ef-sgd"), ("psgd:r=1", "psgd"), ("pgd", "pgd"),
                             ("pagd", "pagd"), ("cnc", "cnc"), ("qsgd-sgd:bits=8", "qsgd-sgd")] {
            let m = try Methods.parse(text)
            XCTAssertEqual(m.name, name)
            XCTAssertEqual(m.text, text.trimmingCharacters(in: .whitespaces), "the spec as written")
        }
    }

    func testAlgorithm1Options() throws {
        let plain = try parse("alg1:sigma=0.01", as: Alg1.self)
        XCTAssertEqual(plain.noise, .sigma(0.01))
        XCTAssertEqual(plain.batch, 1)
        XCTAssertFalse(plain.batchIsSet)
        XCTAssertEqual(plain.variant, .arxiv)
        XCTAssertEqual(plain.reset, .off)
        XCTAssertFalse(plain.theory || plain.deferredNoise || plain.usesTheory)
        XCTAssertNil(plain.prescribedCompressor)

        let reset = try parse("alg1:sigma=0.01,batch=4,reset=on,I=7,R=0.05", as: Alg1.self)
        XCTAssertEqual(reset.reset, .on(ResetRule(I: 7, R: 0.05, F: 0)))
        XCTAssertEqual(reset.batch, 4)
        XCTAssertTrue(reset.batchIsSet)
        XCTAssertEqual(try parse("alg1:reset=on,I=5,R=1,F=0.5", as: Alg1.self).reset, .on(ResetRule(I: 5, R: 1, F: 0.5)))

        let neurips = try parse("alg1:r=0.1,variant=neurips,I=50,R=1", as: Alg1.self)
        XCTAssertEqual(neurips.variant, .neurips)
        XCTAssertEqual(neurips.noise, .radius(0.1))
        XCTAssertEqual(neurips.reset, .on(ResetRule(I: 50, R: 1, F: 0)), "NeurIPS always resets, with F = 0")

        let theory = try parse("alg1:theory", as: Alg1.self)
        XCTAssertTrue(theory.theory && theory.usesTheory)
        XCTAssertEqual(theory.reset, .off)
        XCTAssertEqual(try parse("alg1:theory,reset=on", as: Alg1.self).reset, .fromTheory)
        XCTAssertEqual(try parse("alg1:theory=on", as: Alg1.self).theory, true)
        XCTAssertEqual(try parse("alg1:theory=off", as: Alg1.self).theory, false)

        let deferred = try parse("alg1:sigma=0.01,noise=deferred", as: Alg1.self)
        XCTAssertTrue(deferred.deferredNoise)
        XCTAssertFalse(try parse("alg1:sigma=0.01,noise=eager", as: Alg1.self).deferredNoise)
        XCTAssertEqual(try parse("alg1:eta=0.5,i=3,reset=on,R=2", as: Alg1.self).common.eta, 0.5)
    }

    func testAlgorithm1Errors() {
        assertError("alg1:foo=1", "method 'alg1': option 'foo' is not known (allowed: r, sigma, batch, variant, reset, I, R, F, theory, eta, noise)")
        assertError("alg1:variant=icml", "method 'alg1': variant = 'icml' is not one of: arxiv, neurips")
        assertError("alg1:reset=maybe", "method 'alg1': reset = 'maybe' is not one of: on, off")
        assertError("alg1:variant=neurips,reset=off", "method 'alg1': variant=neurips always resets; use variant=arxiv for reset=off")
        assertError("alg1:variant=neurips,I=5,R=1,F=0.5", "method 'alg1': F = 0.5 applies to variant=arxiv only (NeurIPS has F = 0)")
        assertError("alg1:reset=on,R=1", "method 'alg1': reset needs I (the escape iterations)")
        assertError("alg1:reset=on,I=4", "method 'alg1': reset needs R (the escape radius)")
        assertError("alg1:reset=on,I=0,R=1", "method 'alg1': I = 0 must be positive")
        assertError("alg1:R=1", "method 'alg1': R is a reset option; add reset=on")
        assertError("alg1:F=-1", "method 'alg1': F = -1 must be non-negative")
        assertError("alg1:sigma=-0.1", "method 'alg1': sigma = -0.1 must be non-negative")
        assertError("alg1:noise=deferred", "method 'alg1': noise=deferred needs noise: give sigma= or r=")
        assertError("alg1:sigma=1,noise=deferred,reset=on,I=1,R=1",
                    "method 'alg1': noise=deferred needs reset=off (a reset reads the whole error memory, noise included)")
        assertError("alg1:theory=yes", "method 'alg1': theory = 'yes' is not one of: on, off")
    }

    func testOtherMethodsOptions() throws {
        let sgd = try parse("sgd:batch=800", as: SGD.self)
        XCTAssertEqual(sgd.batch, 800)
        XCTAssertNil(sgd.prescribedCompressor)
        XCTAssertEqual(try parse("ef-sgd:batch=5,eta=0.1", as: EFSGD.self).common,
                       CommonOptions(text: "ef-sgd:batch=5,eta=0.1", batch: 5, batchIsSet: true, eta: 0.1))
        let psgd = try parse("psgd:sigma=0.001", as: PSGD.self)
        XCTAssertEqual(psgd.noise, .sigma(0.001))
        XCTAssertEqual(psgd.prescribedCompressor, CompressorSpec.none)

        let pgd = try parse("pgd:eps=0.01,rho=1,tthres=20,r=0.5", as: PGD.self)
        XCTAssertEqual(pgd.inputs.eps, 0.01)
        XCTAssertEqual(pgd.inputs.rho, 1)
        XCTAssertEqual(pgd.tThres, 20)
        XCTAssertEqual(pgd.r, 0.5)
        XCTAssertNil(pgd.inputs.ell)
        XCTAssertEqual(pgd.batch, 0, "the full gradient")
        XCTAssertEqual(pgd.prescribedCompressor, CompressorSpec.none)

        XCTAssertEqual(try parse("cnc", as: CNC.self).batch, 0, "gradient descent without batch=")
        let cnc = try parse("cnc:batch=4,r=0.3,gthres=0.01,tthres=5", as: CNC.self)
        XCTAssertEqual(cnc.batch, 4)
        XCTAssertEqual(cnc.curvatureStep, 0.3)
        XCTAssertEqual(cnc.gThres, 0.01)
        XCTAssertEqual(cnc.tThres, 5)

        let q = try parse("qsgd-sgd:bits=8,batch=500,eta=0.111111", as: QSGDSGD.self)
        XCTAssertEqual(q.bits, 8)
        XCTAssertEqual(q.prescribedCompressor, .qsgd(levels: 127, coding: .fixed))
        XCTAssertEqual(try q.compressor(given: nil), .qsgd(levels: 127, coding: .fixed))
        XCTAssertEqual(try q.compressor(given: .qsgd(levels: 127, coding: .fixed)), .qsgd(levels: 127, coding: .fixed))
        XCTAssertThrowsError(try q.compressor(given: .topK(.count(2)))) { e in
            XCTAssertEqual("\(e)", "method 'qsgd-sgd': sends qsgd:127,coding=fixed messages; drop --compressor topk:2")
        }
        XCTAssertEqual(try sgd.compressor(given: nil), CompressorSpec.none)
        XCTAssertEqual(try sgd.compressor(given: .sign), .sign)
    }

    func testOtherMethodsErrors() {
        assertError("sgd:sigma=0.1", "method 'sgd': option 'sigma' is not known (allowed: batch, eta)")
        assertError("ef-sgd:batch=2.5", "method 'ef-sgd': batch = '2.5' is not an integer")
        assertError("psgd:batch=2", "method 'psgd': needs its noise: r=… (E‖ξ‖² = r²) or sigma=…")
        assertError("psgd:r=1,sigma=1", "method 'psgd': give either r (E‖ξ‖² = r²) or sigma (per coordinate), not both")
        assertError("pgd:batch=2", "method 'pgd': option 'batch' is not known (allowed: ell, rho, eps, c, delta, deltaf, eta, r, gthres, fthres, tthres)")
        assertError("pgd:ell=0", "method 'pgd': ell = 0 must be positive")
        assertError("pgd:tthres=2.5", "method 'pgd': tthres = '2.5' is not an integer")
        assertError("cnc:r=0", "method 'cnc': r = 0 must be positive")
        assertError("cnc:sigma=1", "method 'cnc': option 'sigma' is not known (allowed: batch, r, gthres, tthres, eta)")
        assertError("qsgd-sgd", "method 'qsgd-sgd': needs bits=b (bits a coordinate, sign included)")
        assertError("qsgd-sgd:bits=1", "method 'qsgd-sgd': bits = 1 must be in [2, 31]")
        assertError("qsgd-sgd:bits=32", "method 'qsgd-sgd': bits = 32 must be in [2, 31]")
    }

    func testStepSizeComesFromTheMethodThenTheRunThenTheObjective() throws {
        let objective = SuggestingObjective(dimension: 4, suggested: 0.25)
        let c = try CompressorSpec.none.make(dimension: 4)
        XCTAssertEqual(try Methods.parse("sgd:eta=0.5").chain(compressor: c, objective: objective, context: MethodContext(learningRate: 0.1)).eta, 0.5)
        XCTAssertEqual(try Methods.parse("sgd").chain(compressor: c, objective: objective, context: MethodContext(learningRate: 0.1)).eta, 0.1)
        XCTAssertEqual(try Methods.parse("sgd").chain(compressor: c, objective: objective, context: MethodContext()).eta, 0.25)
        let silent = SuggestingObjective(dimension: 4, suggested: nil)
        XCTAssertThrowsError(try Methods.parse("ef-sgd").chain(compressor: c, objective: silent, context: MethodContext())) { e in
            XCTAssertEqual("\(e)", "method 'ef-sgd': no step size on 'suggesting:d=4': pass --lr η")
        }
        // CNC's curvature step defaults to 2η, its threshold to the run's ε.
        let cnc = try Methods.parse("cnc").chain(compressor: c, objective: objective, context: MethodContext(learningRate: 0.1, epsilon: 0.02))
        let step = try XCTUnwrap(cnc.transforms[3] as? CurvatureStep)
        XCTAssertEqual(step.stepSize, 0.2)
        XCTAssertEqual(step.gThres, 0.02)
        XCTAssertEqual(step.tThres, 10)
        // PGD derives η = c/ℓ unless told otherwise.
        let pgd = try Methods.parse("pgd:ell=4,rho=1,eps=0.1").chain(compressor: c, objective: silent, context: MethodContext())
        XCTAssertEqual(pgd.eta, 0.25)
        XCTAssertEqual((pgd.transforms[3] as? PerturbWhenSmall)?.parameters,
                       PGDParameters.derive(d: 4, ell: 4, rho: 1, eps: 0.1, c: 1, delta: 0.1, deltaF: 1))
        XCTAssertThrowsError(try Methods.parse("pgd").chain(compressor: c, objective: silent, context: MethodContext())) { e in
            XCTAssertTrue("\(e)".hasPrefix("method 'pgd': needs ℓ, ρ and ε"), "\(e)")
        }
    }

    func testBuildersAreChainsOfTheirTransforms() throws {
        let c = try CompressorSpec.randomK(.count(2)).make(dimension: 8)
        let a = alg1(noise: 0.01, compressor: c, eta: 0.05)
        XCTAssertEqual(names(a), ["StochasticGradient", "ErrorFeedback", "AverageMessages", "SGDStep"])
        XCTAssertEqual(a.eta, 0.05)
        XCTAssertEqual((a.transforms[1] as? ErrorFeedback)?.noise, 0.01)
        XCTAssertEqual((a.transforms[0] as? StochasticGradient)?.batch, 1)
        let r = alg1(noise: 0.01, compressor: c, reset: ResetRule(I: 3, R: 1, F: 0), eta: 0.05, batch: 4)
        XCTAssertEqual(names(r), ["StochasticGradient", "ErrorReset", "AverageMessages", "SGDStep"])
        XCTAssertEqual((r.transforms[1] as? ErrorReset)?.eta, 0.05)
        XCTAssertEqual((r.transforms[0] as? StochasticGradient)?.batch, 4)
        let d = alg1(noise: 0.01, compressor: c, deferredNoise: true, eta: 0.05)
        XCTAssertEqual(names(d), ["StochasticGradient", "ErrorFeedback", "AverageMessages", "DeferredNoise", "SGDStep"])
        XCTAssertEqual(names(efSGD(compressor: c, eta: 1)), ["StochasticGradient", "ErrorFeedback", "AverageMessages", "SGDStep"])
        XCTAssertEqual(names(sgd(compressor: c, eta: 1)), ["StochasticGradient", "CompressMessage", "AverageMessages", "SGDStep"])
        XCTAssertEqual(names(qsgdSGD(compressor: c, eta: 1)), names(sgd(compressor: c, eta: 1)))
        let p = psgd(noise: 0.1, compressor: c, eta: 1)
        XCTAssertEqual((p.transforms[1] as? CompressMessage)?.noise, 0.1)
        XCTAssertEqual(names(cnc(compressor: c, eta: 1, gThres: 0.1, tThres: 3, curvatureStep: 2)),
                       ["StochasticGradient", "CompressMessage", "AverageMessages", "CurvatureStep", "SGDStep"])
        let params = PGDParameters(eta: 0.5, r: 0.1, gThres: 0.01, fThres: 0.001, tThres: 7)
        let g = pgd(params, compressor: c)
        XCTAssertEqual(g.eta, 0.5)
        XCTAssertEqual((g.transforms[0] as? StochasticGradient)?.batch, 0)
        XCTAssertEqual(names(g), ["StochasticGradient", "CompressMessage", "AverageMessages", "PerturbWhenSmall", "SGDStep"])
    }

    func testAlgorithm1RefusesDeferredNoiseWithoutRandomK() throws {
        let objective = SuggestingObjective(dimension: 8, suggested: 0.1)
        let m = try Methods.parse("alg1:sigma=0.1,noise=deferred")
        XCTAssertNoThrow(try m.chain(compressor: try CompressorSpec.randomK(.count(2)).make(dimension: 8), objective: objective, context: MethodContext()))
        XCTAssertThrowsError(try m.chain(compressor: try CompressorSpec.topK(.count(2)).make(dimension: 8), objective: objective,
                                         context: MethodContext())) { e in
            XCTAssertTrue("\(e)".hasPrefix("method 'alg1': noise=deferred needs compressor randomk"), "\(e)")
        }
    }
}

/// f = 0 with an optional suggested step size (only the step-size logic reads it).
final class SuggestingObjective: Objective, @unchecked Sendable {
    let dimension: Int
    let suggested: Double?
    init(dimension: Int, suggested: Double?) { self.dimension = dimension; self.suggested = suggested }
    var name: String { "suggesting:d=\(dimension)" }
    var constants: ObjectiveConstants { ObjectiveConstants() }
    func loss(at x: UnsafeBufferPointer<Float>) -> Double { 0 }
    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double { 0 }
    func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double { 0 }
    func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {}
    func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {}
    func suggestedStepSize(batch: Int) -> Double? { suggested }
}
